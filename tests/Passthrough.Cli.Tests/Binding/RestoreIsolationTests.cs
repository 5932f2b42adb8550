using System.Text.Json;
using NUnit.Framework;
using Passthrough.Host;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>`passthrough restore` of one of two VMs that isolate CPUs: it gives back only the CPUs the other does not hold.</summary>
public class RestoreIsolationTests
{
    private const string First = "11111111-2222-4333-8444-555555555555";
    private const string Second = "66666666-7777-4888-8999-aaaaaaaaaaaa";

    private static string Domain(string name, string uuid, string cpus, string bus) =>
        $"<domain type='kvm'><name>{name}</name><uuid>{uuid}</uuid>"
        + $"<metadata><passthrough:config xmlns:passthrough=\"urn:passthrough:1\" mode=\"dynamic\"><passthrough:isolate cpus=\"{cpus}\"/></passthrough:config></metadata><devices>"
        + $"<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x{bus}' slot='0x00' function='0x0'/></source></hostdev>"
        + $"<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x{bus}' slot='0x00' function='0x1'/></source></hostdev>"
        + "</devices></domain>";

    [Test]
    public async Task I_can_restore_the_first_of_two_isolated_vms_and_the_cpus_of_the_second_stay_off_the_host()
    {
        using var host = new SimulatedHost().AmdGpu().NvidiaGpu().OnlineCpus("0-7");
        var systemd = new RecordingSystemdFake(host.Events);
        var win11 = Domain("win11", First, "2-5", "03");
        var linux = Domain("linux", Second, "6-7", "01");
        Assert.That((await HookVerbTests.Run(host, host.Kernel, win11, systemd, "hook", "qemu", "win11", "prepare", "begin", "-")).ExitCode, Is.Zero);
        Assert.That((await HookVerbTests.Run(host, host.Kernel, linux, systemd, "hook", "qemu", "linux", "prepare", "begin", "-")).ExitCode, Is.Zero);
        Assert.That(systemd.AllowedCpus["user.slice"].ToString(), Is.EqualTo("0-1"));

        var check = await HookVerbTests.Run(host, host.Kernel, null, systemd, "restore", "--all", "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        using (var json = JsonDocument.Parse(check.Stdout))
        {
            var actions = json.RootElement.GetProperty("actions").EnumerateArray().Select(a => a.GetString()).ToList();
            Assert.That(actions, Has.Member("VM 'win11': set AllowedCPUs of user.slice to 0-5").And.Member("VM 'linux': set AllowedCPUs of user.slice to all CPUs"), "one after the other, as --all restores them");
        }

        var restore = await HookVerbTests.Run(host, host.Kernel, null, systemd, "restore", "win11");

        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(HostTuningUnits(systemd), Is.EqualTo("init.scope=0-5 system.slice=0-5 user.slice=0-5"), "linux still runs on 6-7");
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"));

        var release = await HookVerbTests.Run(host, host.Kernel, linux, systemd, "hook", "qemu", "linux", "release", "end", "-");

        Assert.That(release.ExitCode, Is.Zero, release.ToString());
        Assert.That(HostTuningUnits(systemd), Is.EqualTo("init.scope= system.slice= user.slice="), "every CPU again, as before");
    }

    private static string HostTuningUnits(RecordingSystemdFake systemd) =>
        string.Join(" ", Passthrough.Binding.HostTuningPlan.HostUnits.Select(u => $"{u}={systemd.AllowedCpus.GetValueOrDefault(u, CpuSet.Empty)}"));
}
