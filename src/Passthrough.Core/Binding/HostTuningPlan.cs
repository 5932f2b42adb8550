using System.Globalization;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Binding;

/// <summary>One size of hugepage pool (/sys/kernel/mm/hugepages/hugepages-SIZEkB): how many pages, how many free.</summary>
public sealed record HugepagePool(long PageKiB, long Total, long Free);

/// <summary>What the adapters read before host tuning: CPUs, the units' AllowedCPUs, the hugepage pools.</summary>
public sealed record HostTuningFacts
{
    /// <summary>/sys/devices/system/cpu/online.</summary>
    public CpuSet OnlineCpus { get; init; } = CpuSet.Empty;

    /// <summary>AllowedCPUs of each unit in <see cref="HostTuningPlan.HostUnits"/> (empty: no restriction).</summary>
    public IReadOnlyDictionary<string, CpuSet> AllowedCpus { get; init; } = new Dictionary<string, CpuSet>();

    public IReadOnlyList<HugepagePool> Pools { get; init; } = [];

    /// <summary>/proc/meminfo Hugepagesize.</summary>
    public long? DefaultPageKiB { get; init; }

    /// <summary>What the other journals say about CPU isolation (originals, CPUs other VMs hold).</summary>
    public IsolationLedger Ledger { get; init; } = IsolationLedger.None;

    public HostTuningFacts WithOnlineCpus(CpuSet cpus) => this with { OnlineCpus = cpus };

    public HostTuningFacts WithLedger(IsolationLedger ledger) => this with { Ledger = ledger };

    public HostTuningFacts WithAllowedCpus(IReadOnlyDictionary<string, CpuSet> allowed) => this with { AllowedCpus = allowed };

    public HostTuningFacts WithPools(IReadOnlyList<HugepagePool> pools) => this with { Pools = pools };
}

/// <summary>A step of host tuning (the engine hands all of them to one executor).</summary>
public abstract record HostTuningStep : HostStep;

/// <summary>SetUnitProperties(unit, runtime=true, AllowedCPUs=CPUS): the unit's processes run on these CPUs only (empty: all).</summary>
public sealed record AllowedCpusStep(string Unit, CpuSet Cpus) : HostTuningStep
{
    public override string ToString() => $"set AllowedCPUs of {Unit} to {(Cpus.IsEmpty ? "all CPUs" : Cpus.ToString())}";
}

/// <summary>
/// Compact memory, raise nr_hugepages of <see cref="PageKiB"/> pages to <see cref="Target"/>, and check what the
/// kernel gave (Documentation/admin-guide/mm/hugetlbpage.rst: it may find fewer than asked).
/// </summary>
public sealed record RaiseHugepagesStep(long PageKiB, long Target, long Needed, string Owner) : HostTuningStep
{
    public override string ToString() => $"raise {HostTuningPlan.PageName(PageKiB)} hugepages to {Target}";
}

/// <summary>Give back the pages a <see cref="RaiseHugepagesStep"/> added (never lowering below <see cref="Previous"/>).</summary>
public sealed record GiveBackHugepagesStep(long PageKiB, long Previous, long Raised) : HostTuningStep
{
    /// <summary>What to write when the pool has <paramref name="now"/> pages: ours off, what others added since kept, never more than now.</summary>
    public long TargetFrom(long now) => Math.Min(now, Math.Max(Previous, now - Raised));

    public override string ToString() => $"give back {Raised} {HostTuningPlan.PageName(PageKiB)} hugepages";
}

/// <summary>
/// The pure plan for what a VM asks of the host beyond its devices. At prepare: hugepages first (the step most
/// likely to fail, so it fails before anything else changed), then CPU isolation of the host's own units;
/// each step carries its journal entry. Restore gives them back in reverse.
/// </summary>
public static class HostTuningPlan
{
    /// <summary>The host's side of the cgroup tree (systemd.special(7)): everything but machine.slice, where VMs run.</summary>
    public static readonly IReadOnlyList<string> HostUnits = ["init.scope", "system.slice", "user.slice"];

    public static string PageName(long pageKiB) =>
        pageKiB % (1024 * 1024) == 0 ? $"{(pageKiB / (1024 * 1024)).ToString(CultureInfo.InvariantCulture)} GiB"
        : pageKiB % 1024 == 0 ? $"{(pageKiB / 1024).ToString(CultureInfo.InvariantCulture)} MiB"
        : $"{pageKiB.ToString(CultureInfo.InvariantCulture)} KiB";

    /// <summary>The CPUs the host keeps: each unit's AllowedCPUs (all online when unrestricted) without the VM's.</summary>
    public static CpuSet HostCpus(CpuSet allowed, CpuSet online, CpuSet vm) =>
        (allowed.IsEmpty ? online : allowed.Intersect(online)).Except(vm);

    /// <summary>Checks the VM's CPUs against the host before anything changes; the input errors of isolation.</summary>
    public static void CheckIsolation(CpuIsolation isolation, CpuSet online, string owner)
    {
        var missing = isolation.VmCpus.Except(online);
        if (!online.IsEmpty && !missing.IsEmpty)
        {
            throw PassthroughException.Input(
                $"{owner}: <passthrough:isolate cpus=\"{(isolation.Auto ? "auto" : isolation.VmCpus.ToString())}\"> names CPU {missing}, which this host does not have (online: {online}).",
                $"Name CPUs of this host (see `lscpu` or /sys/devices/system/cpu/online){(isolation.Auto ? " in the <vcpupin cpuset>s" : string.Empty)}.");
        }

        if (!online.IsEmpty && online.Except(isolation.VmCpus).IsEmpty)
        {
            throw PassthroughException.Input(
                $"{owner}: <passthrough:isolate> gives the VM every CPU ({online}): the host would have none left to run on.",
                "Leave at least one core to the host (the emulator and I/O threads run there too), or remove <passthrough:isolate>.");
        }
    }

