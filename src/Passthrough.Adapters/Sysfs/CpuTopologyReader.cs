using System.Globalization;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// Reads the host's CPU topology under a root (Documentation/admin-guide/cputopology.rst and
/// Documentation/ABI/testing/sysfs-devices-system-cpu): /sys/devices/system/cpu/online, each online
/// cpuN/topology/{physical_package_id,die_id,core_id,core_cpus_list|thread_siblings_list}, the L3 of
/// cpuN/cache/index*/ with level 3 (shared_cpu_list, size), and on Intel hybrid parts the P-/E-core lists
/// /sys/devices/cpu_core/cpus and /sys/devices/cpu_atom/cpus.
/// </summary>
public sealed class CpuTopologyReader(HostRoot root)
{
    private const string CpuDir = "/sys/devices/system/cpu";

    /// <summary>The topology; a host whose sysfs shows no CPU topology is an environment error (exit 3).</summary>
    public HostCpuTopology Read()
    {
        var onlineText = SysfsFiles.ReadLine(root.Path(CpuDir + "/online"));
        var online = CpuSet.TryParse(onlineText);
        if (online is null || online.IsEmpty)
        {
            throw PassthroughException.Host(
                $"Cannot read the CPU topology: {root.Path(CpuDir + "/online")} is missing or unreadable.",
                "Run on the host that runs the VM (or give --root a capture that has /sys/devices/system/cpu), or name the CPUs yourself with --pin LIST on a host that has them.");
        }

        var performance = CpuSet.TryParse(SysfsFiles.ReadLine(root.Path("/sys/devices/cpu_core/cpus")));
        var efficiency = CpuSet.TryParse(SysfsFiles.ReadLine(root.Path("/sys/devices/cpu_atom/cpus")));
        var cpus = new List<HostCpu>();
        foreach (var id in online)
        {
            var dir = root.Path($"{CpuDir}/cpu{id.ToString(CultureInfo.InvariantCulture)}");
            var topology = dir + "/topology";
            var siblings = CpuSet.TryParse(SysfsFiles.ReadLine(topology + "/core_cpus_list"))
                ?? CpuSet.TryParse(SysfsFiles.ReadLine(topology + "/thread_siblings_list"));
            var coreId = SysfsFiles.ReadInt(topology + "/core_id");
            if (siblings is null || coreId is null)
            {
                throw PassthroughException.Host(
                    $"Cannot read the topology of CPU {id}: {topology}/core_id or core_cpus_list is missing.",
                    "Run on the host that runs the VM, or name the CPUs yourself with --pin LIST.");
            }

            var kind = performance?.Contains(id) == true ? CoreKind.Performance
                : efficiency?.Contains(id) == true ? CoreKind.Efficiency
                : CoreKind.Uniform;
            cpus.Add(new HostCpu(id, SysfsFiles.ReadInt(topology + "/physical_package_id") ?? 0, SysfsFiles.ReadInt(topology + "/die_id") ?? 0, coreId.Value, siblings)
                .WithL3(ReadL3(dir + "/cache"))
                .WithKind(kind));
        }

        return new HostCpuTopology(cpus);
    }

    /// <summary>/proc/cpuinfo's first processor (vendor, flags); <see cref="CpuInfo.Empty"/> when it cannot be read.</summary>
    public CpuInfo CpuInfo() => Host.CpuInfo.Parse(SysfsFiles.ReadText(root.Path("/proc/cpuinfo")));

    /// <summary>
    /// The hugepage sizes this host offers: /sys/kernel/mm/hugepages/hugepages-NkB (the kernel lists every size
    /// the CPU supports there); without that directory, what /proc/cpuinfo says (2M with pse, 1G with pdpe1gb).
    /// </summary>
    public IReadOnlyList<HugepageSize> HugepageSizes()
    {
        var sizes = new List<HugepageSize>();
        foreach (var name in SysfsFiles.Names(root.Path("/sys/kernel/mm/hugepages")))
        {
            if (name.StartsWith("hugepages-", StringComparison.Ordinal) && name.EndsWith("kB", StringComparison.Ordinal)
                && long.TryParse(name.AsSpan(10, name.Length - 12), NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
            {
                sizes.Add(new HugepageSize(kib));
            }
        }

        if (sizes.Count > 0 || SysfsFiles.Exists(root.Path("/sys/kernel/mm/hugepages")))
        {
            return [.. sizes.OrderBy(s => s.KiB)];
        }

        var cpu = CpuInfo();
        if (cpu.HasFlag("pse"))
        {
            sizes.Add(HugepageSize.TwoMiB);
        }

        if (cpu.HasFlag("pdpe1gb"))
        {
            sizes.Add(HugepageSize.OneGiB);
        }

        return sizes;
    }

    private static L3Cache? ReadL3(string cacheDir)
    {
        foreach (var index in SysfsFiles.Names(cacheDir).Where(n => n.StartsWith("index", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var dir = cacheDir + "/" + index;
            if (SysfsFiles.ReadInt(dir + "/level") is 3 || (index == "index3" && !SysfsFiles.Exists(dir + "/level")))
            {
                var shared = CpuSet.TryParse(SysfsFiles.ReadLine(dir + "/shared_cpu_list"));
                return shared is null ? null : new L3Cache(shared, SizeKiB(SysfsFiles.ReadLine(dir + "/size")));
            }
        }

        return null;
    }

    /// <summary>"32768K" (the kernel writes cache sizes in K).</summary>
    private static long? SizeKiB(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var factor = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L, 'M' => 1024L, 'G' => 1024L * 1024, _ => 0L };
        var digits = factor == 0 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? (factor == 0 ? n / 1024 : n * factor) : null;
    }
}
