using NUnit.Framework;
using Passthrough.Diagnostics;
using static Passthrough.Tests.Diagnostics.SeedHosts;

namespace Passthrough.Tests.Diagnostics;

public class SnapshotTests
{
    private static HostSnapshot Seed001(string bios = "1.2", int gpuGroup = 12, string gpuBus = "01", string? gpuDriver = "vfio-pci", int sataGroup = 5)
    {
        var host = MakeHost(
            Intel("ro intel_iommu=on iommu=pt", "6.8.12-5-pve") with { BiosVersion = bios, BiosDate = "03/01/2024" },
            null,
            Fn("0000:00:17.0", 0x8086, 0xa282, 0x010601, "ahci", sataGroup),
            Fn($"0000:{gpuBus}:00.0", 0x10de, 0x1e87, 0x030000, gpuDriver, gpuGroup),
            Fn($"0000:{gpuBus}:00.1", 0x10de, 0x10f8, 0x040300, "vfio-pci", gpuGroup));
        return HostSnapshot.From(host, [new SnapshotRom("/usr/share/qemu/rtx2080.rom", "ab12")]);
    }

    [Test]
    public void I_see_nothing_changed_between_identical_snapshots()
    {
        Assert.That(SnapshotDiff.Compare(Seed001(), Seed001()), Is.Empty);
    }

    [Test]
    public void I_am_told_the_bios_was_updated_and_the_groups_reshuffled()
    {
        // Seed 001, mini-story 3: after a BIOS reset the GPU shared a group with the SATA controller.
        var changes = SnapshotDiff.Compare(Seed001(), Seed001(bios: "1.3", sataGroup: 12));

        Assert.That(changes, Has.Some.StartsWith("BIOS updated: 1.2 (03/01/2024) → 1.3 (03/01/2024)"));
        Assert.That(changes, Has.Some.Contains("IOMMU groups reshuffled: group 12 now holds 0000:00:17.0, 0000:01:00.0, 0000:01:00.1 (before: groups 5, 12)"));
    }

    [Test]
    public void I_am_told_a_device_moved_address_and_a_driver_changed()
    {
        var moved = SnapshotDiff.Compare(Seed001(), Seed001(gpuBus: "02"));
        var rebound = SnapshotDiff.Compare(Seed001(), Seed001(gpuDriver: "nouveau"));

        Assert.That(moved, Has.Some.Contains("Device moved address: [10de:1e87] 0000:01:00.0 → 0000:02:00.0"));
        Assert.That(rebound, Is.EqualTo(new[] { "Driver changed on 0000:01:00.0 [10de:1e87]: vfio-pci → nouveau." }));
    }

    [Test]
    public void I_am_told_what_changed_on_the_command_line_and_in_the_roms()
    {
        var old = Seed001();
        var now = old with { CommandLine = "ro intel_iommu=on", Roms = [new SnapshotRom("/usr/share/qemu/rtx2080.rom", "cd34")] };

        var changes = SnapshotDiff.Compare(old, now);

        Assert.That(changes, Does.Contain("Kernel command line changed: removed iommu=pt."));
        Assert.That(changes, Has.Some.StartsWith("ROM changed: /usr/share/qemu/rtx2080.rom"));
    }
}
