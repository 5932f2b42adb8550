namespace Passthrough.Host;

/// <summary>The kind of core on a hybrid CPU (Intel: /sys/devices/cpu_core/cpus and /sys/devices/cpu_atom/cpus).</summary>
public enum CoreKind
{
    /// <summary>Not a hybrid CPU, or not said.</summary>
    Uniform,

    /// <summary>An Intel P-core (cpu_core).</summary>
    Performance,

    /// <summary>An Intel E-core (cpu_atom).</summary>
    Efficiency,
}

/// <summary>A last-level (L3) cache and the CPUs sharing it: on AMD one CCD (cache/index3/shared_cpu_list, size).</summary>
public sealed record L3Cache(CpuSet Cpus, long? SizeKiB);

/// <summary>One online logical CPU as /sys/devices/system/cpu/cpuN/topology shows it.</summary>
public sealed record HostCpu(int Id, int Package, int Die, int CoreId, CpuSet Siblings)
{
    public L3Cache? L3 { get; init; }

    public CoreKind Kind { get; init; }

    public HostCpu WithL3(L3Cache? l3) => this with { L3 = l3 };

    public HostCpu WithKind(CoreKind kind) => this with { Kind = kind };
}

/// <summary>A physical core: its online SMT siblings (thread_siblings_list / core_cpus_list).</summary>
public sealed record HostCore(CpuSet Cpus, int Package, CoreKind Kind, L3Cache? L3)
{
    public int Threads => Cpus.Count;

    public override string ToString() => Cpus.ToString();
}

/// <summary>The host's online CPUs grouped into cores and L3 cache domains.</summary>
public sealed class HostCpuTopology
{
    public HostCpuTopology(IEnumerable<HostCpu> cpus)
    {
        Cpus = [.. cpus.OrderBy(c => c.Id)];
        Online = CpuSet.Of(Cpus.Select(c => c.Id));

        // A core is its set of siblings, restricted to online CPUs (an offline sibling cannot run a vCPU).
        Cores = [.. Cpus
            .GroupBy(c => c.Siblings.Intersect(Online).Union([c.Id]))
            .Select(g => new HostCore(g.Key, g.First().Package, g.First().Kind, g.First().L3))
            .DistinctBy(c => c.Cpus)
            .OrderBy(c => c.Cpus.First)];
    }

    public IReadOnlyList<HostCpu> Cpus { get; }

    public IReadOnlyList<HostCore> Cores { get; }

    public CpuSet Online { get; }

    /// <summary>Whether some core runs more than one thread.</summary>
    public bool Smt => Cores.Any(c => c.Threads > 1);

    /// <summary>The core a CPU belongs to, or null when the CPU is not online here.</summary>
    public HostCore? CoreOf(int cpu) => Cores.FirstOrDefault(c => c.Cpus.Contains(cpu));

    /// <summary>The distinct L3 sizes (two on an X3D part with one stacked-cache CCD).</summary>
    public IReadOnlyList<long> L3Sizes => [.. Cores.Select(c => c.L3?.SizeKiB).OfType<long>().Distinct().Order()];
}
