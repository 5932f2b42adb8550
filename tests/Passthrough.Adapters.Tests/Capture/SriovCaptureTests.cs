using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Capture;
using Passthrough.Adapters.Sysfs;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Capture;

/// <summary>Issue 15: what SR-IOV and VFIO variant drivers need from a host survives a capture and is read back.</summary>
public class SriovCaptureTests
{
    [Test]
    public void Saving_a_host_keeps_the_sriov_links_the_drivers_modules_and_the_vfio_pci_core_holders()
    {
        using var root = new TempDirectory();
        FixtureHosts.Expand("igpu-sriov-xe", root.Path);

        using var saved = new StringWriter();
        HostCapture.Save(new HostRoot(root.Path), saved);
        var lines = saved.ToString().Split('\n');

        Assert.That(lines, Does.Contain("link sys/devices/pci0000:00/0000:00:02.1/physfn -> ../0000:00:02.0"));
        Assert.That(lines, Does.Contain("link sys/devices/pci0000:00/0000:00:02.0/virtfn1 -> ../0000:00:02.2"));
        Assert.That(lines, Does.Contain("link sys/bus/pci/drivers/xe_vfio_pci/module -> ../../../../module/xe_vfio_pci"));
        Assert.That(lines, Does.Contain("link sys/module/vfio_pci_core/holders/xe_vfio_pci -> ../../xe_vfio_pci"));
        Assert.That(lines, Does.Contain("file sys/devices/pci0000:00/0000:00:02.0/sriov_numvfs = 2"));
    }

    [Test]
    public void The_reader_tells_virtual_functions_and_variant_drivers_by_the_kernels_links()
    {
        using var root = new TempDirectory();
        FixtureHosts.Expand("igpu-sriov-xe", root.Path);

        var host = new SysfsHostReader(new HostRoot(root.Path), names: false).Read();
        var pf = host.Find(PciAddress.Parse("0000:00:02.0"))!;
        var variant = host.Find(PciAddress.Parse("0000:00:02.1"))!;
        var generic = host.Find(PciAddress.Parse("0000:00:02.2"))!;

        Assert.That(pf.IsVirtualFunction, Is.False);
        Assert.That((pf.SriovNumVfs, pf.SriovTotalVfs), Is.EqualTo((2, 7)));
        Assert.That(pf.DriverUsesVfioPciCore, Is.False, "xe is a host driver");
        Assert.That(pf.IsVfioBound, Is.False);
        Assert.That(variant.PhysicalFunction, Is.EqualTo(PciAddress.Parse("0000:00:02.0")));
        Assert.That((variant.IsVfioBound, variant.IsVfioVariantBound), Is.EqualTo((true, true)));
        Assert.That((generic.IsVfioBound, generic.IsVfioVariantBound), Is.EqualTo((true, false)));
        Assert.That(host.Gpus.Single().Functions, Is.EqualTo(new[] { pf }));
        Assert.That(host.Gpus.Single().VirtualFunctions, Is.EqualTo(new[] { variant, generic }));
    }

    [Test]
    public void A_driver_named_like_a_variant_is_not_one_unless_its_module_uses_vfio_pci_core()
    {
        using var root = new TempDirectory();
        FixtureHosts.IgpuSriovXe().DriverModule("fake_vfio_pci", "fake_vfio_pci").WriteTo(root.Path);
        var drivers = new VfioVariantDrivers(new HostRoot(root.Path));

        Assert.That(drivers.IsVariant("xe_vfio_pci"), Is.True);
        Assert.That(drivers.IsVariant("fake_vfio_pci"), Is.False, "the name alone proves nothing");
        Assert.That(drivers.IsVariant("vfio-pci"), Is.False, "the generic driver is not a variant");
        Assert.That(drivers.IsVariant("../xe_vfio_pci"), Is.False);
    }
}
