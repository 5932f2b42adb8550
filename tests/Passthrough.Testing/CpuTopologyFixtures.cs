using System.Globalization;
using Passthrough.Host;

namespace Passthrough.Testing;

/// <summary>
/// A group of identical cores sharing one L3 (an AMD CCD, Intel's P-cores or E-cores). Cores of clusters with
/// the same <see cref="L3Group"/> share one L3 (Intel hybrid: P- and E-cores share the ring's L3).
/// </summary>
public sealed record CpuCluster(int Cores, int Threads, long L3KiB, CoreKind Kind = CoreKind.Uniform, int? L3Group = null);

/// <summary>
/// CPU topology for <see cref="HostTreeBuilder"/>, laid out as the kernel does
/// (Documentation/admin-guide/cputopology.rst): /sys/devices/system/cpu/{online,possible,present}, each
/// cpuN/topology/{physical_package_id,die_id,core_id,core_cpus_list,thread_siblings_list}, cpuN/cache/index3
/// {level,type,size,shared_cpu_list}, /sys/devices/cpu_core/cpus and cpu_atom/cpus on hybrid parts, and
/// /sys/kernel/mm/hugepages/hugepages-NkB.
/// </summary>
public static class CpuTopologyFixtures
{
    /// <summary>
    /// The CPUs of <paramref name="clusters"/>, in order. <paramref name="adjacentSiblings"/>: Intel's hybrid
    /// numbering (a P-core's threads are CPUs 2k and 2k+1); otherwise AMD's and older Intel's (the first thread
    /// of every core, then the second threads: core 0 is CPUs 0 and 16 on a 16-core part).
    /// </summary>
    public static HostTreeBuilder CpuTopology(this HostTreeBuilder builder, bool adjacentSiblings, params CpuCluster[] clusters)
    {
        var cores = Layout(adjacentSiblings, clusters);
        var next = cores.Sum(c => c.Cpus.Count);
        var all = CpuSet.Of(Enumerable.Range(0, next));
        builder.File("/sys/devices/system/cpu/online", all + "\n");
        builder.File("/sys/devices/system/cpu/possible", all + "\n");
        builder.File("/sys/devices/system/cpu/present", all + "\n");
        var l3 = new Dictionary<int, CpuSet>();
        for (var c = 0; c < clusters.Length; c++)
        {
            var group = clusters[c].L3Group ?? c;
            var cpus = cores.Where(core => core.Cluster == c).SelectMany(core => core.Cpus);
            l3[group] = l3.TryGetValue(group, out var existing) ? existing.Union(cpus) : CpuSet.Of(cpus);
        }

        foreach (var core in cores)
        {
            var cluster = clusters[core.Cluster];
            var siblings = CpuSet.Of(core.Cpus) + "\n";
            var shared = l3[cluster.L3Group ?? core.Cluster] + "\n";
            foreach (var cpu in core.Cpus)
            {
                var dir = "/sys/devices/system/cpu/cpu" + cpu.ToString(CultureInfo.InvariantCulture);
                builder.File(dir + "/topology/physical_package_id", "0\n");
                builder.File(dir + "/topology/die_id", "0\n");
                builder.File(dir + "/topology/core_id", core.Core.ToString(CultureInfo.InvariantCulture) + "\n");
                builder.File(dir + "/topology/core_cpus_list", siblings);
                builder.File(dir + "/topology/thread_siblings_list", siblings);
                builder.File(dir + "/cache/index3/level", "3\n");
                builder.File(dir + "/cache/index3/type", "Unified\n");
                builder.File(dir + "/cache/index3/size", cluster.L3KiB.ToString(CultureInfo.InvariantCulture) + "K\n");
                builder.File(dir + "/cache/index3/shared_cpu_list", shared);
            }
        }

        if (clusters.Any(c => c.Kind != CoreKind.Uniform))
        {
            builder.File("/sys/devices/cpu_core/cpus", CpuSet.Of(cores.Where(c => clusters[c.Cluster].Kind == CoreKind.Performance).SelectMany(c => c.Cpus)) + "\n");
            builder.File("/sys/devices/cpu_atom/cpus", CpuSet.Of(cores.Where(c => clusters[c.Cluster].Kind == CoreKind.Efficiency).SelectMany(c => c.Cpus)) + "\n");
        }

        return builder;
    }

