using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Domain;

/// <summary>
/// What `--pin` asks: auto (plan from the topology) or an explicit CPU list, how many cores the host keeps
/// (its first N cores, CPU 0's first; the emulator and I/O threads run there), and whether an explicit list
/// may split a core's SMT siblings between the guest and the host.
/// </summary>
public sealed record CpuPinRequest(HostCpuTopology Host)
{
    /// <summary>The explicit CPU list (`--pin 2-7,10-15`); null plans automatically (`--pin auto`).</summary>
    public CpuSet? Cpus { get; init; }

    /// <summary>`--host-cores N`: cores the host keeps (default 1).</summary>
    public int HostCores { get; init; } = 1;

    /// <summary>`--allow-split-smt`: an explicit list may take one thread of a core and leave its sibling.</summary>
    public bool AllowSplitSmt { get; init; }

    /// <summary>/proc/cpuinfo `vendor_id` of the host (GenuineIntel, AuthenticAMD), null when unknown.</summary>
    public string? HostCpuVendor { get; init; }

    /// <summary>
    /// An AMD (or Zen-based Hygon) host: a guest shown threads per core needs topoext to see them as SMT siblings
    /// (QEMU reports AMD thread topology in CPUID leaf 0x8000001E, which exists only with topoext).
    /// </summary>
    public bool AmdHost => CpuInfo.IsAmdVendor(HostCpuVendor);

    public CpuPinRequest WithCpus(CpuSet? cpus) => this with { Cpus = cpus };

    public CpuPinRequest WithHostCores(int cores) => this with { HostCores = cores };

    public CpuPinRequest WithAllowSplitSmt(bool allow) => this with { AllowSplitSmt = allow };

    public CpuPinRequest WithHostCpuVendor(string? vendor) => this with { HostCpuVendor = vendor };
}

/// <summary>
/// Where each vCPU runs: <see cref="Vcpus"/>[i] is the host CPU of vCPU i; the emulator and I/O threads
/// run on <see cref="HostCpus"/>; <see cref="Topology"/> is what the guest is told.
/// </summary>
public sealed record PinPlan(IReadOnlyList<int> Vcpus, CpuSet HostCpus, CpuTopology Topology)
{
    public CpuSet GuestCpus => CpuSet.Of(Vcpus);
}

/// <summary>
/// Plans CPU pinning from the host's real topology. Rules (the usual VFIO tuning, and what libvirt's
/// formatdomain.html#cpu-tuning and #cpu-model-and-topology take):
/// <list type="bullet">
/// <item>vCPUs 2k and 2k+1 are one core's two SMT siblings, and the guest is told threads=2 (QEMU numbers
/// threads innermost), so the guest's scheduler sees the sharing that is really there;</item>
/// <item>the host keeps its first N cores (CPU 0's core first: the boot CPU does housekeeping that cannot
/// be moved off it); no vCPU runs there, the emulator and I/O threads run only there;</item>
/// <item>all vCPUs share one L3 cache domain (an AMD CCD) when they fit in one; among those that fit,
/// P-cores before E-cores (Intel hybrid) and the larger cache before the smaller (X3D), else the lowest;</item>
/// <item>when they fit in no single domain, the domains are filled in that same order.</item>
/// </list>
/// </summary>
public static class PinPlanner
{
    /// <summary>The cores the host keeps: the first <paramref name="hostCores"/> by CPU number.</summary>
    public static IReadOnlyList<HostCore> HostKept(HostCpuTopology host, int hostCores)
    {
        if (hostCores < 1 || hostCores >= host.Cores.Count)
        {
            throw PassthroughException.Input(
                $"--host-cores {hostCores}: this host has {host.Cores.Count} cores; the host must keep at least 1 and leave at least 1 for the VM.",
                $"Give 1 to {host.Cores.Count - 1} (the default, 1, keeps CPU 0's core: {host.Cores[0]}).");
        }

        return [.. host.Cores.Take(hostCores)];
    }

