namespace Passthrough.Pci;

/// <summary>
/// A GPU as users pass it: a display-class function together with every other function of the
/// same bus:device (HDMI audio, USB xHCI, serial/UCSI). SR-IOV virtual functions are not among them, even when
/// they share the bus:device (Intel iGPU VFs 00:02.1-7): they are listed apart and passed one at a time.
/// </summary>
public sealed record Gpu(PciSlot Slot, IReadOnlyList<PciFunction> Functions)
{
    /// <summary>The enabled SR-IOV virtual functions of this GPU's functions (their `physfn` is one of them).</summary>
    public IReadOnlyList<PciFunction> VirtualFunctions { get; init; } = [];

    public PciFunction Display => Functions.First(f => f.IsDisplay);

    /// <summary>The firmware's boot display (`boot_vga` = 1 on the VGA function).</summary>
    public bool BootVga => Functions.Any(f => f.BootVga == true);

    public IEnumerable<int> IommuGroups => Functions.Select(f => f.IommuGroup).OfType<int>().Distinct();
}
