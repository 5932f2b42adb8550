using System.Text;
using NUnit.Framework;
using Passthrough.Adapters.Hooks;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Hooks;

/// <summary>The installed script, run by /bin/sh the way libvirt runs it, in front of a recording binary.</summary>
[NonParallelizable]
public class HookScriptTests : MachineChangingFixture
{
    private const string OurDomain = """
        <domain type='qemu'>
          <name>win11</name>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="dynamic"/>
          </metadata>
        </domain>
        """;

    private const string OtherDomain = """
        <domain type='qemu'>
          <name>plain</name>
          <description>no passthrough here</description>
        </domain>
        """;

    private TempDirectory _dir = null!;

    // The hostile names try to create this fixed file; the test deletes it first.
    protected override string Changes => "/tmp/pwned-by-hook";
    private string _hook = null!;

    [SetUp]
    public void WriteHook()
    {
        _dir = new TempDirectory("passthrough-hookscript");

        // The binary path itself is hostile too: a space and a quote.
        var binaryDir = _dir.Combine("it's bin");
        Directory.CreateDirectory(binaryDir);
        var recorder = Path.Join(binaryDir, "passthrough");
        File.WriteAllText(recorder, $"""
            #!/bin/sh
            for a in "$@"; do printf '%s\n---\n' "$a"; done > '{_dir.Path}/args'
            cat > '{_dir.Path}/stdin'
            if [ -f '{_dir.Path}/fail' ]; then echo 'passthrough: cannot bind 0000:03:00.0' >&2; exit 1; fi
            exit 0
            """.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(recorder, (UnixFileMode)0b111_101_101);
        _hook = _dir.Combine(HookScript.FileName);
        File.WriteAllText(_hook, HookScript.Render(recorder));
        File.SetUnixFileMode(_hook, (UnixFileMode)0b111_101_101);
    }

    [TearDown]
    public void Remove() => _dir.Dispose();

    [TestCase("my vm")]
    [TestCase("it's \"quoted\"")]
    [TestCase("ünïcødé 虚拟机")]
    [TestCase("$(touch /tmp/pwned-by-hook)")]
    [TestCase("`touch /tmp/pwned-by-hook`; rm -rf x")]
    [TestCase("-n")]
    [TestCase("*")]
    public async Task I_get_the_vm_name_and_xml_passed_to_passthrough_exactly_whatever_the_name(string name)
    {
        File.Delete("/tmp/pwned-by-hook");

        var result = await Run(OurDomain, name, "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        Assert.That(Arguments(), Is.EqualTo(new[] { "hook", "qemu", name, "prepare", "begin", "-" }));
        Assert.That(File.ReadAllText(_dir.Combine("stdin")).TrimEnd('\n'), Is.EqualTo(OurDomain.ReplaceLineEndings("\n")));
        Assert.That(File.Exists("/tmp/pwned-by-hook"), Is.False, "nothing in the name was executed");
    }

    [TestCase("prepare", "begin")]
    [TestCase("release", "end")]
    public async Task I_get_passthrough_started_for_the_two_calls_it_acts_on(string operation, string subOperation)
    {
        var result = await Run(OurDomain, "win11", operation, subOperation, "-");

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        Assert.That(Arguments(), Is.EqualTo(new[] { "hook", "qemu", "win11", operation, subOperation, "-" }));
    }

    [Test]
    public async Task I_get_the_release_reason_of_newer_libvirt_passed_on()
    {
        var result = await Run(OurDomain, "win11", "release", "end", "-", "shutdown");

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        Assert.That(Arguments(), Is.EqualTo(new[] { "hook", "qemu", "win11", "release", "end", "-", "shutdown" }));
    }

    // Every other call libvirt makes (https://libvirt.org/hooks.html), on a VM that has our metadata:
    // passthrough only logged these, so the script no longer starts .NET for them.
    [TestCase("start", "begin")]
    [TestCase("started", "begin")]
    [TestCase("stopped", "end")]
    [TestCase("migrate", "begin")]
    [TestCase("restore", "begin")]
    [TestCase("reconnect", "begin")]
    [TestCase("attach", "begin")]
    [TestCase("prepare", "end")]
    [TestCase("release", "begin")]
    [TestCase("prepare/begin", "")]
    [TestCase("", "")]
    public async Task I_get_exit_0_without_passthrough_started_for_every_other_call(string operation, string subOperation)
    {
        var result = await Run(OurDomain, "win11", operation, subOperation, "-");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Stdout + result.Stderr, Is.Empty);
        Assert.That(File.Exists(_dir.Combine("args")), Is.False, "passthrough was started");
    }

    [Test]
    public async Task I_get_exit_0_without_passthrough_started_when_libvirt_passes_no_arguments()
    {
        var result = await Run(OurDomain);

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(File.Exists(_dir.Combine("args")), Is.False, "passthrough was started");
    }

    [Test]
    public async Task I_get_a_domain_without_our_metadata_handed_to_passthrough_as_it_is_which_decides()
    {
        // The native binary leaves such a domain alone faster than the shell could copy the XML to look first
        // (HookVerbTests and the native suite assert that it does so silently).
        var result = await Run(OtherDomain, "plain", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(Arguments(), Is.EqualTo(new[] { "hook", "qemu", "plain", "prepare", "begin", "-" }));
        Assert.That(File.ReadAllText(_dir.Combine("stdin")), Is.EqualTo(OtherDomain.ReplaceLineEndings("\n")), "stdin is passed through, not copied");
    }

    [Test]
    public async Task I_get_passthroughs_error_line_and_exit_code_back_for_libvirt_to_show()
    {
        File.WriteAllText(_dir.Combine("fail"), string.Empty);

        var result = await Run(OurDomain, "win11", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stderr.Trim(), Is.EqualTo("passthrough: cannot bind 0000:03:00.0"));
    }

    [Test]
    public void I_can_read_back_the_binary_a_script_calls()
    {
        var script = HookScript.Render("/opt/it's here/passthrough");

        Assert.That(HookScript.IsOurs(script), Is.True);
        Assert.That(HookScript.BinaryOf(script), Is.EqualTo("/opt/it's here/passthrough"));
        Assert.That(HookScript.IsOurs("#!/bin/sh\necho mine\n"), Is.False);
    }

    private string[] Arguments() =>
        File.ReadAllText(_dir.Combine("args"), Encoding.UTF8).Split("\n---\n", StringSplitOptions.None)[..^1];

    private Task<ProcessResult> Run(string xml, params string[] arguments) =>
        ProcessRunner.Instance.RunAsync(_hook, arguments, new ProcessOptions { StandardInput = xml, Timeout = TimeSpan.FromSeconds(20) });
}
