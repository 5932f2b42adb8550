using System.Globalization;
using Passthrough.Pci;

namespace Passthrough.Diagnostics;

/// <summary>
/// A resizable BAR larger than the guest firmware places by default. OVMF's 64-bit PCI MMIO aperture
/// is 32 GiB unless QEMU passes the host's physical address width (edk2 OvmfPkg PlatformInitLib's
/// dynamic MMIO window; libvirt &lt;cpu&gt;&lt;maxphysaddr mode='passthrough'/&gt;) or the fw_cfg knob
/// opt/ovmf/X-PciMmio64Mb sets it; a BAR that does not fit is left unassigned and the guest driver
/// fails (Code 43, no display).
/// </summary>
internal static class LargeBarFindings
{
    public const long DefaultAperture = 32L << 30;

    public static IEnumerable<Finding> For(PciFunction f)
    {
        foreach (var bar in f.ResizableBars ?? [])
        {
            if (bar.Current is not long current || current < DefaultAperture)
            {
                continue;
            }

            // Room for the BAR and the card's other 64-bit BARs, naturally aligned: twice the BAR, in MiB.
            var mib = (current >> 20) * 2;
            var smaller = bar.Supported.Where(s => s < DefaultAperture / 2).DefaultIfEmpty().Max();
            var resize = smaller > 0 ? $"; or give the VM a smaller BAR: <passthrough:bar index=\"{bar.Index}\" size=\"{ResizableBar.Describe(smaller).Replace(" ", string.Empty, StringComparison.Ordinal)}\"/> in its <passthrough:config>" : string.Empty;
            yield return Doctor.F("resizable-bar", Severity.Warning, f.Address.ToString(),
                $"BAR {bar.Index} is {ResizableBar.Describe(current)}: with the card's other BARs it does not fit the 32 GiB 64-bit MMIO window OVMF gives a guest by default, so the guest firmware cannot place it and the GPU fails in the VM (Code 43, no picture).",
                [string.Create(CultureInfo.InvariantCulture, $"/sys/bus/pci/devices/{f.Address}: BAR {bar.Index} {ResizableBar.Describe(current)} now, offers {string.Join(" ", bar.Supported.Select(ResizableBar.Describe))}")],
                string.Create(CultureInfo.InvariantCulture, $"Give OVMF a larger window: <cpu><maxphysaddr mode='passthrough'/></cpu> with a current OVMF, or <qemu:commandline><qemu:arg value='-fw_cfg'/><qemu:arg value='opt/ovmf/X-PciMmio64Mb,string={mib}'/></qemu:commandline> (xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'){resize}."));
        }
    }
}
