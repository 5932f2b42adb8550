using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>
/// The native binary's systemd client (Tmds.DBus.Protocol, trimmed and AOT-compiled) against a private
/// dbus-daemon with <see cref="SystemdServiceFake"/> owning org.freedesktop.systemd1, reached through
/// --system-bus on fixture roots. Nothing here touches the machine: the bus lives in a temp directory.
/// </summary>
[NonParallelizable]
public class SystemdBusTests
{
    private PrivateDbusDaemon _daemon = null!;
    private SystemdServiceFake _systemd = null!;

    [SetUp]
    public async Task StartBus()
    {
        _daemon = new PrivateDbusDaemon();
        _systemd = await SystemdServiceFake.StartAsync(_daemon.Address);
    }

    [TearDown]
    public void StopBus()
    {
        _systemd.Dispose();
        _daemon.Dispose();
    }

    [Test]
    public void I_can_apply_static_setup_and_the_native_binary_reloads_systemd_and_enables_the_binding_unit_over_dbus()
    {
        using var temp = new TempDirectory("passthrough-native-bus");
        var root = SetupFixtures.Create("fedora-bls", temp);
        var before = SetupFixtures.Snapshot(root);

        var apply = NativeBinary.Run("--root", root, "--system-bus", _daemon.Address, "setup", "apply", "--slot", SetupFixtures.SlotOf("fedora-bls"), "--yes");

        Assert.That(apply.ExitCode, Is.Zero, apply.ToString());
        NativeBinary.AssertNoStackTrace(apply);
        Assert.That(
            _systemd.Calls.Where(c => c.StartsWith("Reload", StringComparison.Ordinal) || c.StartsWith("EnableUnitFiles", StringComparison.Ordinal)),
            Is.EqualTo(new[] { "Reload", "EnableUnitFiles passthrough-vfio-bind.service runtime=False force=True", "Reload" }),
            "daemon-reload for the new unit file, enable it, reload again: on the bus given, not listed for later");
        Assert.That(apply.Stdout, Does.Contain("systemd: enable passthrough-vfio-bind.service").And.Not.Contain("systemctl enable"), apply.Stdout);
        Assert.That(File.Exists(Path.Join(root, "etc/systemd/system/passthrough-vfio-bind.service")), "the unit file was written before it was enabled");

        var undo = NativeBinary.Run("--root", root, "--system-bus", _daemon.Address, "setup", "undo", "--yes");

        Assert.That(undo.ExitCode, Is.Zero, undo.ToString());
        Assert.That(_systemd.Calls.Count(c => c == "Reload"), Is.EqualTo(3), "undo removed a unit file: systemd reloads once more");
        Assert.That(SetupFixtures.Snapshot(root), Is.EqualTo(before), "undo puts every file back");
    }

    [Test]
    public void I_am_told_to_run_as_root_when_systemd_refuses_to_stop_my_display_manager_and_nothing_is_half_done()
    {
        using var host = new SimulatedHost().AmdGpu().VtConsole(1, "(M) frame buffer device", bound: true);
        var before = host.Snapshot();
        _systemd.AddUnit("sddm.service", "active", "display-manager.service");
        _systemd.RefuseJobsOf("sddm.service");
        var xml = $"<domain type='kvm'><name>win11</name><uuid>9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f</uuid>"
            + "<metadata><passthrough:config xmlns:passthrough=\"urn:passthrough:1\" mode=\"single-gpu\"/></metadata><devices>"
            + "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>"
            + "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>"
            + "</devices></domain>";

        var prepare = NativeBinary.RunWith(xml, "--root", host.Root, "--system-bus", _daemon.Address, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(prepare.ExitCode, Is.EqualTo(3), prepare.ToString());
        NativeBinary.AssertNoStackTrace(prepare);
        Assert.That(prepare.Stderr.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), "libvirt shows one line to the `virsh start` user");
        Assert.That(prepare.Stderr, Does.StartWith("passthrough: systemd StopUnit(sddm.service) failed: org.freedesktop.DBus.Error.AccessDenied: Access denied").And.EndWith("Run it as root (sudo).\n"), prepare.Stderr);
        Assert.That(_systemd.Calls, Does.Contain("StopUnit sddm.service replace"), "the native client asked systemd over the bus");
        Assert.That(_systemd.ActiveStateOf("sddm.service"), Is.EqualTo("active"), "the display manager keeps running");
        Assert.That(host.Snapshot(), Is.EqualTo(before), "no driver binding changed");
        Assert.That(_systemd.Calls, Has.None.StartsWith("StartUnit"), "a stop that was refused is not undone by a start");
        var journals = Path.Join(host.Root, "run", "passthrough");
        Assert.That(Directory.Exists(journals) ? Directory.GetFiles(journals, "*.json") : [], Is.Empty, "no journal (ROOT/run/passthrough) is left for a restore to find");
    }
}
