using System.Globalization;
using Passthrough.Binding;
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

    /// <param name="asked">The size the VM gives the BAR while it runs (&lt;passthrough:bar&gt;), if any.</param>
    public static IEnumerable<Finding> For(PciFunction f, Func<ResizableBar, long?>? asked = null)
    {
        foreach (var bar in f.ResizableBars ?? [])
        {
            if (bar.Current is not long current || current < DefaultAperture)
            {
                continue;
            }

            if (asked?.Invoke(bar) is long size && size < DefaultAperture)
            {
                yield return Doctor.F("resizable-bar", Severity.Ok, f.Address.ToString(),
                    $"BAR {bar.Index} is {ResizableBar.Describe(current)} on the host, and the VM's <passthrough:bar> makes it {ResizableBar.Describe(size)} while it runs, which fits OVMF's default 32 GiB window.",
                    [string.Create(CultureInfo.InvariantCulture, $"/sys/bus/pci/devices/{f.Address}: {bar.Summary()}")],
                    null);
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

    /// <summary>
    /// The size the doctor's VM asks for this BAR, by the hook's rule (<see cref="BarResizePlan.Check"/>); null
    /// without a VM, in static mode (no size is applied) or when the request would be refused.
    /// </summary>
    public static long? AskedByVm(DoctorEvidence e, PciFunction f, ResizableBar bar)
    {
        if (e.Vm is not { Mode: { } mode } vm || !BarResizePlan.AppliesIn(mode))
        {
            return null;
        }

        var passed = vm.HostDevices.Select(e.Host.Find).OfType<PciFunction>().ToList();
        return vm.Bars
            .Select(request => BarResizePlan.Check(request, passed, vm.Name))
            .LastOrDefault(c => c.Problem is null && c.Function!.Address == f.Address && c.Bar!.Index == bar.Index)?.Request.Bytes;
    }
}