    /// <summary>Plans <paramref name="vcpus"/> vCPUs on the best cores the host does not keep.</summary>
    public static PinPlan Auto(CpuPinRequest request, int vcpus)
    {
        var host = request.Host;
        var kept = HostKept(host, request.HostCores);
        var free = host.Cores.Except(kept).ToList();
        var capacity = free.Sum(c => c.Threads);
        if (vcpus < 1 || vcpus > capacity)
        {
            throw PassthroughException.Input(
                $"{vcpus} vCPUs do not fit: this host has {host.Online.Count} CPUs in {host.Cores.Count} cores and keeps {Cores(request.HostCores)} (CPUs {CpuSet.Of(kept.SelectMany(c => c.Cpus))}) for itself, which leaves {capacity} for the VM.",
                request.HostCores > 1
                    ? $"Give at most {capacity} vCPUs, or keep fewer cores for the host with --host-cores."
                    : $"Give at most {capacity} vCPUs (the host and the emulator need a core of their own).");
        }

        var domains = free
            .GroupBy(c => (L3: c.L3?.Cpus.ToString() ?? string.Empty, c.Kind))
            .Select(g => g.ToList())
            .OrderBy(g => g[0].Kind == CoreKind.Efficiency ? 1 : 0)
            .ThenByDescending(g => g[0].L3?.SizeKiB ?? 0)
            .ThenBy(g => g[0].Cpus.First)
            .ToList();

        var chosen = domains.FirstOrDefault(d => d.Sum(c => c.Threads) >= vcpus) ?? [.. domains.SelectMany(d => d)];
        var vcpuCpus = new List<int>();
        var used = new List<(HostCore Core, int Taken)>();
        foreach (var core in chosen)
        {
            if (vcpuCpus.Count == vcpus)
            {
                break;
            }

            var take = Math.Min(core.Threads, vcpus - vcpuCpus.Count);
            vcpuCpus.AddRange(core.Cpus.Take(take));
            used.Add((core, take));
        }

        if (used.FirstOrDefault(u => u.Taken < u.Core.Threads) is { Core: not null } split)
        {
            var even = vcpus - 1;
            throw PassthroughException.Input(
                $"{vcpus} vCPUs: --pin auto puts vCPUs on whole cores ({split.Core.Threads} threads each here), and {vcpus} would leave CPU {split.Core.Cpus.Skip(split.Taken).First()} idle beside a vCPU on core {split.Core}.",
                $"Give an even number, e.g. {Math.Max(even, 2)} or {vcpus + 1} vCPUs, or name the CPUs with --pin LIST --allow-split-smt.");
        }

        return new PinPlan(vcpuCpus, CpuSet.Of(kept.SelectMany(c => c.Cpus)), TopologyOf(used));
    }

    /// <summary>Checks an explicit list and orders it core by core, siblings together.</summary>
    public static PinPlan Explicit(CpuPinRequest request, CpuSet cpus)
    {
        var host = request.Host;
        var option = $"--pin {cpus}";
        var missing = cpus.Except(host.Online);
        if (!missing.IsEmpty)
        {
            throw PassthroughException.Input(
                $"{option}: this host has no online {Cpus(missing)} (its CPUs are {host.Online}).",
                "Name CPUs this host has (`lscpu -e` lists them), or use --pin auto.");
        }

        var kept = HostKept(host, request.HostCores);
        var keptCpus = CpuSet.Of(kept.SelectMany(c => c.Cpus));
        var overlap = cpus.Intersect(keptCpus);
        if (!overlap.IsEmpty)
        {
            throw PassthroughException.Input(
                $"{option}: {Cpus(overlap)} {(overlap.Count == 1 ? "belongs" : "belong")} to the {Cores(kept.Count)} the host keeps for itself and the emulator (CPUs {keptCpus}, --host-cores {request.HostCores}).",
                $"Leave {overlap} out of the list (e.g. --pin {cpus.Except(keptCpus)}), or use --pin auto.");
        }

        var used = new List<(HostCore Core, int Taken)>();
        var vcpus = new List<int>();
        foreach (var core in host.Cores.Where(c => c.Cpus.Overlaps(cpus)))
        {
            var mine = core.Cpus.Intersect(cpus);
            if (mine.Count < core.Threads && !request.AllowSplitSmt)
            {
                var sibling = core.Cpus.Except(mine);
                throw PassthroughException.Input(
                    $"{option}: {Cpus(mine)} {(mine.Count == 1 ? "shares" : "share")} core {core} with {Cpus(sibling)}, which the list leaves to the host: they would compete for one core.",
                    $"Add {sibling} to the list or leave {mine} out, or pass --allow-split-smt to pin it anyway.");
            }

            vcpus.AddRange(mine);
            used.Add((core, mine.Count));
        }

        return new PinPlan(vcpus, keptCpus, TopologyOf(used));
    }

    /// <summary>
    /// threads=N when every used core gives the guest all its N threads (the guest then sees the real
    /// sharing); otherwise one thread per core (a split core or mixed P/E cores cannot be described).
    /// </summary>
    private static CpuTopology TopologyOf(List<(HostCore Core, int Taken)> used)
    {
        var vcpus = used.Sum(u => u.Taken);
        var threads = used.Select(u => u.Taken).Distinct().ToList();
        return threads.Count == 1 && used.All(u => u.Taken == u.Core.Threads)
            ? new CpuTopology(1, vcpus / threads[0], threads[0])
            : new CpuTopology(1, vcpus, 1);
    }

    private static string Cpus(CpuSet set) => (set.Count == 1 ? "CPU " : "CPUs ") + set;

    private static string Cores(int n) => n == 1 ? "1 core" : $"{n} cores";
}
