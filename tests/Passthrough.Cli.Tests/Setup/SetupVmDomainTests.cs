using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Setup;

/// <summary>`setup --vm` gets the domain from libvirt through the same adapter as `doctor --vm`, with the setup's own way out.</summary>
public class SetupVmDomainTests
{
    [Test]
    public void I_get_exit_2_and_how_to_find_the_name_when_libvirt_does_not_know_the_vm()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var runner = new RecordingProcessRunner((_, _) => new ProcessResult("virsh dumpxml win10", 1, string.Empty, "error: failed to get domain 'win10'\n", false, TimeSpan.Zero));

        var result = CliRun.RunWith(null, runner, "--root", root, "setup", "plan", "--vm", "win10");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(runner.Commands, Is.EqualTo(new[] { "virsh dumpxml win10" }));
        Assert.That(result.Stderr, Does.Contain("`virsh dumpxml win10` failed: error: failed to get domain 'win10'"));
        Assert.That(result.Stderr, Does.Contain("virsh list --all").And.Contain("plan with --slot").And.Not.Contain("--xml").And.Not.Contain("--connect"));
    }

    [Test]
    public void I_get_exit_3_when_libvirt_cannot_be_reached()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var runner = new RecordingProcessRunner((_, _) => new ProcessResult("virsh dumpxml win11", 1, string.Empty, "error: failed to connect to the hypervisor\n", false, TimeSpan.Zero));

        var result = CliRun.RunWith(null, runner, "--root", root, "setup", "plan", "--vm", "win11");

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(result.Stderr, Does.Contain("failed to connect to the hypervisor").And.Contain("libvirtd").And.Contain("LIBVIRT_DEFAULT_URI"));
    }
}
