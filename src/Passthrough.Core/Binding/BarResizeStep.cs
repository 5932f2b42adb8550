using System.Globalization;
using Passthrough.Domain;
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

/// <summary>One BAR request checked against the host: the function and BAR it resizes, or why not (the message and what to do).</summary>
public sealed record BarCheck(BarRequest Request, PciFunction? Function, ResizableBar? Bar, string? Problem, string? Remedy)
{
    /// <summary>True when the host did not let us tell (the BARs need root to read), not that the request is wrong.</summary>
    public bool Unknown { get; init; }

    internal static BarCheck Refused(BarRequest request, PciFunction? function, string problem, string remedy) =>
        new(request, function, null, problem, remedy);
}

/// <summary>The pure rules for VM BAR sizes: checked against the card before anything changes, placed between unbind and probe, undone from the journal.</summary>
public static class BarResizePlan
{
    /// <summary>
    /// The resize steps for <paramref name="requests"/>, each checked by <see cref="Check"/> and then that the
    /// function is not on vfio-pci yet. Sizes already set need no step. Throws an input error (nothing changed yet) otherwise.
    /// </summary>
    public static IReadOnlyList<BarResizeStep> Resolve(IReadOnlyList<BarRequest> requests, HostInventory inventory, BindingPlan plan, string owner)
    {
        var steps = new List<BarResizeStep>();
        var passed = plan.Functions.Select(f => inventory.Find(f.Address)!).ToList();
        foreach (var request in requests)
        {
            var check = Check(request, passed, owner);
            if (check.Problem is not null)
            {
                throw PassthroughException.Input(check.Problem, check.Remedy);
            }

            var device = check.Function!.Address;
            if (plan.Functions.First(f => f.Address == device).AlreadyBound)
            {
                throw PassthroughException.Input(
                    $"{owner}: {device} is already on vfio-pci, and a BAR can only be resized while no driver is bound.",
                    "Give it back first (`passthrough unbind`), or leave <passthrough:bar> out for a device bound at boot.");
            }

            if (check.Bar!.Current != request.Bytes)
            {
                steps.Add(new BarResizeStep(device, request.Index, request.Bytes)
                {
                    Records = new JournalEntry(JournalKind.BarSize, device.ToString(), Bar: request.Index, Size: check.Bar.Current),
                });
            }
        }

        return steps;
    }

    /// <summary>
    /// The one rule for a VM's BAR size, which the hook (<see cref="Resolve"/>), `xml lint` and doctor apply: the
    /// function is one the VM passes (no device: its one display function), it has a resizable BAR at that index,
    /// and the card offers the size (PCIe Base spec 7.8.6; the kernel refuses any other size).
    /// </summary>
    /// <param name="passed">The host's functions the VM passes (hostdevs and &lt;passthrough:device&gt;).</param>
    /// <param name="owner">Who asks ("VM 'win11'", "vm.xml:12"), the start of each message.</param>
    public static BarCheck Check(BarRequest request, IReadOnlyList<PciFunction> passed, string owner)
    {
        PciFunction function;
        if (request.Device is { } named)
        {
            if (passed.FirstOrDefault(f => f.Address == named) is not { } found)
            {
                return BarCheck.Refused(request, null, $"{owner}: <passthrough:bar device=\"{named}\"> is not one of the VM's devices.", "Name one of the VM's <hostdev> functions, or leave device= out for its GPU.");
            }

            function = found;
        }
        else
        {
            var displays = passed.Where(f => f.IsDisplay).ToList();
            if (displays.Count != 1)
            {
                return BarCheck.Refused(request, null, $"{owner}: <passthrough:bar> names no device and the VM has {displays.Count} display functions.", "Add device=\"DDDD:BB:SS.F\" to <passthrough:bar>.");
            }

            function = displays[0];
        }

        var device = function.Address;
        if (function.ResizableBars is null)
        {
            return BarCheck.Refused(request, function, $"{owner}: cannot read the resizable BARs of {device} (its extended config space needs root).", "Run `passthrough list --all` as root and fix <passthrough:bar index=...> by the BARs it shows.") with { Unknown = true };
        }

        if (function.ResizableBars.FirstOrDefault(b => b.Index == request.Index) is not { } bar)
        {
            return BarCheck.Refused(request, function, $"{owner}: {device} has no resizable BAR {request.Index} (resizable: {Describe(function.ResizableBars)}).", "Check `passthrough list --all` as root (`--json`: resizableBars) and fix <passthrough:bar index=...>.");
        }

        if (!bar.Offers(request.Bytes))
        {
            return BarCheck.Refused(request, function, $"{owner}: {device} BAR {request.Index} does not offer {ResizableBar.Describe(request.Bytes)} (it offers {string.Join(", ", bar.Supported.Select(ResizableBar.Describe))}).", "Set <passthrough:bar size=...> to one of those sizes.");
        }

        return new BarCheck(request, function, bar, null, null);
    }

    /// <summary>
    /// Whether the hook resizes BARs in <paramref name="mode"/>: not in static mode, where the functions are on
    /// vfio-pci from boot and the kernel resizes a BAR only while no driver is bound (drivers/pci/pci-sysfs.c).
    /// </summary>
    public static bool AppliesIn(PassthroughMode mode) => mode != PassthroughMode.Static;

    /// <summary>What static mode does with &lt;passthrough:bar&gt; (nothing), for the hook's log and lint's warning.</summary>
    public static string NotAppliedInStatic(string owner, IEnumerable<BarRequest> bars) =>
        $"{owner}: <passthrough:bar> ({string.Join(", ", bars.Select(b => $"BAR {b.Index} {ResizableBar.Describe(b.Bytes)}"))}) is not applied in mode=\"static\": the functions are on vfio-pci from boot and a BAR can only be resized while no driver is bound.";

    /// <summary>What to do about <see cref="NotAppliedInStatic"/>.</summary>
    public const string StaticRemedy =
        "Use mode=\"dynamic\" (`passthrough xml set FILE --passthrough-mode dynamic`) so the hook resizes the BAR before vfio-pci binds, or set the size at boot (the firmware's Resizable BAR setting) and remove <passthrough:bar>.";

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

    private static string Describe(IReadOnlyList<ResizableBar> bars) =>
        bars.Count == 0 ? "none" : string.Join(", ", bars.Select(b => $"BAR {b.Index}"));
}
