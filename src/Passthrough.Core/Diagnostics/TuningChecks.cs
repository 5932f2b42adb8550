using System.Globalization;
using Passthrough.Binding;
using Passthrough.Boot;
using Passthrough.Host;
using static Passthrough.Diagnostics.Doctor;

namespace Passthrough.Diagnostics;

/// <summary>What a VM's performance settings ask of the host: pinned CPUs kept free of host work, hugepages to back its memory.</summary>
public static class TuningChecks
{
    public const string CpuIsolationId = "cpu-isolation";
    public const string HugepagesAllocatableId = "hugepages-allocatable";

    /// <summary>
    /// The CPUs the vCPUs are pinned to should be kept free of host work: by isolcpus=/nohz_full= at boot
    /// (Documentation/admin-guide/kernel-parameters.txt) or by &lt;passthrough:isolate&gt; while the VM runs.
    /// </summary>
    public static IEnumerable<Finding> CpuIsolation(DoctorEvidence e)
    {
        if (e.Vm is not { PinnedCpus.IsEmpty: false } vm)
        {
            yield break;
        }

        var pinned = vm.PinnedCpus;
        var cmdline = KernelCommandLine.Parse(e.Host.Facts.KernelCommandLine);
        var booted = BootIsolated(cmdline, "isolcpus").Union(BootIsolated(cmdline, "nohz_full"));
        var isolate = vm.Tuning.Isolation?.VmCpus ?? CpuSet.Empty;
        var evidence = new List<string>
        {
            $"<cputune><vcpupin cpuset>: {pinned}",
            $"/proc/cmdline: {string.Join(' ', cmdline.Arguments.Where(a => a.HasKey("isolcpus") || a.HasKey("nohz_full")).Select(a => a.Text).DefaultIfEmpty("no isolcpus= or nohz_full="))}",
            vm.Tuning.Isolation is { } i ? $"<passthrough:isolate cpus=\"{(i.Auto ? "auto" : i.VmCpus.ToString())}\">: {i.VmCpus}" : "<passthrough:isolate>: not set",
        };
        var loose = pinned.Except(booted).Except(isolate);
        if (loose.IsEmpty)
        {
            yield return new Finding(CpuIsolationId, Severity.Ok, null,
                $"VM {vm.Name}'s pinned CPUs {pinned} are kept free of host work{(isolate.IsEmpty ? " from boot" : " while it runs")}.", evidence, null);
            yield break;
        }

        yield return F(CpuIsolationId, Severity.Warning, null,
            $"VM {vm.Name}'s vCPUs are pinned to CPU {loose}, which host processes share: they preempt the guest (stutter, latency spikes).",
            evidence,
            $"Add <passthrough:isolate cpus=\"auto\"/> to the VM's <passthrough:config> (the host's units keep off those CPUs while it runs), or isolcpus={loose} nohz_full={loose} on the kernel command line.");
    }