    /// <summary>The prepare steps for <paramref name="tuning"/> on a host with <paramref name="facts"/>.</summary>
    public static IReadOnlyList<HostStep> Build(VmTuning tuning, HostTuningFacts facts, string owner)
    {
        var steps = new List<HostStep>();
        if (tuning.Hugepages is { } hugepages)
        {
            steps.AddRange(Hugepages(hugepages, facts, owner));
        }

        if (tuning.Isolation is { } isolation)
        {
            CheckIsolation(isolation, facts.OnlineCpus, owner);
            var ledger = facts.Ledger with { OnlineCpus = facts.OnlineCpus };
            var held = ledger.Held.Union(isolation.VmCpus);
            foreach (var unit in HostUnits)
            {
                var before = facts.AllowedCpus.GetValueOrDefault(unit, CpuSet.Empty);
                // The original, not what the unit has now: other VMs may have taken CPUs from it already.
                var original = ledger.OriginalOr(unit, before);
                var host = HostCpus(original, facts.OnlineCpus, held);
                if (host.IsEmpty)
                {
                    var others = ledger.Holds.Count == 0 ? string.Empty
                        : $" and the VMs running already hold ({string.Join(", ", ledger.Holds.Select(h => $"VM '{h.Owner}': {h.Cpus}"))})";
                    throw PassthroughException.Input(
                        $"{owner}: {unit} may only run on CPU {(original.IsEmpty ? facts.OnlineCpus : original)}, all of which <passthrough:isolate> gives the VM ({isolation.VmCpus}){others}.",
                        $"Leave the host a CPU of {unit}'s AllowedCPUs (`systemctl show -p AllowedCPUs {unit}`), or change the VM's CPUs{(others.Length == 0 ? string.Empty : ", or stop one of those VMs first")}.");
                }

                steps.Add(new AllowedCpusStep(unit, host)
                {
                    Records = new JournalEntry(JournalKind.CpuIsolation, unit)
                    {
                        Before = before.ToString(),
                        After = host.ToString(),
                        Original = original.ToString(),
                        Isolated = isolation.VmCpus.ToString(),
                    },
                });
            }
        }

        return steps;
    }

    /// <summary>
    /// Undoes a journal's tuning entries, after everything else: CPUs back to each unit, then the hugepages. Each
    /// unit gets its original minus what the journals in <paramref name="ledger"/> still hold (no ledger: no other
    /// VM holds any), so VMs that isolate CPUs at once may stop in any order.
    /// </summary>
    public static IReadOnlyList<HostStep> Restore(IReadOnlyList<JournalEntry> entries, IsolationLedger? ledger = null)
    {
        var steps = new List<HostStep>();
        var isolation = entries.Where(e => e.Kind == JournalKind.CpuIsolation).ToList();
        var held = ledger?.Held ?? CpuSet.Empty;
        steps.AddRange(isolation.Select(e => e.Target).Distinct(StringComparer.Ordinal).Reverse().Select(unit =>
        {
            // A unit set twice (a kept journal started again) has its original in the first entry.
            var own = IsolationLedger.OriginalOf(isolation.First(e => e.Target == unit)) ?? CpuSet.Empty;
            var original = ledger?.OriginalOr(unit, own) ?? own;
            return new AllowedCpusStep(unit, (ledger ?? IsolationLedger.None).AllowedFor(original, held));
        }));
        steps.AddRange(entries.Where(e => e.Kind == JournalKind.Hugepages).Reverse().Select(e =>
        {
            var size = long.Parse(e.Target, CultureInfo.InvariantCulture);
            var before = long.Parse(e.Before ?? "0", CultureInfo.InvariantCulture);
            var after = long.Parse(e.After ?? e.Before ?? "0", CultureInfo.InvariantCulture);
            return new GiveBackHugepagesStep(size, before, after - before);
        }));
        return steps;
    }

    private static IEnumerable<HostStep> Hugepages(HugepagesAllocation request, HostTuningFacts facts, string owner)
    {
        var size = request.PageKiB ?? facts.DefaultPageKiB ?? throw PassthroughException.Host(
            $"{owner}: <passthrough:hugepages allocate=\"yes\"> but this kernel shows no default hugepage size (no Hugepagesize in /proc/meminfo).",
            "Use a kernel with CONFIG_HUGETLBFS, or name the size in the domain: <memoryBacking><hugepages><page size='2' unit='M'/>.");
        var pool = facts.Pools.FirstOrDefault(p => p.PageKiB == size) ?? throw PassthroughException.Input(
            $"{owner}: the domain asks for {PageName(size)} hugepages, which this host does not offer (no /sys/kernel/mm/hugepages/hugepages-{size.ToString(CultureInfo.InvariantCulture)}kB; sizes: {string.Join(", ", facts.Pools.Select(p => PageName(p.PageKiB)))}).",
            "Use a size the CPU has (1 GiB pages need the pdpe1gb CPU flag): <page size='2' unit='M'/> works everywhere on x86.");
        var needed = request.PagesOf(size);
        if (pool.Free >= needed)
        {
            yield break;
        }

        var target = pool.Total + (needed - pool.Free);
        yield return new RaiseHugepagesStep(size, target, needed, owner)
        {
            Records = new JournalEntry(JournalKind.Hugepages, size.ToString(CultureInfo.InvariantCulture))
            {
                Before = pool.Total.ToString(CultureInfo.InvariantCulture),
                After = target.ToString(CultureInfo.InvariantCulture),
            },
        };
    }
}
