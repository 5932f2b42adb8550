using System.Globalization;
using Passthrough.Adapters.Sysfs;
using Passthrough.Adapters.Systemd;
using Passthrough.Binding;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Adapters.Binding;

/// <summary>
/// Reads what <see cref="HostTuningPlan"/> needs: online CPUs, the hugepage pools
/// (Documentation/admin-guide/mm/hugetlbpage.rst), and, only when the VM asks for isolation, the host
/// units' AllowedCPUs from systemd.
/// </summary>
public sealed class HostTuningFactsReader(HostRoot root)
{
    public const string PoolsDirectory = "/sys/kernel/mm/hugepages";

    public static string PoolFile(long pageKiB, string file) =>
        $"{PoolsDirectory}/hugepages-{pageKiB.ToString(CultureInfo.InvariantCulture)}kB/{file}";

    public async Task<HostTuningFacts> ReadAsync(VmTuning tuning, Func<ISystemdManager> systemd, string owner, CancellationToken cancellationToken)
    {
        var online = OnlineCpus();
        var facts = new HostTuningFacts
        {
            OnlineCpus = online,
            DefaultPageKiB = SysfsFiles.ReadText(root.Path("/proc/meminfo")) is { } meminfo && MemInfo.Parse(meminfo).TryGetValue("Hugepagesize", out var size) && size > 0 ? size : null,
            Pools = tuning.Hugepages is null ? [] : ReadPools(),
        };

        if (tuning.Isolation is not { } isolation)
        {
            return facts;
        }

        // Checked before systemd is asked anything: a list naming CPUs the host lacks changes nothing.
        HostTuningPlan.CheckIsolation(isolation, online, owner);
        using var manager = systemd();
        var allowed = new Dictionary<string, CpuSet>(StringComparer.Ordinal);
        foreach (var unit in HostTuningPlan.HostUnits)
        {
            allowed[unit] = await manager.GetAllowedCpusAsync(unit, cancellationToken).ConfigureAwait(false);
        }

        return facts.WithAllowedCpus(allowed);
    }

    /// <summary>/sys/devices/system/cpu/online (empty when unreadable).</summary>
    public CpuSet OnlineCpus() => CpuSet.TryParse(SysfsFiles.ReadLine(root.Path("/sys/devices/system/cpu/online")), out var cpus) ? cpus : CpuSet.Empty;

    /// <summary>
    /// What every journal says about CPU isolation, as the journals in <paramref name="excluding"/> see it (the one
    /// being started or given back). Read under the host lock, so no other VM's start or stop changes it meanwhile.
    /// </summary>
    public IsolationLedger ReadLedger(JournalStore journals, IReadOnlyCollection<string> excluding) =>
        IsolationLedger.From(journals.All(), excluding, OnlineCpus());

    /// <summary>Every hugepage size the kernel offers, with its reserved and free pages.</summary>
    public IReadOnlyList<HugepagePool> ReadPools()
    {
        var pools = new List<HugepagePool>();
        foreach (var name in SysfsFiles.Names(root.Path(PoolsDirectory)))
        {
            if (name.StartsWith("hugepages-", StringComparison.Ordinal) && name.EndsWith("kB", StringComparison.Ordinal)
                && long.TryParse(name["hugepages-".Length..^2], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                pools.Add(new HugepagePool(size, SysfsFiles.ReadInt(root.Path(PoolFile(size, "nr_hugepages"))) ?? 0, SysfsFiles.ReadInt(root.Path(PoolFile(size, "free_hugepages"))) ?? 0));
            }
        }

        return pools;
    }
}

/// <summary>Carries out <see cref="HostTuningStep"/>s: AllowedCPUs over D-Bus, nr_hugepages through the time-bounded sysfs writer.</summary>
internal sealed class HostTuningExecutor(HostRoot root, IDriverBinder binder, Func<ISystemdManager> systemd)
{
    private const string CompactMemory = "/proc/sys/vm/compact_memory";

    public Task ExecuteAsync(HostTuningStep step, CancellationToken cancellationToken) => step switch
    {
        AllowedCpusStep cpus => systemd().SetAllowedCpusAsync(cpus.Unit, cpus.Cpus, cancellationToken),
        RaiseHugepagesStep raise => Task.Run(() => Raise(raise), cancellationToken),
        GiveBackHugepagesStep giveBack => Task.Run(() => GiveBack(giveBack), cancellationToken),
        _ => throw new InvalidOperationException($"No executor for {step.GetType().Name}."),
    };

    private void Raise(RaiseHugepagesStep step)
    {
        var nr = HostTuningFactsReader.PoolFile(step.PageKiB, "nr_hugepages");
        var name = HostTuningPlan.PageName(step.PageKiB);

        // Free memory in contiguous blocks first, so the kernel finds more large pages (Documentation/admin-guide/sysctl/vm.rst).
        if (File.Exists(root.Path(CompactMemory)))
        {
            binder.WriteAttribute(CompactMemory, "1", "compact memory");
        }

        binder.WriteAttribute(nr, step.Target.ToString(CultureInfo.InvariantCulture), $"raise the {name} hugepages to {step.Target}");
        var now = Count(nr);
        if (now < step.Target)
        {
            var @short = step.Target - now;
            throw PassthroughException.Failure(
                $"{step.Owner} needs {step.Needed} hugepages of {name} but the kernel found only {now} of the {step.Target} asked for: {@short} short (memory too fragmented or too small).",
                $"Reserve them at boot, when memory is not fragmented: `passthrough setup apply --hugepages {step.Needed} --hugepage-size {SetupSize(step.PageKiB)}` adds hugepagesz={SetupSize(step.PageKiB)} hugepages={step.Needed} to the kernel command line; or free memory and start again.");
        }
    }

    private void GiveBack(GiveBackHugepagesStep step)
    {
        var nr = HostTuningFactsReader.PoolFile(step.PageKiB, "nr_hugepages");
        var now = Count(nr);
        var target = step.TargetFrom(now);
        if (target != now)
        {
            binder.WriteAttribute(nr, target.ToString(CultureInfo.InvariantCulture), $"give back {now - target} {HostTuningPlan.PageName(step.PageKiB)} hugepages");
        }
    }

    private long Count(string hostPath) => SysfsFiles.ReadInt(root.Path(hostPath)) ?? throw PassthroughException.Host(
        $"Cannot read {hostPath}.", "Check that the kernel has hugetlbfs (CONFIG_HUGETLBFS) and that you are root.");

    private static string SetupSize(long pageKiB) => pageKiB >= 1024 * 1024 ? $"{pageKiB / (1024 * 1024)}G" : $"{pageKiB / 1024}M";
}
