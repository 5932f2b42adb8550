using Passthrough.Adapters;
using Passthrough.Adapters.Sysfs;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Cli.Verbs;

/// <summary>What `xml add-gpu --slot` and `bind` take on a host with SR-IOV and VFIO variant drivers (issue 15).</summary>
internal static class GpuSelection
{
    /// <summary>The function when <paramref name="text"/> is a full address of an SR-IOV virtual function on this host, else null.</summary>
    public static PciAddress? VirtualFunction(HostInventory inventory, string text) =>
        PciAddress.TryParse(text, out var address) && inventory.Find(address) is { IsVirtualFunction: true } ? address : null;

    /// <summary>--functions naming a VF under its PF's slot would pass the host's GPU with it: refused.</summary>
    public static void CheckNoVirtualFunctions(HostInventory inventory, PciSlot slot, IEnumerable<int> functions)
    {
        foreach (var function in functions)
        {
            if (inventory.Find(slot.Function(function)) is { IsVirtualFunction: true } vf)
            {
                throw SriovRules.VirtualFunctionInSlot(vf);
            }
        }
    }

    /// <summary>--driver-model must be a VFIO variant driver on this host (its module builds on vfio_pci_core).</summary>
    public static void CheckDriverModel(HostRoot root, string model)
    {
        if (model == VfioVariantDrivers.GenericDriver)
        {
            return; // libvirt's way to force the generic driver
        }

        if (!new VfioVariantDrivers(root).IsVariant(model))
        {
            throw PassthroughException.Input(
                $"--driver-model {model} is not a VFIO variant driver on this host (no loaded or installed module of that name uses vfio_pci_core).",
                "Give the variant driver's name as lsmod or modinfo shows it (e.g. xe_vfio_pci, mlx5_vfio_pci), or leave --driver-model out for vfio-pci.");
        }
    }
}
