using Passthrough.Host;

namespace Passthrough.Binding;

/// <summary>The CPUs one journal still keeps from the host (<see cref="Owner"/>: the VM, for messages).</summary>
public sealed record IsolationHold(string Owner, CpuSet Cpus);

/// <summary>
/// CPU isolation shared by VMs that run at once, read from all the journals. Each host unit's AllowedCPUs is
/// always its original (before any VM isolated CPUs) minus the CPUs of every journal still active, so VMs may
/// stop in any order: a stopping VM gives back only the CPUs no other VM holds, and the last one puts the
/// original back exactly as it was ("" = all CPUs). Every isolating journal carries the original, so it
/// survives the VM that read it first.
/// </summary>
public sealed record IsolationLedger
{
    public static IsolationLedger None { get; } = new();

    /// <summary>Each unit's AllowedCPUs before any VM isolated CPUs (empty: all CPUs), as the journals recorded it.</summary>
    public IReadOnlyDictionary<string, CpuSet> Originals { get; init; } = new Dictionary<string, CpuSet>(StringComparer.Ordinal);

    /// <summary>The CPUs the other active journals keep from the host.</summary>
    public IReadOnlyList<IsolationHold> Holds { get; init; } = [];

    /// <summary>/sys/devices/system/cpu/online: what "all CPUs" means when an original is empty.</summary>
    public CpuSet OnlineCpus { get; init; } = CpuSet.Empty;

    /// <summary>The union of <see cref="Holds"/>.</summary>
    public CpuSet Held => Holds.Aggregate(CpuSet.Empty, (all, hold) => all.Union(hold.Cpus));

    /// <summary>
    /// A journal holds its CPUs while its VM may run: preparing (a start under way, or one that crashed and awaits
    /// `restore`), prepared, kept (keep-on-vfio keeps everything until `restore`). Restoring: being given back.
    /// </summary>
    public static bool Holding(BindingJournal journal) =>
        journal.State is BindingJournal.Preparing or BindingJournal.Prepared or BindingJournal.Kept;

    /// <summary>
    /// The ledger seen by the journals in <paramref name="excluding"/> (the one being started or given back):
    /// originals from every journal (the earliest started first: an older journal's Before is the original),
    /// holds from the other active ones.
    /// </summary>
    public static IsolationLedger From(IEnumerable<BindingJournal> journals, IReadOnlyCollection<string> excluding, CpuSet online)
    {
        var ordered = journals.OrderBy(j => j.Started).ThenBy(j => j.Id, StringComparer.Ordinal).ToList();
        var originals = new Dictionary<string, CpuSet>(StringComparer.Ordinal);
        foreach (var entry in ordered.SelectMany(j => j.Entries).Where(e => e.Kind == JournalKind.CpuIsolation))
        {
            if (!originals.ContainsKey(entry.Target) && OriginalOf(entry) is { } original)
            {
                originals[entry.Target] = original;
            }
        }

        var holds = ordered
            .Where(j => Holding(j) && !excluding.Contains(j.Id))
            .Select(j => new IsolationHold(j.Owner.Name, IsolatedBy(j.Entries, online)))
            .Where(h => !h.Cpus.IsEmpty)
            .ToList();
        return new IsolationLedger { Originals = originals, Holds = holds, OnlineCpus = online };
    }

    /// <summary>
    /// The CPUs a journal's entries take from the host. A unit set twice (a kept journal started again) counts with
    /// its last entry: that is what the unit has now. Older journals lack Isolated: each entry's Before minus After.
    /// </summary>
    public static CpuSet IsolatedBy(IEnumerable<JournalEntry> entries, CpuSet online) =>
        entries.Where(e => e.Kind == JournalKind.CpuIsolation).GroupBy(e => e.Target, StringComparer.Ordinal).Aggregate(CpuSet.Empty, (all, unit) =>
            unit.Last().Isolated is { } isolated
                ? (CpuSet.TryParse(isolated, out var cpus) ? all.Union(cpus) : all)
                : unit.Aggregate(all, (sum, e) =>
                    CpuSet.TryParse(e.Before ?? string.Empty, out var before) && CpuSet.TryParse(e.After ?? string.Empty, out var after) && !after.IsEmpty
                        ? sum.Union(Available(before, online).Except(after))
                        : sum));

    /// <summary>The unit's AllowedCPUs before any isolation as an entry recorded it: Original, or Before in older journals.</summary>
    public static CpuSet? OriginalOf(JournalEntry entry) => CpuSet.TryParse(entry.Original ?? entry.Before ?? string.Empty);

    /// <summary>The original of <paramref name="unit"/>, or <paramref name="current"/> when no journal recorded one (no VM isolated it yet).</summary>
    public CpuSet OriginalOr(string unit, CpuSet current) => Originals.TryGetValue(unit, out var original) ? original : current;

    /// <summary>
    /// What a unit whose original is <paramref name="original"/> may run on while <paramref name="held"/> is isolated:
    /// the original itself when nothing is (byte for byte, "" = all CPUs stays ""), otherwise its CPUs minus the held
    /// ones. Never an empty set, which systemd reads as "all CPUs": should that ever come out (CPUs went offline),
    /// the original is the safe answer.
    /// </summary>
    public CpuSet AllowedFor(CpuSet original, CpuSet held)
    {
        if (held.IsEmpty)
        {
            return original;
        }

        var allowed = Available(original, OnlineCpus).Except(held);
        return allowed.IsEmpty ? original : allowed;
    }

    /// <summary>The CPUs an AllowedCPUs value lets a unit use: empty means every online CPU.</summary>
    private static CpuSet Available(CpuSet allowed, CpuSet online) =>
        allowed.IsEmpty ? online : online.IsEmpty ? allowed : allowed.Intersect(online);
}