    /// <summary>The same topology as the core's model (what <c>CpuTopologyReader</c> should read from the tree).</summary>
    public static HostCpuTopology Model(bool adjacentSiblings, params CpuCluster[] clusters)
    {
        var cores = Layout(adjacentSiblings, clusters);
        var l3 = new Dictionary<int, CpuSet>();
        foreach (var core in cores)
        {
            var group = clusters[core.Cluster].L3Group ?? core.Cluster;
            l3[group] = l3.TryGetValue(group, out var existing) ? existing.Union(core.Cpus) : CpuSet.Of(core.Cpus);
        }

        return new HostCpuTopology(cores.SelectMany(core => core.Cpus.Select(cpu =>
        {
            var cluster = clusters[core.Cluster];
            return new HostCpu(cpu, 0, 0, core.Core, CpuSet.Of(core.Cpus))
                .WithL3(new L3Cache(l3[cluster.L3Group ?? core.Cluster], cluster.L3KiB))
                .WithKind(cluster.Kind);
        })));
    }

    /// <summary>(cluster index, core index in the whole CPU, the core's CPUs), numbered as the kernel does.</summary>
    private static List<(int Cluster, int Core, List<int> Cpus)> Layout(bool adjacentSiblings, CpuCluster[] clusters)
    {
        var cores = new List<(int Cluster, int Core, List<int> Cpus)>();
        var index = 0;
        for (var c = 0; c < clusters.Length; c++)
        {
            for (var k = 0; k < clusters[c].Cores; k++)
            {
                cores.Add((c, index++, []));
            }
        }

        var next = 0;
        if (adjacentSiblings)
        {
            foreach (var core in cores)
            {
                for (var t = 0; t < clusters[core.Cluster].Threads; t++)
                {
                    core.Cpus.Add(next++);
                }
            }
        }
        else
        {
            for (var t = 0; t < clusters.Max(c => c.Threads); t++)
            {
                foreach (var core in cores.Where(core => t < clusters[core.Cluster].Threads))
                {
                    core.Cpus.Add(next++);
                }
            }
        }

        return cores;
    }

    /// <summary>/sys/kernel/mm/hugepages/hugepages-NkB for each size (none allocated), as the kernel lists the sizes the CPU has.</summary>
    public static HostTreeBuilder HugepageSizes(this HostTreeBuilder builder, params long[] kib)
    {
        foreach (var size in kib)
        {
            var dir = $"/sys/kernel/mm/hugepages/hugepages-{size.ToString(CultureInfo.InvariantCulture)}kB";
            builder.File(dir + "/nr_hugepages", "0\n");
            builder.File(dir + "/free_hugepages", "0\n");
        }

        return builder;
    }
}

/// <summary>
/// Fixture hosts with real CPU topologies for `--pin`: a two-CCD X3D part, an Intel hybrid, a plain 8-core.
/// Registered in <see cref="FixtureHosts.All"/>; topology and cache sizes as the vendors document the parts.
/// </summary>
public static class CpuFixtureHosts
{
    /// <summary>7950X3D: CCD0 with 96 MiB stacked L3, CCD1 with 32 MiB; AMD numbering (core k is CPUs k and k+16).</summary>
    public static CpuCluster[] X3DClusters { get; } = [new(8, 2, 98304), new(8, 2, 32768)];

    /// <summary>13700K: 8 P-cores with HT (siblings adjacent), 8 E-cores, one 30 MiB L3.</summary>
    public static CpuCluster[] HybridClusters { get; } = [new(8, 2, 30720, CoreKind.Performance, L3Group: 0), new(8, 1, 30720, CoreKind.Efficiency, L3Group: 0)];

