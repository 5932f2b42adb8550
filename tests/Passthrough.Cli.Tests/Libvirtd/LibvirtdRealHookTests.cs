using System.Text;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Libvirtd;

/// <summary>
/// The whole chain on a real libvirtd: the installed script runs the real passthrough program (the
/// one built beside these tests) for prepare begin and release end, which logs each call to
/// /var/log/passthrough; libvirt's other calls (start, started, stopped) never reach it.
/// Starting a VM that really binds a device needs an IOMMU: the lab does that.
/// </summary>
[Category("libvirtd")]
[NonParallelizable]
// Real libvirtd restarts and VM starts take seconds each (more on a loaded CI machine): a larger
// limit than the 60 s default in tests/test.runsettings. [Timeout] is marked obsolete because .NET
// cannot abort the thread; NUnit still fails the test at the limit and goes on, which is all we ask.
#pragma warning disable CS0618
[Timeout(300_000)]
#pragma warning restore CS0618
public class LibvirtdRealHookTests : MachineChangingFixture
{
    private const string Ours = "pt-real ours $(touch pwned) 'q' \"dq\" ünï";
    private const string Plain = "pt-real plain 'q'";
    private const string LogFile = "/var/log/passthrough/passthrough.log";

    private bool _installed;

    protected override string Changes => "/etc/libvirt/hooks, the running libvirtd and /var/log/passthrough";

    [OneTimeSetUp]
    public async Task InstallHookIntoRealLibvirtd()
    {
        await RealLibvirtd.EnsureRunningAsync();
        await LibvirtdDomains.RemoveAsync(Ours, Plain);
        var install = await CliRun.RunAsync(["hooks", "install", "--binary", Path.Join(AppContext.BaseDirectory, "passthrough")]);
        Assert.That(install.ExitCode, Is.Zero, install.ToString());
        _installed = true;
        await RealLibvirtd.RestartAsync();
    }

    [OneTimeTearDown]
    public async Task RestoreHooks()
    {
        await LibvirtdDomains.RemoveAsync(Ours, Plain);
        if (_installed)
        {
            var uninstall = await CliRun.RunAsync(["hooks", "uninstall"]);
            await RealLibvirtd.RestartAsync();
            Assert.That(uninstall.ExitCode, Is.Zero, uninstall.ToString());
        }
    }

    [Test]
    public async Task I_see_passthroughs_own_error_in_virsh_start_and_read_prepare_and_release_in_the_log()
    {
        // No IOMMU here, so a VM with our metadata has nothing passthrough may bind: prepare refuses
        // with one line, and libvirt still runs stopped (left in the script) and release, which
        // finds nothing to give back.
        await LibvirtdDomains.DefineAsync(Ours, withMetadata: true);
        await LibvirtdDomains.DefineAsync(Plain, withMetadata: false);
        var before = LogLength();

        var start = await RealLibvirtd.Virsh("start", Ours);
        await LibvirtdDomains.ExpectAsync(RealLibvirtd.Virsh("start", Plain));
        await LibvirtdDomains.ExpectAsync(RealLibvirtd.Virsh("destroy", Plain));

        Assert.That(start.Succeeded, Is.False);
        Assert.That(start.Stderr, Does.Contain($"passthrough: VM '{Ours}'"), "libvirt shows passthrough's line, with the exact name");
        Assert.That((await RealLibvirtd.Virsh("domstate", Ours)).Stdout.Trim(), Is.EqualTo("shut off"));
        var log = NewLogText(before);
        var invocations = log.Split('\n').Where(l => l.Contains(" hook qemu ", StringComparison.Ordinal) && !l.Contains("failed", StringComparison.Ordinal)).ToList();
        Assert.That(invocations.Select(l => l[(l.IndexOf(" hook qemu ", StringComparison.Ordinal) + 1)..]), Is.EqualTo(new[]
        {
            $"hook qemu {Ours} prepare begin",
            $"hook qemu {Ours} release end",
        }));
        Assert.That(log, Does.Contain($"released {Ours}: nothing was bound"), "release found nothing to give back");
        Assert.That(log, Does.Not.Contain(Plain), "a VM without our metadata leaves no trace in the log");
        Assert.That(File.Exists("/pwned"), Is.False);
    }

    private static long LogLength() => File.Exists(LogFile) ? new FileInfo(LogFile).Length : 0;

    private static string NewLogText(long from)
    {
        using var stream = File.OpenRead(LogFile);
        stream.Seek(from, SeekOrigin.Begin);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
