using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Binding;

/// <summary>One function a journal moved: the driver it should be on now against the kernel's.</summary>
public sealed record DeviceStatus(PciAddress Address, string Expected, string? Current, string? HostDriver, bool Ok);

/// <summary>One journal against the kernel: prepared and every function on vfio-pci is healthy.</summary>
public sealed record JournalStatus(BindingJournal Journal, IReadOnlyList<DeviceStatus> Devices, IReadOnlyList<string> Released)
{
    public bool Prepared => Journal.State == BindingJournal.Prepared;

    /// <summary>Stopped with keep-on-vfio: the functions stay on vfio-pci on purpose.</summary>
    public bool Kept => Journal.State == BindingJournal.Kept;

    public bool Healthy => (Prepared || Kept) && Devices.All(d => d.Ok);
}

/// <summary>
/// The verdict of `passthrough status`: each journal's functions against the inventory, and the
/// functions on vfio-pci that no journal accounts for (bound at boot or by hand; not a fault).
/// </summary>
public sealed record BindingStatus(IReadOnlyList<JournalStatus> Journals, IReadOnlyList<PciAddress> VfioOutsidePassthrough)
{
    /// <summary>Every journal prepared and the kernel agreeing; a start or stop that did not finish is not.</summary>
    public bool Healthy => Journals.All(j => j.Healthy);

    public static BindingStatus Of(IReadOnlyList<BindingJournal> journals, HostInventory inventory)
    {
        var statuses = journals.Select(j => new JournalStatus(
            j,
            [.. j.FunctionStates().Select(f =>
            {
                // Prepared: the VM expects vfio-pci. Preparing or restoring: a start or stop did not finish.
                // Kept (keep-on-vfio): the VM is off but vfio-pci keeps them. A VFIO variant driver counts as vfio.
                var function = inventory.Find(f.Address);
                var now = function?.Driver;
                return new DeviceStatus(f.Address, BindingPlan.VfioDriver, now, f.Driver, j.State is BindingJournal.Prepared or BindingJournal.Kept && function?.IsVfioBound == true);
            })],
            [.. j.Entries.Where(e => e.Kind != JournalKind.Function).Select(e => $"{Label(e.Kind)} {e.Target}")])).ToList();
        var recorded = journals.SelectMany(j => j.FunctionStates()).Select(f => f.Address).ToHashSet();
        var outside = inventory.Functions.Where(f => f.IsVfioBound && !recorded.Contains(f.Address)).Select(f => f.Address).ToList();
        return new BindingStatus(statuses, outside);
    }

    private static string Label(JournalKind kind) => kind switch
    {
        JournalKind.DisplayManager => "display manager",
        JournalKind.StoppedUnit => "unit",
        JournalKind.VtConsole => "console",
        JournalKind.Framebuffer => "framebuffer",
        JournalKind.Module => "module",
        JournalKind.CpuIsolation => "AllowedCPUs of",
        JournalKind.Hugepages => "hugepages raised, page size kB",
        _ => kind.ToString(),
    };
}
