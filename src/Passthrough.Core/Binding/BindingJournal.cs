using System.Text.Json.Serialization;
using Passthrough.Domain;

namespace Passthrough.Binding;

/// <summary>What the engine changed, in the order it changed it; restore undoes it in reverse.</summary>
public enum JournalKind
{
    /// <summary>The display manager unit was stopped (started last on restore).</summary>
    DisplayManager,

    /// <summary>Another unit (nvidia-persistenced) was stopped.</summary>
    StoppedUnit,

    /// <summary>A framebuffer vtconsole was unbound (Target: vtconN).</summary>
    VtConsole,

    /// <summary>A platform framebuffer device was unbound (Target: device, Driver: its driver).</summary>
    Framebuffer,

    /// <summary>A module was unloaded (Target: module name).</summary>
    Module,

    /// <summary>A PCI function was moved to vfio-pci (Target: address; Driver/Override: the original).</summary>
    Function,

    /// <summary>
    /// A unit's AllowedCPUs was set (Target: unit; Before: its AllowedCPUs, "" = all; After: what was set;
    /// Original: the unit's AllowedCPUs before any VM's isolation; Isolated: the CPUs this VM takes from the host).
    /// </summary>
    CpuIsolation,

    /// <summary>nr_hugepages was raised (Target: page size in kB; Before: nr_hugepages before; After: what was asked).</summary>
    Hugepages,

    /// <summary>A BAR was resized (Target: address; Bar: its index; Size: the original size in bytes).</summary>
    BarSize,
}

/// <summary>One recorded change; written to the journal before the change is made.</summary>
public sealed record JournalEntry(JournalKind Kind, string Target, string? Driver = null, string? Override = null, int? Bar = null, long? Size = null)
{
    /// <summary>A setting's value before the change (host tuning entries); absent from older journals.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Before { get; init; }

    /// <summary>The value the change set (host tuning entries).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? After { get; init; }

    /// <summary>
    /// CPU isolation: the unit's AllowedCPUs before any VM isolated CPUs ("" = all), carried from journal to journal
    /// while VMs run at once (see <see cref="IsolationLedger"/>); absent from older journals (their Before stands in).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Original { get; init; }

    /// <summary>CPU isolation: the CPUs this VM takes from the host; absent from older journals (Before minus After stands in).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Isolated { get; init; }
}

/// <summary>
/// The state journal at ROOT/run/passthrough/ID.json (ID: the domain uuid, or bind-ADDRESS for
/// `passthrough bind`). /run is a tmpfs: a reboot forgets it, as it forgets the bindings.
/// </summary>
public sealed record BindingJournal
{
    public const string Preparing = "preparing";
    public const string Prepared = "prepared";
    public const string Restoring = "restoring";

    /// <summary>The VM stopped and its functions stay on vfio-pci (&lt;passthrough:release keep-on-vfio="yes"/&gt;);
    /// the next start reuses the journal, `restore`/`unbind` give them back.</summary>
    public const string Kept = "kept";

    public required string Id { get; init; }

    /// <summary>The VM (uuid and name) or a manual `passthrough bind`: a type, never a name to compare.</summary>
    public required JournalOwner Owner { get; init; }

    public required PassthroughMode Mode { get; init; }

    public string State { get; init; } = Preparing;

    public DateTimeOffset Started { get; init; }

    public IReadOnlyList<JournalEntry> Entries { get; init; } = [];

    public BindingJournal With(JournalEntry entry) => this with { Entries = [.. Entries, entry] };

    public BindingJournal WithState(string state) => this with { State = state };

    public IReadOnlyList<FunctionState> FunctionStates() =>
        [.. Entries.Where(e => e.Kind == JournalKind.Function)
            .Select(e => new FunctionState(Pci.PciAddress.Parse(e.Target), e.Driver, e.Override))];
}
