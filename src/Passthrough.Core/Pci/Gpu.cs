namespace Passthrough.Pci;

/// <summary>
/// A GPU as users pass it: a display-class function together with every other function of the
/// same bus:device (HDMI audio, USB xHCI, serial/UCSI).
/// </summary>
public sealed record Gpu(PciSlot Slot, IReadOnlyList<PciFunction> Functions)
{
    public PciFunction Display => Functions.First(f => f.IsDisplay);

    /// <summary>The firmware's boot display (`boot_vga` = 1 on the VGA function).</summary>
    public bool BootVga => Functions.Any(f => f.BootVga == true);

    public IEnumerable<int> IommuGroups => Functions.Select(f => f.IommuGroup).OfType<int>().Distinct();
}