    /// <summary>A domain backed by hugepages needs them free when QEMU starts, or allocatable by &lt;passthrough:hugepages allocate&gt;.</summary>
    public static IEnumerable<Finding> HugepagesAllocatable(DoctorEvidence e)
    {
        if (e.Vm is not { HugepagesBacked: true } vm)
        {
            yield break;
        }

        var meminfo = e.MemInfo is null ? new Dictionary<string, long>() : MemInfo.Parse(e.MemInfo);
        var size = vm.HugepagePageKiB ?? (meminfo.TryGetValue("Hugepagesize", out var d) && d > 0 ? d : null);
        if (size is not { } pageKiB || vm.MemoryKiB is not { } memory || e.HugepagePools is not { } pools)
        {
            yield return F(HugepagesAllocatableId, Severity.Info, null, $"Could not check whether VM {vm.Name}'s hugepages can be had: the hugepage pools or the VM's memory size are unknown.", [],
                "Run `passthrough doctor --vm NAME` on the host itself.");
            yield break;
        }

        var name = HostTuningPlan.PageName(pageKiB);
        var needed = (memory + pageKiB - 1) / pageKiB;
        var pool = pools.FirstOrDefault(p => p.PageKiB == pageKiB);
        var evidence = new List<string>
        {
            $"<memory>: {Mib(memory)}, <page>: {name}: {needed} pages needed",
            pool is null ? $"/sys/kernel/mm/hugepages/hugepages-{pageKiB.ToString(CultureInfo.InvariantCulture)}kB: missing" : $"{name} pages: {pool.Total} reserved, {pool.Free} free",
            meminfo.TryGetValue("MemAvailable", out var available) ? $"/proc/meminfo: MemAvailable: {available} kB" : "/proc/meminfo: no MemAvailable",
            vm.Tuning.Hugepages is null ? "<passthrough:hugepages>: not set" : "<passthrough:hugepages allocate=\"yes\">",
        };
        var boot = $"hugepagesz={(pageKiB >= 1024 * 1024 ? $"{pageKiB / (1024 * 1024)}G" : $"{pageKiB / 1024}M")} hugepages={needed}";
        if (pool is null)
        {
            yield return F(HugepagesAllocatableId, Severity.Error, null, $"VM {vm.Name} asks for {name} hugepages, which this host does not offer: QEMU cannot start it.", evidence,
                "Use <page size='2' unit='M'/> (every x86 CPU), or 1 GiB pages only on a CPU with pdpe1gb.");
            yield break;
        }

        if (pool.Free >= needed)
        {
            yield return Finding.Ok(HugepagesAllocatableId, null, $"VM {vm.Name}'s {needed} {name} hugepages are free now.", [.. evidence]);
            yield break;
        }

        var missing = needed - pool.Free;
        if (vm.Tuning.Hugepages is not null && available >= missing * pageKiB)
        {
            yield return F(HugepagesAllocatableId, Severity.Info, null,
                $"VM {vm.Name} needs {missing} more {name} hugepages, which prepare will ask the kernel for ({Mib(missing * pageKiB)} of {Mib(available)} available); fragmented memory can still make it fall short.",
                evidence, pageKiB >= 1024 * 1024 ? $"1 GiB pages are safest reserved at boot: {boot} on the kernel command line." : null);
            yield break;
        }

        yield return F(HugepagesAllocatableId, Severity.Error, null,
            vm.Tuning.Hugepages is null
                ? $"VM {vm.Name} is backed by {needed} {name} hugepages but only {pool.Free} are free: QEMU fails to start it ({missing} short)."
                : $"VM {vm.Name} needs {missing} more {name} hugepages ({Mib(missing * pageKiB)}) but the kernel has only {Mib(available)} available: allocating them at start will fail.",
            evidence,
            $"Reserve them at boot: {boot} on the kernel command line{(vm.Tuning.Hugepages is null ? ", or add <passthrough:hugepages allocate=\"yes\"/> to allocate them at each start" : string.Empty)}; or give the VM less memory.");
    }

    /// <summary>The CPUs of isolcpus=[flags,]LIST or nohz_full=LIST (flags such as domain, managed_irq are skipped).</summary>
    public static CpuSet BootIsolated(KernelCommandLine cmdline, string key)
    {
        var cpus = CpuSet.Empty;
        foreach (var argument in cmdline.All(key))
        {
            var list = string.Join(',', (argument.Value ?? string.Empty).Split(',').Where(p => p.Length > 0 && (char.IsAsciiDigit(p[0]) || p[0] == '^')));
            if (CpuSet.TryParse(list, out var set))
            {
                cpus = cpus.Union(set);
            }
        }

        return cpus;
    }

    private static string Mib(long kib) => kib >= 1024 * 1024
        ? string.Create(CultureInfo.InvariantCulture, $"{kib / (1024.0 * 1024.0):0.#} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{kib / 1024.0:0.#} MiB");
}