    /// <summary>5800X: 8 cores with SMT in one CCD (core k is CPUs k and k+8).</summary>
    public static CpuCluster[] EightCoreClusters { get; } = [new(8, 2, 32768)];

    public static HostCpuTopology X3D => CpuTopologyFixtures.Model(adjacentSiblings: false, X3DClusters);

    public static HostCpuTopology Hybrid => CpuTopologyFixtures.Model(adjacentSiblings: true, HybridClusters);

    public static HostCpuTopology EightCore => CpuTopologyFixtures.Model(adjacentSiblings: false, EightCoreClusters);

    /// <summary>
    /// Ryzen 9 7950X3D: 16 cores, 32 threads in two CCDs; CCD0 (CPUs 0-7,16-23) carries the stacked cache
    /// (96 MiB L3), CCD1 (8-15,24-31) has 32 MiB. An RTX 4090 on vfio-pci for the VM, the Radeon iGPU for the host.
    /// </summary>
    public static HostTreeBuilder Amd7950X3D() => new HostTreeBuilder()
        .Describe("A Ryzen 9 7950X3D desktop (two CCDs: 96 MiB stacked L3 on CCD0, 32 MiB on CCD1) with an RTX 4090 for the VM.")
        .Describe("CPU topology and cache sizes as AMD documents the part; PCI devices plausible for an X670E board.")
        .Amd("AMD Ryzen 9 7950X3D 16-Core Processor", cores: 16, threads: 32)
        .CpuTopology(adjacentSiblings: false, X3DClusters)
        .HugepageSizes(2048, 1048576)
        .Kernel("6.12.10-200.fc41.x86_64")
        .Cmdline("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.12.10-200.fc41.x86_64 root=UUID=2d7c5a61-0b3e-4f58-9e7d-6a1c3b8f4e20 ro amd_iommu=on iommu=pt vfio-pci.ids=10de:2684,10de:22ba")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_amd", "kvm", "amdgpu", "nvme")
        .Dmi("ASUSTeK COMPUTER INC.", "ROG STRIX X670E-E GAMING WIFI", "American Megatrends Inc.", "2613", "08/20/2024")
        .Function("0000:00:00.0", "1022:14d8", 0x060000, group: 0)
        .RootPort("0000:00:01.1", "1022:14db", group: 2, acs: true, below: b => b
            .Function("0000:01:00.0", "10de:2684", 0x030000, subsystem: "1043:889c", revision: 0xa1, driver: "vfio-pci", group: 14, flr: true)
            .Function("0000:01:00.1", "10de:22ba", 0x040300, subsystem: "1043:889c", revision: 0xa1, driver: "vfio-pci", group: 14))
        .RootPort("0000:00:08.1", "1022:14dd", group: 8, acs: true, below: b => b
            .Function("0000:7c:00.0", "1002:164e", 0x030000, subsystem: "1043:8877", revision: 0xc1, driver: "amdgpu", group: 26, bootVga: true));

