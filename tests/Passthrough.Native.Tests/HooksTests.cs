using System.Text.RegularExpressions;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>
/// `hooks install/status/uninstall` under --root, and the hook entry point libvirt runs (`hook qemu`), through
/// the native binary. In-process hook runs configure NLog for their root, process-wide: this fixture runs alone.
/// </summary>
[NonParallelizable]
public partial class HooksTests
{
    private const string Uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f";

    /// <summary>A domain passing functions of the workstation's GPU (0000:01:00, group 12 with four functions).</summary>
    private static string Domain(string? mode, int functions = 4) =>
        $"<domain type='kvm'><name>win11</name><uuid>{Uuid}</uuid>"
        + (mode is null ? string.Empty : $"<metadata><passthrough:config xmlns:passthrough=\"urn:passthrough:1\" mode=\"{mode}\"/></metadata>")
        + "<devices>"
        + string.Concat(Enumerable.Range(0, functions).Select(f => $"<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x{f}'/></source></hostdev>"))
        + "</devices></domain>";

    private static string Root(TempDirectory dir, string name)
    {
        var root = dir.Combine(name);
        Directory.CreateDirectory(Path.Join(root, "etc", "libvirt"));
        return root;
    }

    [Test]
    public void I_can_install_check_and_uninstall_the_hook_with_the_native_binary_as_in_process()
    {
        using var dir = new TempDirectory("passthrough-native-hooks");
        var native = Root(dir, "native");
        var inProcess = Root(dir, "in-process");
        var hook = Path.Join("etc", "libvirt", "hooks", "qemu.d", "50-passthrough");

        foreach (var step in new[] { new[] { "hooks", "status" }, ["hooks", "install", "--binary", NativeBinary.Path], ["hooks", "status"], ["hooks", "status", "--json"], ["hooks", "uninstall"], ["hooks", "status"] })
        {
            var ours = NativeBinary.Run(["--root", native, .. step]);
            var theirs = NativeBinary.InProcess(null, ["--root", inProcess, .. step]);
            NativeBinary.AssertSame(ours, Normalised(theirs, inProcess, native, ours), string.Join(' ', step));
            if (step is ["hooks", "install", ..])
            {
                Assert.That(ours.ExitCode, Is.Zero, ours.ToString());
                Assert.That(File.ReadAllText(Path.Join(native, hook)), Does.Contain($"passthrough='{NativeBinary.Path}'"));
                Assert.That(File.ReadAllText(Path.Join(native, hook)), Is.EqualTo(File.ReadAllText(Path.Join(inProcess, hook))));
            }
        }

        Assert.That(File.Exists(Path.Join(native, hook)), Is.False, "uninstalled");
    }

    [TestCase("start", "begin")]
    [TestCase("started", "begin")]
    [TestCase("stopped", "end")]
    public void I_get_a_call_the_hook_does_not_handle_only_logged_by_the_native_binary(string op, string subop)
    {
        using var dir = new TempDirectory("passthrough-native-hook");
        var root = Session.ExpandWorkstation(dir.Combine("root"));
        var before = SetupFixtures.Snapshot(root);

        var result = NativeBinary.RunWith(Domain("dynamic"), "--root", root, "hook", "qemu", "win11", op, subop, "-");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout + result.Stderr, Is.Empty);
        Assert.That(File.ReadAllText(Path.Join(root, "var", "log", "passthrough", "passthrough.log")), Does.Contain($"INFO passthrough hook qemu win11 {op} {subop}"));
        Assert.That(SetupFixtures.Snapshot(root).Keys.Where(k => !k.StartsWith("var/log/", StringComparison.Ordinal)), Is.EqualTo(before.Keys), "only the log is written");
    }

    [Test]
    public void I_get_nothing_for_a_domain_without_passthrough_metadata_from_the_native_binary()
    {
        using var dir = new TempDirectory("passthrough-native-hook");
        var root = Session.ExpandWorkstation(dir.Combine("root"));

        var before = SetupFixtures.Snapshot(root);

        var result = NativeBinary.RunWith(Domain(null), "--root", root, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout + result.Stderr, Is.Empty);
        Assert.That(SetupFixtures.Snapshot(root), Is.EqualTo(before), "libvirt runs the hook for every VM: another VM's start leaves no trace, not even a log line");
    }

    [TestCase("malformed", 2, "domain XML of 'win11' on stdin")]
    [TestCase("part of a group", 1, "group 12 also holds 0000:01:00.2")]
    [TestCase("whole group", 3, "Cannot change driver bindings under --root")]
    public void I_get_one_line_on_stderr_and_the_right_exit_code_when_the_hook_fails_in_the_native_binary(string domain, int exitCode, string message)
    {
        var xml = domain switch
        {
            "malformed" => "<domain><name>win11</name><devices>",
            "part of a group" => Domain("dynamic", functions: 1),
            _ => Domain("dynamic"),
        };
        using var dir = new TempDirectory("passthrough-native-hook");
        var native = Session.ExpandWorkstation(dir.Combine("native"));
        var inProcess = Session.ExpandWorkstation(dir.Combine("in-process"));
        var before = SetupFixtures.Snapshot(native);

        var ours = NativeBinary.RunWith(xml, "--root", native, "hook", "qemu", "win11", "prepare", "begin", "-");
        var theirs = NativeBinary.InProcess(xml, "--root", inProcess, "hook", "qemu", "win11", "prepare", "begin", "-");

        NativeBinary.AssertSame(ours, Normalised(theirs, inProcess, native), "hook qemu win11 prepare begin -");
        Assert.That(ours.ExitCode, Is.EqualTo(exitCode), ours.ToString());
        Assert.That(ours.Stdout, Is.Empty);
        Assert.That(ours.Stderr.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1).And.All.StartWith("passthrough: "));
        Assert.That(ours.Stderr, Does.Contain(message));
        Assert.That(File.ReadAllText(Path.Join(native, "var", "log", "passthrough", "passthrough.log")), Does.Contain("ERROR passthrough hook qemu win11 prepare begin failed"));
        Assert.That(SetupFixtures.Snapshot(native).Where(f => f.Key is not "run/passthrough/lock" && !f.Key.StartsWith("var/log/", StringComparison.Ordinal)), Is.EqualTo(before), "the host tree is untouched (its log and lock file aside)");
    }

    /// <summary>The in-process run's output as if it had run under the native run's root (and at its time: the hook records when it was written).</summary>
    private static CliResult Normalised(CliResult result, string from, string to, CliResult? native = null) => result with
    {
        Stdout = SameTime(result.Stdout.Replace(from, to, StringComparison.Ordinal), native?.Stdout),
        Stderr = result.Stderr.Replace(from, to, StringComparison.Ordinal),
    };

    private static string SameTime(string text, string? native)
    {
        foreach (var time in new[] { Written(), Modified() })
        {
            if (native is not null && time.Match(native) is { Success: true } match)
            {
                text = time.Replace(text, match.Value);
            }
        }

        return text;
    }

    [GeneratedRegex(@"written \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")]
    private static partial Regex Written();

    [GeneratedRegex(@"""modified"": ""[0-9T:.-]+Z""")]
    private static partial Regex Modified();
}
