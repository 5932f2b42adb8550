using NUnit.Framework;
using Passthrough.Diagnostics;

namespace Passthrough.Tests.Diagnostics;

public class ExplainTests
{
    /// <summary>The libvirt error of seed 004, wrapped as the user pasted it.</summary>
    private const string Seed004Error = """
        error: Failed to start domain 'Windows 11'
        error: internal error: QEMU unexpectedly closed the monitor (vm='Windows 11'):
        2026-01-21T12:35:40.272528Z qemu-system-x86_64: -device {"driver":"vfio-pci",
        "host":"0000:01:00.0","id":"hostdev0","bus":"pci.6","multifunction":true,
        "addr":"0x0"}: vfio 0000:01:00.0: failed to setup container for group 14:
        Failed to set group container: Invalid argument
        """;

    [Test]
    public void I_get_the_container_setup_failure_of_seed_004_explained_with_its_group()
    {
        var result = ErrorCatalog.Explain(Seed004Error);

        var e = result.Single();
        Assert.That(e.Id, Is.EqualTo("container-setup-invalid"));
        Assert.That(e.Title, Does.Contain("group 14"));
        Assert.That(e.Check, Does.Contain("/sys/kernel/iommu_groups/14/type"));
        Assert.That(e.Cause, Does.Contain("1:1 IOMMU mapping"));
    }

    [Test]
    public void I_learn_seed_000s_vfio_map_dma_line_may_be_harmless()
    {
        var result = ErrorCatalog.Explain("""
            QEMU[2912]: kvm: VFIO_MAP_DMA failed: Invalid argument
            QEMU[2912]: kvm: vfio_container_dma_map(..., 0x380000000000, 0x10000000, ...) = -22 (Invalid argument)
            """);

        var e = result.Single();
        Assert.That(e.Id, Is.EqualTo("vfio-map-dma-einval"));
        Assert.That(e.Seen, Is.EqualTo("QEMU[2912]: kvm: VFIO_MAP_DMA failed: Invalid argument"));
        Assert.That(e.Check, Does.Contain("harmless"));
    }

    [TestCase(SeedHosts.Seed004OneToOne, "firmware-1to1-mapping")]
    [TestCase("vfio-pci 0000:04:00.0: BAR 3: can't reserve [mem 0xca000000-0xcbffffff 64bit]", "bar-cant-reserve")]
    [TestCase("qemu-system-x86_64: -device vfio-pci,host=0000:01:00.0: vfio 0000:01:00.0: group 1 is not viable\nPlease ensure all devices within the iommu_group are bound to their vfio bus driver.", "group-not-viable")]
    [TestCase("vfio: failed to setup container for group 12: Failed to set iommu for container: Operation not permitted", "set-iommu-eperm")]
    [TestCase("Interrupt Remapping hardware not found, passing devices to unprivileged domains is insecure.", "no-interrupt-remapping")]
    [TestCase("qemu-system-x86_64: -device vfio-pci,host=0000:03:00.0: vfio 0000:03:00.0: failed to setup container for group 15: memory listener initialization failed: Region ram-node0: vfio_dma_map(0x55d, 0x100000, 0xbff00000, 0x7f3) = -12 (Cannot allocate memory)", "memlock")]
    [TestCase("qemu-system-x86_64: -device vfio-pci,host=0000:03:00.0,romfile=/usr/share/qemu/vbios.rom: failed to find romfile \"/usr/share/qemu/vbios.rom\"", "romfile-missing")]
    [TestCase("kvm: vfio: Unable to power on device, stuck in D3", "stuck-in-d3")]
    [TestCase("Windows has stopped this device because it has reported problems. (Code 43)", "nvidia-code-43")]
    public void I_get_every_signature_the_issue_lists_recognised(string text, string id)
    {
        var result = ErrorCatalog.Explain(text);

        Assert.That(result.Select(r => r.Id), Does.Contain(id));
        var e = result.First(r => r.Id == id);
        Assert.That(e.Cause, Is.Not.Empty);
        Assert.That(e.Check, Is.Not.Empty);
        Assert.That(e.Remedy, Is.Not.Empty);
        Assert.That(e.Title, Does.Not.Contain("{1}"));
    }

    [Test]
    public void I_get_nothing_for_text_without_a_known_signature()
    {
        Assert.That(ErrorCatalog.Explain("usb 1-1: new high-speed USB device number 2 using xhci_hcd"), Is.Empty);
    }

    [Test]
    public void I_get_explanations_in_the_order_they_appear_and_each_once()
    {
        var text = "x: BAR 0: can't reserve [mem]\nkvm: vfio: Unable to power on device, stuck in D3\nx: BAR 0: can't reserve [mem]\n";

        var result = ErrorCatalog.Explain(text);

        Assert.That(result.Select(r => r.Id), Is.EqualTo(new[] { "bar-cant-reserve", "stuck-in-d3" }));
    }

    [Test]
    public void Every_signature_has_cause_check_and_remedy()
    {
        Assert.That(ErrorCatalog.Signatures.Select(s => s.Id), Is.Unique);
        foreach (var s in ErrorCatalog.Signatures)
        {
            Assert.That(new[] { s.Title, s.Cause, s.Check, s.Remedy }, Has.All.Not.Empty, s.Id);
        }
    }
}
