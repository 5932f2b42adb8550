using Passthrough.Errors;

namespace Passthrough.Pci;

/// <summary>
/// SR-IOV rules (Documentation/PCI/pci-iov-howto.rst): a virtual function has a `physfn` link to its physical
/// function, and the PF's `virtfnN` links name its VFs. A VF is its own device: it may share bus:device with the
/// PF (an Intel iGPU's VFs are 00:02.1-00:02.7 next to the host's display at 00:02.0), so "every function of
/// the slot" must never gather VFs, and a VF is passed alone. Unbinding the PF's driver disables its VFs
/// (the PF driver's remove calls pci_disable_sriov), so binding a PF with VFs enabled takes them away.
/// </summary>
public static class SriovRules
{
    /// <summary>A slot was given where only virtual functions live (their PF elsewhere or in another role).</summary>
    public static PassthroughException SlotOfVirtualFunctions(PciSlot slot, IReadOnlyList<PciFunction> functions)
    {
        var physical = functions.Select(f => f.PhysicalFunction).OfType<PciAddress>().Distinct().Order().Select(a => a.ToString());
        return PassthroughException.Input(
            $"{slot} holds only SR-IOV virtual functions (of {string.Join(", ", physical)}): a virtual function is passed on its own, not as a slot.",
            $"Give one function, e.g. {functions[0].Address} (`passthrough list` shows each GPU's virtual functions).");
    }

    /// <summary>A virtual function named among a slot's functions (--functions), where the GPU's own functions are meant.</summary>
    public static PassthroughException VirtualFunctionInSlot(PciFunction vf) =>
        PassthroughException.Input(
            $"{vf.Address} is an SR-IOV virtual function of {vf.PhysicalFunction}, not a function of the GPU in {vf.Address.Slot}: passing them together would take the host's GPU too.",
            $"Pass the virtual function on its own: --slot {vf.Address}.");

    /// <summary>A PF with VFs enabled is about to leave its driver, which would remove the VFs.</summary>
    public static PassthroughException PhysicalFunctionWithVirtualFunctions(PciFunction pf, IReadOnlyList<PciFunction> vfs) =>
        PassthroughException.Input(
            $"{pf.Address} has {vfs.Count} SR-IOV virtual function(s) enabled ({string.Join(", ", vfs.Select(v => v.Address))}); unbinding its driver {pf.Driver} would remove them.",
            $"Pass a virtual function instead (e.g. `passthrough bind {vfs[0].Address}`), or disable them first (echo 0 > /sys/bus/pci/devices/{pf.Address}/sriov_numvfs).");

    /// <summary>"2 of 7 virtual functions enabled" from sriov_numvfs/sriov_totalvfs; null when not SR-IOV capable.</summary>
    public static string? Summary(PciFunction f) =>
        f.SriovTotalVfs is int total && total > 0
            ? $"{f.SriovNumVfs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} of {total} SR-IOV virtual functions enabled"
            : null;
}
