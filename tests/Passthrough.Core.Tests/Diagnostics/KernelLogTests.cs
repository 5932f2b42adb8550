using NUnit.Framework;
using Passthrough.Diagnostics;

namespace Passthrough.Tests.Diagnostics;

public class KernelLogTests
{
    [Test]
    public void I_can_read_kmsg_records_with_their_timestamps_and_skip_dictionary_lines()
    {
        var log = KernelLog.Parse("""
            6,1,0,-;Linux version 6.12.54-Unraid
            6,2,587478,-;iommu: Default domain type: Passthrough (set via kernel command line)
            4,915,912447000,-;vfio-pci 0000:01:00.0: Firmware has requested this device have a 1:1 IOMMU mapping
             SUBSYSTEM=pci
             DEVICE=+pci:0000:01:00.0
            6,916,912448000,c;tab\x09inside
            """);

        Assert.That(log.Lines.Select(l => l.Message), Is.EqualTo(new[]
        {
            "Linux version 6.12.54-Unraid",
            "iommu: Default domain type: Passthrough (set via kernel command line)",
            "vfio-pci 0000:01:00.0: Firmware has requested this device have a 1:1 IOMMU mapping",
            "tab\tinside",
        }));
        Assert.That(log.Lines[1].Seconds, Is.EqualTo(0.587478).Within(1e-9));
        Assert.That(log.ReachesBoot);
    }

    [Test]
    public void I_can_read_plain_dmesg_and_journalctl_lines()
    {
        var log = KernelLog.Parse("""
            [    0.000000] DMAR-IR: Enabled IRQ remapping in x2apic mode
            Jan 21 12:35:40 tower kernel: AMD-Vi: Interrupt remapping enabled
            no timestamp at all
            """);

        Assert.That(log.Lines.Select(l => l.Message), Is.EqualTo(new[] { "DMAR-IR: Enabled IRQ remapping in x2apic mode", "AMD-Vi: Interrupt remapping enabled", "no timestamp at all" }));
        Assert.That(log.Lines[0].Seconds, Is.Zero);
        Assert.That(log.Lines[1].Seconds, Is.Null);
        Assert.That(log.ReachesBoot, Is.False);
    }
}
