using System.Text;
using System.Xml.Linq;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Libvirtd;

/// <summary>
/// Our hook installed into the real /etc/libvirt/hooks/qemu.d of a real libvirtd, domains with and
/// without our metadata and with hostile names started and destroyed. The hook runs a recording
/// program in place of passthrough, so what libvirt handed over (arguments, XML) is checked exactly.
/// `hooks uninstall` puts the hooks directory back as it was afterwards.
/// </summary>
[Category("libvirtd")]
[NonParallelizable]
// Real libvirtd restarts and VM starts take seconds each (more on a loaded CI machine): a larger
// limit than the 60 s default in tests/test.runsettings. [Timeout] is marked obsolete because .NET
// cannot abort the thread; NUnit still fails the test at the limit and goes on, which is all we ask.
#pragma warning disable CS0618
[Timeout(300_000)]
#pragma warning restore CS0618
public class LibvirtdHookTests : MachineChangingFixture
{
    private const string Plain = "pt-test plain $(touch pwned) 'q' ünï";
    private const string Ours = "pt-test ours \"dq\" `touch pwned` 虚拟机";
    private const string Refused = "pt-test refuse 'x'";

    private TempDirectory _calls = null!;
    private bool _installed;

    protected override string Changes => "/etc/libvirt/hooks and the running libvirtd";

    [OneTimeSetUp]
    public async Task InstallHookIntoRealLibvirtd()
    {
        await RealLibvirtd.EnsureRunningAsync();
        _calls = new TempDirectory("passthrough-libvirtd");
        var recorder = _calls.Combine("passthrough");
        File.WriteAllText(recorder, $$"""
            #!/bin/sh
            d='{{_calls.Path}}'
            stamp=$(date +%s%N)
            printf '%s\0' "$@" > "$d/$stamp.args"
            cat > "$d/$stamp.xml"
            case $3 in *refuse*) if [ "$4" = prepare ]; then echo 'passthrough: refused by the test' >&2; exit 1; fi ;; esac
            exit 0
            """.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(recorder, (UnixFileMode)0b111_101_101);
        await LibvirtdDomains.RemoveAsync(Plain, Ours, Refused);

        var install = await CliRun.RunAsync(["hooks", "install", "--binary", recorder]);
        Assert.That(install.ExitCode, Is.Zero, install.ToString());
        _installed = true;
        await RealLibvirtd.RestartAsync();
    }

    [OneTimeTearDown]
    public async Task RestoreHooks()
    {
        await LibvirtdDomains.RemoveAsync(Plain, Ours, Refused);
        if (_installed)
        {
            var uninstall = await CliRun.RunAsync(["hooks", "uninstall"]);
            await RealLibvirtd.RestartAsync();
            Assert.That(uninstall.ExitCode, Is.Zero, uninstall.ToString());
        }

        _calls?.Dispose();
    }

    [SetUp]
    public void ForgetCalls()
    {
        foreach (var file in Directory.EnumerateFiles(_calls.Path, "*.args").Concat(Directory.EnumerateFiles(_calls.Path, "*.xml")))
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task I_can_see_that_libvirtd_noticed_the_installed_hook()
    {
        var status = await CliRun.RunAsync(["hooks", "status"]);

        Assert.That(status.ExitCode, Is.Zero, status.ToString());
        Assert.That(status.Stdout, Does.Contain("Noticed: yes, libvirtd"));
    }

    [Test]
    public async Task I_can_start_and_destroy_a_vm_without_our_metadata_and_passthrough_sees_only_its_prepare_and_release()
    {
        await LibvirtdDomains.DefineAsync(Plain, withMetadata: false);

        await LibvirtdDomains.ExpectAsync(RealLibvirtd.Virsh("start", Plain));
        await LibvirtdDomains.ExpectAsync(RealLibvirtd.Virsh("destroy", Plain));

        // The script leaves start, started and stopped at once; prepare and release reach passthrough with libvirt's
        // XML as it is, and the binary leaves a VM without our metadata alone (LibvirtdRealHookTests: no trace).
        var calls = Calls();
        Assert.That(calls.Select(c => string.Join(' ', c.Arguments.Skip(3).Take(2))), Is.EqualTo(new[] { "prepare begin", "release end" }));
        Assert.That(calls.Select(c => c.Xml), Has.None.Contain("urn:passthrough:1"));
        Assert.That(XDocument.Parse(calls[0].Xml).Root!.Element("name")!.Value, Is.EqualTo(Plain));
        Assert.That(File.Exists("/pwned"), Is.False, "nothing in the name was executed");
    }

    [Test]
    public async Task I_get_passthrough_started_with_the_exact_name_only_for_prepare_begin_and_release_end()
    {
        await LibvirtdDomains.DefineAsync(Ours, withMetadata: true);

        await LibvirtdDomains.ExpectAsync(RealLibvirtd.Virsh("start", Ours));
        await LibvirtdDomains.ExpectAsync(RealLibvirtd.Virsh("destroy", Ours));

        // libvirt also runs start begin, started begin and stopped end; the script leaves those
        // before starting passthrough, and libvirt copes with a hook that did not read its stdin.
        var calls = Calls();
        Assert.That(calls.Select(c => string.Join(' ', c.Arguments.Skip(3).Take(2))), Is.EqualTo(new[]
        {
            "prepare begin", "release end",
        }));
        Assert.That(calls.Select(c => c.Arguments[..3]), Has.All.EqualTo(new[] { "hook", "qemu", Ours }));
        Assert.That(calls.Select(c => c.Xml), Has.All.Contain("urn:passthrough:1"));
        Assert.That(XDocument.Parse(calls[0].Xml).Root!.Element("name")!.Value, Is.EqualTo(Ours));
        Assert.That(File.Exists("/pwned"), Is.False, "nothing in the name was executed");
    }

    [Test]
    public async Task I_see_passthroughs_error_line_in_virsh_start_when_prepare_fails_and_release_still_runs()
    {
        await LibvirtdDomains.DefineAsync(Refused, withMetadata: true);

        var start = await RealLibvirtd.Virsh("start", Refused);

        Assert.That(start.Succeeded, Is.False);
        Assert.That(start.Stderr, Does.Contain("passthrough: refused by the test"));
        var state = await RealLibvirtd.Virsh("domstate", Refused);
        Assert.That(state.Stdout.Trim(), Is.EqualTo("shut off"));

        // libvirt (seen on 9.0) calls release after a failed prepare: restore must cope with a partial prepare.
        var operations = Calls().Select(c => string.Join(' ', c.Arguments.Skip(3).Take(2))).ToList();
        Assert.That(operations[0], Is.EqualTo("prepare begin"));
        Assert.That(operations, Does.Contain("release end"));
    }

    private List<(string[] Arguments, string Xml)> Calls() =>
        Directory.EnumerateFiles(_calls.Path, "*.args")
            .Order(StringComparer.Ordinal)
            .Select(f => (File.ReadAllText(f, Encoding.UTF8).Split('\0')[..^1], File.ReadAllText(Path.ChangeExtension(f, ".xml"), Encoding.UTF8)))
            .ToList();
}
