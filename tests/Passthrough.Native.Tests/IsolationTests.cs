using NUnit.Framework;
using Passthrough.Host;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>
/// CPU isolation through the native binary's D-Bus client: the hook of a static VM (its GPU already on vfio-pci,
/// so no kernel write is needed under a fixture root) sets AllowedCPUs on the host's units over a private bus,
/// release puts back what was there, and a CPU list the host lacks is one line, exit 2, nothing changed.
/// </summary>
[NonParallelizable]
public class IsolationTests
{
    private static readonly string[] Units = ["init.scope", "system.slice", "user.slice"];

    private PrivateDbusDaemon _daemon = null!;
    private SystemdServiceFake _systemd = null!;

    [SetUp]
    public async Task StartBus()
    {
        _daemon = new PrivateDbusDaemon();
        _systemd = await SystemdServiceFake.StartAsync(_daemon.Address);
        foreach (var unit in Units)
        {
            _systemd.AddUnit(unit, "active");
        }
    }

    [TearDown]
    public void StopBus()
    {
        _systemd.Dispose();
        _daemon.Dispose();
    }

    private static string Domain(string cpus, string name = "win11", string uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f") =>
        $"<domain type='kvm'><name>{name}</name><uuid>{uuid}</uuid>"
        + $"<metadata><passthrough:config xmlns:passthrough=\"urn:passthrough:1\" mode=\"static\"><passthrough:isolate cpus=\"{cpus}\"/></passthrough:config></metadata>"
        + "<cputune><vcpupin vcpu='0' cpuset='4'/><vcpupin vcpu='1' cpuset='5-7'/></cputune><devices>"
        + "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>"
        + "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>"
        + "</devices></domain>";

    private static SimulatedHost BoundAtBoot() => new SimulatedHost()
        .Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 14, native: "amdgpu")
        .Function("0000:03:00.1", 0x1002, 0xab30, 0x040300, "vfio-pci", 14, native: "snd_hda_intel")
        .OnlineCpus("0-7");

    private string AllowedCpus() => string.Join(" ", Units.Select(u => $"{u}={_systemd.AllowedCpusOf(u)}"));

    [Test]
    public void I_can_start_a_vm_whose_pinned_cpus_the_host_keeps_off_and_get_them_back_when_it_stops()
    {
        using var host = BoundAtBoot();
        _systemd.SetAllowedCpus("user.slice", CpuSet.TryParse("0-6", out var limited) ? limited : CpuSet.Empty);

        var prepare = NativeBinary.RunWith(Domain("auto"), "--root", host.Root, "--system-bus", _daemon.Address, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(prepare.ExitCode, Is.Zero, prepare.ToString());
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-3 system.slice=0-3 user.slice=0-3"));
        Assert.That(_systemd.Calls, Does.Contain("SetUnitProperties init.scope runtime=True AllowedCPUs=0-3"));

        var release = NativeBinary.RunWith(Domain("auto"), "--root", host.Root, "--system-bus", _daemon.Address, "hook", "qemu", "win11", "release", "end", "-");

        Assert.That(release.ExitCode, Is.Zero, release.ToString());
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice= user.slice=0-6"), "each unit has what it had before");
    }

    [Test]
    public void I_can_stop_two_vms_with_isolated_cpus_in_the_order_i_started_them()
    {
        using var host = BoundAtBoot();
        _systemd.SetAllowedCpus("user.slice", CpuSet.TryParse("0-6", out var limited) ? limited : CpuSet.Empty);
        var first = Domain("2-3");
        var second = Domain("6-7", "linux", "5d0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d");
        CliResult Hook(string xml, string name, string operation, string phase) =>
            NativeBinary.RunWith(xml, "--root", host.Root, "--system-bus", _daemon.Address, "hook", "qemu", name, operation, phase, "-");

        Assert.That(Hook(first, "win11", "prepare", "begin").ExitCode, Is.Zero);
        var start = Hook(second, "linux", "prepare", "begin");
        Assert.That(start.ExitCode, Is.Zero, start.ToString());
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-1,4-5 system.slice=0-1,4-5 user.slice=0-1,4-5"));

        var stop = Hook(first, "win11", "release", "end");

        Assert.That(stop.ExitCode, Is.Zero, stop.ToString());
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-5 system.slice=0-5 user.slice=0-5"), "win11's CPUs back, linux's still kept off");
        Assert.That(Hook(second, "linux", "release", "end").ExitCode, Is.Zero);
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice= user.slice=0-6"), "each unit has what it had before either VM");
    }

    [Test]
    public void I_get_one_line_and_exit_2_when_the_cpu_list_names_cpus_the_host_does_not_have()
    {
        using var host = BoundAtBoot();
        var before = host.Snapshot();

        var prepare = NativeBinary.RunWith(Domain("4-15"), "--root", host.Root, "--system-bus", _daemon.Address, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(prepare.ExitCode, Is.EqualTo(2), prepare.ToString());
        NativeBinary.AssertNoStackTrace(prepare);
        Assert.That(prepare.Stderr.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), prepare.Stderr);
        Assert.That(prepare.Stderr, Does.Contain("names CPU 8-15, which this host does not have (online: 0-7)"));
        Assert.That(_systemd.Calls, Has.None.StartsWith("SetUnitProperties"));
        Assert.That(host.Snapshot(), Is.EqualTo(before), "no journal, nothing changed");
    }

    [Test]
    public void I_get_told_by_doctor_that_my_pinned_cpus_are_shared_with_the_host()
    {
        using var temp = new TempDirectory("passthrough-native-isolation");
        var xml = Path.Join(temp.Path, "win11.xml");
        File.WriteAllText(xml, Domain("auto").Replace("<passthrough:isolate cpus=\"auto\"/>", string.Empty, StringComparison.Ordinal));
        using var host = BoundAtBoot();

        var doctor = NativeBinary.Run("--root", host.Root, "doctor", "--xml", xml, "--json");

        NativeBinary.AssertNoStackTrace(doctor);
        Assert.That(doctor.Stdout, Does.Contain("\"cpu-isolation\"").And.Contain("pinned to CPU 4-7, which host processes share"), doctor.ToString());
    }
}
