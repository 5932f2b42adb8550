using System.Globalization;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Binding;

/// <summary>A BAR size a VM asks for (&lt;passthrough:bar index size [device]&gt;); no device: the VM's display function.</summary>
public sealed record BarRequest(int Index, long Bytes, PciAddress? Device = null);

/// <summary>
/// Resize one BAR through sysfs `resourceN_resize` (Documentation/ABI/testing/sysfs-bus-pci: the kernel
/// takes the encoded size, 0 = 1 MiB, and refuses while a driver is bound), so it runs after the host
/// driver let go and before vfio-pci binds.
/// </summary>
public sealed record BarResizeStep(PciAddress Device, int Index, long Bytes) : HostStep
{
    public string HostPath => $"/sys/bus/pci/devices/{Device}/resource{Index.ToString(CultureInfo.InvariantCulture)}_resize";

    public string Value => ResizableBar.EncodingOf(Bytes).ToString(CultureInfo.InvariantCulture);

    public override string ToString() => $"resize BAR {Index} of {Device} to {ResizableBar.Describe(Bytes)}";
}

/// <summary>The pure rules for VM BAR sizes: checked against the card before anything changes, placed between unbind and probe, undone from the journal.</summary>
public static class BarResizePlan
{
    /// <summary>
    /// The resize steps for <paramref name="requests"/>, each checked: the function is one the plan
    /// binds, it is resizable at that index and offers the size. Sizes already set need no step.
    /// Throws an input error (nothing changed yet) otherwise.
    /// </summary>
    public static IReadOnlyList<BarResizeStep> Resolve(IReadOnlyList<BarRequest> requests, HostInventory inventory, BindingPlan plan, string owner)
    {
        var steps = new List<BarResizeStep>();
        foreach (var request in requests)
        {
            var device = request.Device ?? DisplayFunction(plan, inventory, owner);
            var binding = plan.Functions.FirstOrDefault(f => f.Address == device)
                ?? throw PassthroughException.Input(
                    $"{owner}: <passthrough:bar device=\"{device}\"> is not one of the VM's devices.",
                    "Name one of the VM's <hostdev> functions, or leave device= out for its GPU.");
            var function = inventory.Find(device)!;
            var bar = function.ResizableBars?.FirstOrDefault(b => b.Index == request.Index);
            if (bar is null)
            {
                throw PassthroughException.Input(
                    function.ResizableBars is null
                        ? $"{owner}: cannot read the resizable BARs of {device} (its extended config space needs root)."
                        : $"{owner}: {device} has no resizable BAR {request.Index} (resizable: {Describe(function.ResizableBars)}).",
                    "Check `passthrough list --all --json` (resizableBars) as root and fix <passthrough:bar index=...>.");
            }

            if (!bar.Offers(request.Bytes))
            {
                throw PassthroughException.Input(
                    $"{owner}: {device} BAR {request.Index} does not offer {ResizableBar.Describe(request.Bytes)} (it offers {string.Join(", ", bar.Supported.Select(ResizableBar.Describe))}).",
                    "Set <passthrough:bar size=...> to one of those sizes.");
            }

            if (binding.AlreadyBound)
            {
                throw PassthroughException.Input(
                    $"{owner}: {device} is already on vfio-pci, and a BAR can only be resized while no driver is bound.",
                    "Give it back first (`passthrough unbind`), or leave <passthrough:bar> out for a device bound at boot.");
            }

            if (bar.Current != request.Bytes)
            {
                steps.Add(new BarResizeStep(device, request.Index, request.Bytes)
                {
                    Records = new JournalEntry(JournalKind.BarSize, device.ToString(), Bar: request.Index, Size: bar.Current),
                });
            }
        }

        return steps;
    }

    /// <summary>Each resize goes right before its function's drivers_probe: after the unbind, before vfio-pci binds.</summary>
    public static IReadOnlyList<HostStep> Insert(IReadOnlyList<HostStep> steps, IReadOnlyList<BarResizeStep> resizes)
    {
        if (resizes.Count == 0)
        {
            return steps;
        }

        var result = new List<HostStep>();
        foreach (var step in steps)
        {
            if (step is BindingStep { Kind: StepKind.DriversProbe, Device: { } device })
            {
                result.AddRange(resizes.Where(r => r.Device == device));
            }

            result.Add(step);
        }

        return result;
    }

    /// <summary>The recorded sizes back, newest first; run after the functions are off vfio-pci.</summary>
    public static IEnumerable<HostStep> Restore(IReadOnlyList<JournalEntry> entries) =>
        entries.Where(e => e.Kind == JournalKind.BarSize && e.Bar is not null && e.Size is not null)
            .Reverse()
            .Select(e => new BarResizeStep(PciAddress.Parse(e.Target), e.Bar!.Value, e.Size!.Value));

    private static PciAddress DisplayFunction(BindingPlan plan, HostInventory inventory, string owner)
    {
        var displays = plan.Functions.Select(f => inventory.Find(f.Address)!).Where(f => f.IsDisplay).ToList();
        return displays.Count == 1
            ? displays[0].Address
            : throw PassthroughException.Input(
                $"{owner}: <passthrough:bar> names no device and the VM has {displays.Count} display functions.",
                "Add device=\"DDDD:BB:SS.F\" to <passthrough:bar>.");
    }

    private static string Describe(IReadOnlyList<ResizableBar> bars) =>
        bars.Count == 0 ? "none" : string.Join(", ", bars.Select(b => $"BAR {b.Index}"));
}
