using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;
using static Passthrough.Tests.Diagnostics.SeedHosts;

namespace Passthrough.Tests.Binding;

/// <summary>Issue 15 in the pure core: VFs passed alone, variant drivers bound when asked, keep-on-vfio, reset families.</summary>
public class SriovAndVariantPlanTests
{
    private static readonly PciAddress Pf = PciAddress.Parse("0000:00:02.0");
    private static readonly PciAddress Vf1 = PciAddress.Parse("0000:00:02.1");
    private static readonly PciAddress Vf2 = PciAddress.Parse("0000:00:02.2");

    private static Host.HostInventory IgpuWithVfs(string vf1Driver = "xe") => MakeHost(
        Amd("intel_iommu=on", "6.19.2"),
        null,
        Fn("0000:00:02.0", 0x8086, 0xa780, 0x030000, "xe", 1) with { SriovTotalVfs = 7, SriovNumVfs = 2 },
        Fn("0000:00:02.1", 0x8086, 0xa780, 0x030000, vf1Driver, 17) with { PhysicalFunction = Pf },
        Fn("0000:00:02.2", 0x8086, 0xa780, 0x030000, "xe", 18) with { PhysicalFunction = Pf });

    [Test]
    public void A_vf_with_a_driver_model_is_moved_to_that_variant_driver_and_nothing_else_is_touched()
    {
        var plan = BindingPlan.Build([Vf1], IgpuWithVfs(), "VM 'vf'", new Dictionary<PciAddress, string> { [Vf1] = "xe_vfio_pci" });

        Assert.That(plan.Steps().Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "load xe_vfio_pci",
            "set driver_override of 0000:00:02.1 to xe_vfio_pci",
            "unbind 0000:00:02.1 from xe",
            "probe drivers for 0000:00:02.1",
            "check that 0000:00:02.1 is on xe_vfio_pci",
        }));
    }

    [Test]
    public void The_pf_with_vfs_enabled_is_refused_as_bad_input_before_any_step()
    {
        var e = Assert.Throws<PassthroughException>(() => BindingPlan.Build([Pf], IgpuWithVfs(), "VM 'igpu'"));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("0000:00:02.1, 0000:00:02.2"));
    }

    [Test]
    public void The_igpus_gpu_holds_only_the_pf_and_a_slot_of_only_vfs_is_refused()
    {
        var host = IgpuWithVfs();

        Assert.That(host.Gpu(Pf.Slot).Functions.Select(f => f.Address), Is.EqualTo(new[] { Pf }));
        Assert.That(host.Gpu(Pf.Slot).VirtualFunctions.Select(f => f.Address), Is.EqualTo(new[] { Vf1, Vf2 }));
        Assert.That(host.Viability(host.Groups.Single(g => g.Id == 17)).Reason, Does.Contain("only the functions of 0000:00:02"));
    }

    [Test]
    public void A_vm_reads_its_driver_models_and_keep_on_vfio_from_its_xml_and_a_bad_value_names_the_line()
    {
        const string xml = """
            <domain type='kvm'><name>vf</name><uuid>9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f</uuid>
            <metadata><passthrough:config xmlns:passthrough='urn:passthrough:1' mode='dynamic'>
              <passthrough:release keep-on-vfio='yes'/>
            </passthrough:config></metadata>
            <devices><hostdev mode='subsystem' type='pci' managed='no'><driver model='xe_vfio_pci'/><source><address domain='0x0000' bus='0x00' slot='0x02' function='0x1'/></source></hostdev></devices></domain>
            """;

        var config = VmPassthroughConfig.FromXml(xml, "vf.xml")!;
        var bad = Assert.Throws<PassthroughException>(() => VmPassthroughConfig.FromXml(xml.Replace("keep-on-vfio='yes'", "keep-on-vfio='always'", StringComparison.Ordinal), "vf.xml"));

        Assert.That(config.DriverModels, Is.EqualTo(new Dictionary<PciAddress, string> { [Vf1] = "xe_vfio_pci" }));
        Assert.That(config.KeepOnVfio, Is.True);
        Assert.That(bad!.Message, Does.StartWith("vf.xml:3: <passthrough:release keep-on-vfio=\"always\"> is not yes or no."));
    }

    [TestCase(0x1002, 0x7480, "AMD Navi 33 (RDNA3)", true)]
    [TestCase(0x1002, 0x73bf, "AMD Navi 21 (RDNA2)", true)]
    [TestCase(0x1002, 0x7550, "AMD Navi 48 (RDNA4)", true)]
    [TestCase(0x1002, 0x164e, "AMD Ryzen iGPU (Raphael)", true)]
    [TestCase(0x10de, 0x2684, "NVIDIA", false)]
    public void The_reset_family_is_named_with_what_is_known(int vendor, int device, string family, bool rebindFailures)
    {
        var known = ResetFamilies.Of(Fn("0000:03:00.0", vendor, device, 0x030000, null, 1))!;

        Assert.That((known.Name, known.RebindFailures), Is.EqualTo((family, rebindFailures)));
    }

    [Test]
    public void A_vendor_reset_family_is_left_to_the_reset_bug_table()
    {
        Assert.That(ResetFamilies.Of(Fn("0000:03:00.0", 0x1002, 0x731f, 0x030000, null, 1)), Is.Null, "Navi 10 is vendor-reset's");
    }
}