    /// <summary>
    /// Core i7-13700K: 8 P-cores with Hyper-Threading (CPUs 0-15, siblings adjacent) and 8 E-cores (16-23),
    /// all sharing 30 MiB of L3. An RTX 3080 for the VM, the UHD 770 for the host.
    /// </summary>
    public static HostTreeBuilder Intel13700K() => new HostTreeBuilder()
        .Describe("A Core i7-13700K desktop (8 P-cores with HT as CPUs 0-15, 8 E-cores as 16-23, one 30 MiB L3) with an RTX 3080 for the VM.")
        .Describe("CPU topology and cache size as Intel documents the part; PCI devices plausible for a Z790 board.")
        .Intel("13th Gen Intel(R) Core(TM) i7-13700K", cores: 16, threads: 24)
        .CpuTopology(adjacentSiblings: true, HybridClusters)
        .HugepageSizes(2048, 1048576)
        .Kernel("6.8.0-51-generic")
        .Cmdline("BOOT_IMAGE=/boot/vmlinuz-6.8.0-51-generic root=UUID=8f3e2b1a-5c4d-4e6f-9a7b-0c1d2e3f4a5b ro quiet splash intel_iommu=on iommu=pt")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_intel", "kvm", "i915", "nvme")
        .Dmi("Micro-Star International Co., Ltd.", "MAG Z790 TOMAHAWK WIFI (MS-7D91)", "American Megatrends International, LLC.", "1.90", "03/13/2024")
        .Function("0000:00:00.0", "8086:a700", 0x060000, revision: 0x01, group: 0)
        .Function("0000:00:02.0", "8086:a780", 0x030000, revision: 0x04, driver: "i915", group: 1, flr: true, bootVga: true)
        .RootPort("0000:00:01.0", "8086:a70d", group: 2, revision: 0x01, below: b => b
            .Function("0000:01:00.0", "10de:2206", 0x030000, subsystem: "3842:3897", revision: 0xa1, driver: "vfio-pci", group: 12, flr: true)
            .Function("0000:01:00.1", "10de:1aef", 0x040300, subsystem: "3842:3897", revision: 0xa1, driver: "vfio-pci", group: 12))
        .Function("0000:00:14.0", "8086:7a60", 0x0c0330, revision: 0x11, driver: "xhci_hcd", group: 3)
        .Function("0000:00:17.0", "8086:7a62", 0x010601, revision: 0x11, driver: "ahci", group: 4)
        .RootPort("0000:00:1b.0", "8086:7a40", group: 5, acs: true, revision: 0x11, below: b => b
            .Function("0000:02:00.0", "144d:a80c", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 13, flr: true));

    /// <summary>
    /// Ryzen 7 5800X: 8 cores, 16 threads, one CCD with 32 MiB L3 (core k is CPUs k and k+8). An RX 6800 XT for the VM.
    /// </summary>
    public static HostTreeBuilder Amd5800X() => new HostTreeBuilder()
        .Describe("A Ryzen 7 5800X desktop (8 cores with SMT in one CCD, 32 MiB L3) with an RX 6800 XT for the VM and a GT 1030 for the host.")
        .Describe("CPU topology and cache size as AMD documents the part; PCI devices plausible for a B550 board.")
        .Amd("AMD Ryzen 7 5800X 8-Core Processor", cores: 8, threads: 16)
        .CpuTopology(adjacentSiblings: false, EightCoreClusters)
        .HugepageSizes(2048, 1048576)
        .Kernel("6.6.63-1-lts")
        .Cmdline("BOOT_IMAGE=/vmlinuz-linux-lts root=UUID=c0ffee00-1234-4abc-8def-0123456789ab rw amd_iommu=on iommu=pt")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_amd", "kvm", "nouveau", "nvme")
        .Dmi("Gigabyte Technology Co., Ltd.", "B550 AORUS ELITE V2", "American Megatrends International, LLC.", "F17", "10/20/2023")
        .Function("0000:00:00.0", "1022:1480", 0x060000, group: 0)
        .RootPort("0000:00:01.1", "1022:1483", group: 2, acs: true, below: b => b
            .Function("0000:0b:00.0", "1002:73bf", 0x030000, subsystem: "1002:0e3a", revision: 0xc1, driver: "vfio-pci", group: 15, flr: true)
            .Function("0000:0b:00.1", "1002:ab28", 0x040300, subsystem: "1002:ab28", driver: "vfio-pci", group: 15))
        .RootPort("0000:00:03.1", "1022:1483", group: 4, acs: true, below: b => b
            .Function("0000:0c:00.0", "10de:1d01", 0x030000, subsystem: "1458:3757", revision: 0xa1, driver: "nouveau", group: 16, bootVga: true)
            .Function("0000:0c:00.1", "10de:0fb8", 0x040300, subsystem: "1458:3757", revision: 0xa1, driver: "snd_hda_intel", group: 16));
}
