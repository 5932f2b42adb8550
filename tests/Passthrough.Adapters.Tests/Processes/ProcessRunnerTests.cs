using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;
using Passthrough.Adapters.Libvirt;
using Passthrough.Adapters.Processes;
using Passthrough.Errors;
using Passthrough.Shell;
using Passthrough.Testing;

namespace Passthrough.Tests.Processes;

/// <summary>The process seam against real child processes (sh, sleep, printf, cat).</summary>
public class ProcessRunnerTests
{
    private static readonly ProcessRunner Runner = ProcessRunner.Instance;

    [Test]
    public async Task A_command_past_its_time_limit_is_killed_and_I_get_its_output_so_far()
    {
        using var dir = new TempDirectory("runner");
        var pidFile = dir.Combine("pid");
        var clock = Stopwatch.StartNew();

        var result = await Runner.RunAsync("sh", ["-c", "echo $$ > \"$1\"; echo waiting >&2; exec sleep 30", "sh", pidFile], new ProcessOptions().WithTimeout(TimeSpan.FromSeconds(1)));

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "the call returns at the limit, not when sleep would end");
        Assert.That(result.TimedOut, Is.True);
        Assert.That(result.Succeeded, Is.False);
        Assert.That(result.Stderr, Is.EqualTo("waiting\n"));
        AssertGone(ReadPid(pidFile));
        var error = Assert.Throws<CommandFailedException>(() => result.EnsureSuccess());
        Assert.That(error.Message, Does.StartWith($"`sh -c 'echo $$ > \"$1\"; echo waiting >&2; exec sleep 30' sh {pidFile}` did not finish in "));
        Assert.That(error.Message, Does.Match(@"did not finish in 1(\.\d)? s and was stopped"));
        Assert.That(error.Message, Does.EndWith("it said: waiting"));
    }

    [Test]
    public async Task The_time_limit_kills_the_children_of_the_command_too()
    {
        using var dir = new TempDirectory("runner");
        var childFile = dir.Combine("child");

        var result = await Runner.RunAsync("sh", ["-c", "sleep 30 & echo $! > \"$1\"; wait", "sh", childFile], new ProcessOptions().WithTimeout(TimeSpan.FromSeconds(1)));

        Assert.That(result.TimedOut, Is.True);
        AssertGone(ReadPid(childFile));
    }

    [Test]
    public async Task A_cancelled_command_is_killed_not_left_running()
    {
        using var dir = new TempDirectory("runner");
        var pidFile = dir.Combine("pid");
        using var cancel = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();

        var run = Runner.RunAsync("sh", ["-c", "echo $$ > \"$1\"; exec sleep 30", "sh", pidFile], cancellationToken: cancel.Token);
        var pid = await WaitForPidAsync(pidFile);
        await cancel.CancelAsync();

        Assert.That(async () => await run, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        AssertGone(pid);
    }

    [Test]
    public async Task A_failing_command_s_error_names_the_command_and_says_what_it_printed_on_stderr()
    {
        var result = await Runner.RunAsync("sh", ["-c", "echo boom >&2; echo 'second line' >&2; exit 3"]);

        Assert.That(result.ExitCode, Is.EqualTo(3));
        Assert.That(result.Stderr, Is.EqualTo("boom\nsecond line\n"));
        var error = Assert.Throws<CommandFailedException>(() => result.EnsureSuccess("Do the thing first."));
        Assert.That(error.Message, Is.EqualTo("`sh -c 'echo boom >&2; echo '\\''second line'\\'' >&2; exit 3'` failed with exit code 3: boom / second line"));
        Assert.That(error.Remedy, Is.EqualTo("Do the thing first."));
        Assert.That(error.Kind, Is.EqualTo(FailureKind.Failed));
        Assert.That(error.Stderr, Is.EqualTo("boom\nsecond line\n"));
    }

    [Test]
    public async Task A_failing_command_without_advice_from_the_caller_still_gets_a_remedy()
    {
        var result = await Runner.RunAsync("sh", ["-c", "exit 1"]);

        var error = Assert.Throws<CommandFailedException>(() => result.EnsureSuccess());
        Assert.That(error.Message, Is.EqualTo("`sh -c 'exit 1'` failed with exit code 1 and printed nothing"));
        Assert.That(error.Remedy, Does.Contain("run `sh -c 'exit 1'` yourself"));
    }

    [Test]
    public void A_missing_program_is_an_environment_error_naming_it()
    {
        var error = Assert.ThrowsAsync<PassthroughException>(() => Runner.RunAsync("passthrough-no-such-program", ["--version"]));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(error.Message, Is.EqualTo("Cannot run `passthrough-no-such-program`: No such file or directory."));
        Assert.That(error.Remedy, Is.EqualTo("Install the package that provides it, or check PATH."));
    }

    [Test]
    public void A_missing_program_we_know_comes_with_the_debian_and_fedora_package()
    {
        var error = Assert.ThrowsAsync<PassthroughException>(() => Runner.RunAsync("/nonexistent/bin/qemu-img", ["info", "disk.qcow2"]));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(error.Message, Does.StartWith("Cannot run `/nonexistent/bin/qemu-img`"));
        Assert.That(error.Remedy, Is.EqualTo("Install the package that provides it (Debian, Ubuntu: apt install qemu-utils; Fedora: dnf install qemu-img), or check that /nonexistent/bin/qemu-img is an executable file."));
    }

    [Test]
    public void The_caller_can_name_the_package_of_a_program_we_do_not_know()
    {
        var options = new ProcessOptions().WithPackage(new PackageHint(null, "rpm-ostree"));

        var error = Assert.ThrowsAsync<PassthroughException>(() => Runner.RunAsync("passthrough-no-such-program", [], options));

        Assert.That(error!.Remedy, Does.Contain("(Fedora: dnf install rpm-ostree)"));
    }

    [Test]
    public void I_am_told_which_package_brings_virsh_when_a_libvirt_call_finds_it_missing()
    {
        var session = new VirshSession(new MissingProgramRunnerFake("virsh"), "test:///default");

        var error = Assert.ThrowsAsync<PassthroughException>(() => session.RunAsync(["list --all"]));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(error.Message, Does.StartWith("Cannot run `virsh-not-installed-"));
        Assert.That(error.Remedy, Does.Contain("apt install libvirt-clients").And.Contain("dnf install libvirt-client"));
    }

    [Test]
    public async Task Every_argument_reaches_the_program_exactly_as_given_with_no_shell_in_between()
    {
        string[] arguments = ["", "two words", "it's", "\"double\"", "back\\slash", "$HOME", "a\nb", "*", "é"];

        var result = await Runner.RunAsync("printf", ["%s\\0", .. arguments]);

        Assert.That(result.Stdout.Split('\0')[..^1], Is.EqualTo(arguments));
    }

    [Test]
    public async Task Standard_input_and_the_environment_reach_the_program()
    {
        var options = new ProcessOptions { Environment = new Dictionary<string, string> { ["PASSTHROUGH_TEST"] = "yes" } }.WithInput("list --all\n");

        var result = await Runner.RunAsync("sh", ["-c", "cat; echo \"$PASSTHROUGH_TEST $LC_ALL\""], options);

        Assert.That(result.Stdout, Is.EqualTo("list --all\nyes C\n"));
    }

    [TestCase("")]
    [TestCase("two words")]
    [TestCase("it's")]
    [TestCase("$HOME `id` $(id)")]
    [TestCase("a\nb")]
    public async Task A_command_line_shown_to_me_runs_the_same_arguments_when_pasted_into_sh(string argument)
    {
        var shown = ShellWords.CommandLine("printf", ["%s|", argument, "x"]);

        var pasted = await Runner.RunAsync("sh", ["-c", shown]);

        Assert.That(pasted.Stdout, Is.EqualTo($"{argument}|x|"));
        Assert.That((await Runner.RunAsync("sh", ["-c", "printf %s " + ShellWords.Quote(argument)])).Stdout, Is.EqualTo(argument));
    }

    private static int ReadPid(string file) => int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);

    private static async Task<int> WaitForPidAsync(string file)
    {
        for (var i = 0; i < 200; i++)
        {
            if (File.Exists(file) && File.ReadAllText(file).EndsWith('\n'))
            {
                return ReadPid(file);
            }

            await Task.Delay(25);
        }

        Assert.Fail($"the child never wrote {file}");
        return 0;
    }

    /// <summary>
    /// Gone: no /proc entry, or a zombie (dead, waiting for its new parent to reap it: a killed
    /// grandchild is re-parented to init). SIGKILL to a grandchild lands asynchronously, so allow a moment.
    /// </summary>
    private static void AssertGone(int pid)
    {
        var clock = Stopwatch.StartNew();
        while (Running(pid) && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(20);
        }

        Assert.That(Running(pid), Is.False, $"process {pid} is still running");
    }

    private static bool Running(int pid)
    {
        try
        {
            // proc(5): the state is the first field after the parenthesised command name.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
