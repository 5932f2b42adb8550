using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Pci;
using static Passthrough.Tests.Diagnostics.SeedHosts;

namespace Passthrough.Tests.Binding;

/// <summary>The bind as one ordered list of steps: what the engine executes, each change journaled first.</summary>
public class BindingPlanStepsTests
{
    [Test]
    public void I_get_vfio_loaded_then_each_function_moved_with_its_original_driver_journaled_before_its_first_write()
    {
        var host = MakeHost(
            Amd("amd_iommu=on", "6.12.54"),
            null,
            Fn("0000:03:00.0", 0x1002, 0x744c, 0x030000, "amdgpu", 14),
            Fn("0000:03:00.1", 0x1002, 0xab30, 0x040300, "vfio-pci", 14));

        var steps = BindingPlan.Build([PciAddress.Parse("0000:03:00.0"), PciAddress.Parse("0000:03:00.1")], host, "VM 'win11'").Steps();

        Assert.That(steps.Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "load vfio-pci",
            "set driver_override of 0000:03:00.0 to vfio-pci",
            "unbind 0000:03:00.0 from amdgpu",
            "probe drivers for 0000:03:00.0",
            "check that 0000:03:00.0 is on vfio-pci",
        }), "a function already on vfio-pci is left alone");
        Assert.That(((BindingStep)steps[0]).Remedy, Does.Contain("CONFIG_VFIO_PCI"));
        Assert.That(steps[1].Records, Is.EqualTo(new JournalEntry(JournalKind.Function, "0000:03:00.0", "amdgpu", null)));
        Assert.That(steps.Where((_, i) => i != 1).Select(s => s.Records), Is.All.Null);
    }

    [Test]
    public void I_get_nothing_to_do_when_every_function_is_on_vfio_pci_already()
    {
        var host = MakeHost(Amd("amd_iommu=on", "6.12.54"), null, Fn("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 14));

        Assert.That(BindingPlan.Build([PciAddress.Parse("0000:03:00.0")], host, "VM 'win11'").Steps(), Is.Empty);
    }
}
