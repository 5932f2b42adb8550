using System.Globalization;
using Passthrough.Domain;
using static Passthrough.Diagnostics.Doctor;

namespace Passthrough.Diagnostics;

/// <summary>Checks about the host as a whole: CPU, IOMMU, command line, modules, libvirt, SELinux.</summary>
internal static class HostChecks
{
    private static readonly string[] RemappingLines = ["DMAR-IR: Enabled IRQ remapping", "AMD-Vi: Interrupt remapping enabled"];

    /// <summary>vmx (Intel VT-x) or svm (AMD-V) in /proc/cpuinfo: KVM needs one.</summary>
    public static IEnumerable<Finding> CpuVirtualization(DoctorEvidence e)
    {
        const string id = "cpu-virtualization";
        var facts = e.Host.Facts;
        if (facts.VirtualizationFlags is null)
        {
            yield return F(id, Severity.Info, null, "Could not read /proc/cpuinfo.", [], "Run on the host itself, or capture /proc/cpuinfo into the --root tree.");
        }
        else if (facts.VirtualizationFlags.Count == 0)
        {
            yield return F(id, Severity.Error, null, $"The CPU ({facts.CpuModel ?? facts.CpuVendor ?? "unknown"}) shows neither vmx nor svm: hardware virtualization is off or missing.",
                ["/proc/cpuinfo flags: no vmx, no svm"],
                facts.IsAmd ? "Enable SVM Mode in the firmware setup (Advanced > CPU Configuration)." : "Enable Intel Virtualization Technology (VT-x) in the firmware setup.");
        }
        else
        {
            yield return Finding.Ok(id, null, $"The CPU supports hardware virtualization ({string.Join(", ", facts.VirtualizationFlags)}).",
                $"/proc/cpuinfo flags: {string.Join(' ', facts.VirtualizationFlags)}");
        }
    }

    /// <summary>IOMMU groups, /sys/class/iommu units and the DMAR / AMD-Vi boot lines.</summary>
    public static IEnumerable<Finding> IommuEnabled(DoctorEvidence e)
    {
        const string id = "iommu-enabled";
        var host = e.Host;
        var evidence = new List<string>();
        if (host.Facts.IommuUnits.Count > 0)
        {
            evidence.Add("/sys/class/iommu: " + string.Join(' ', host.Facts.IommuUnits.Select(u => u.Name)));
        }

        if (e.KernelLog is { } log)
        {
            evidence.AddRange(log.Lines
                .Where(l => l.Message.StartsWith("DMAR: IOMMU enabled", StringComparison.Ordinal)
                    || l.Message.StartsWith("AMD-Vi: ", StringComparison.Ordinal)
                    || l.Message.StartsWith("iommu: Default domain type", StringComparison.Ordinal))
                .Take(4).Select(l => l.ToString()));
        }

        if (host.HasIommuGroups)
        {
            evidence.Insert(0, $"/sys/kernel/iommu_groups: {host.Groups.Count} groups");
            yield return F(id, Severity.Ok, null, $"The IOMMU is on: {host.Groups.Count} IOMMU groups.", evidence, null);
            yield break;
        }

        evidence.Insert(0, "/sys/kernel/iommu_groups: empty or missing");
        var remedy = host.Facts.IsAmd
            ? "Enable IOMMU (AMD CBS > NBIO > IOMMU, sometimes called AMD-Vi) and SVM in the firmware setup; amd_iommu is on by default, so remove any amd_iommu=off."
            : "Enable VT-d in the firmware setup and add intel_iommu=on to the kernel command line (`passthrough setup` does it for the bootloader in use).";
        yield return F(id, Severity.Error, null, "The IOMMU is off: the kernel made no IOMMU groups, so no device can be passed to a VM.", evidence, remedy);
    }

    /// <summary>
    /// Interrupt remapping: without it vfio refuses MSI from assigned devices unless
    /// vfio_iommu_type1.allow_unsafe_interrupts=1 (Documentation/driver-api/vfio.rst).
    /// </summary>
    public static IEnumerable<Finding> InterruptRemapping(DoctorEvidence e)
    {
        const string id = "interrupt-remapping";
        if (e.KernelLog is not { } log)
        {
            yield return LogUnknown(id, e, "interrupt remapping");
            yield break;
        }

        if (!e.Host.HasIommuGroups)
        {
            yield return F(id, Severity.Info, null, "Interrupt remapping comes with the IOMMU, which is off (see iommu-enabled).", [], null);
            yield break;
        }

        var seen = log.Lines.Where(l => RemappingLines.Any(r => l.Message.Contains(r, StringComparison.Ordinal))).ToList();
        if (seen.Count > 0)
        {
            yield return F(id, Severity.Ok, null, "Interrupt remapping is enabled.", seen.Select(l => l.ToString()), null);
            yield break;
        }

        if (!log.ReachesBoot)
        {
            yield return F(id, Severity.Info, null, "The kernel log no longer holds the boot messages, so interrupt remapping cannot be confirmed.",
                [$"{log.Lines.Count} log lines, none from early boot"], "Check `journalctl -k -b | grep -i remapping` after the next boot.");
            yield break;
        }

        var unsafeSources = UnsafeInterruptSources(e).ToList();
        if (unsafeSources.Count > 0)
        {
            yield return F(id, Severity.Warning, null,
                "Interrupt remapping is not enabled and allow_unsafe_interrupts is set: a guest can forge MSI writes and inject interrupts into the host (a known escape and denial-of-service risk).",
                ["no \"DMAR-IR: Enabled IRQ remapping\" / \"AMD-Vi: Interrupt remapping enabled\" in the kernel log", .. unsafeSources],
                "Enable interrupt remapping in the firmware (VT-d/IOMMU with x2APIC) or update the BIOS; keep allow_unsafe_interrupts only for guests you trust.");
            yield break;
        }

        yield return F(id, Severity.Error, null,
            "Interrupt remapping is not enabled: vfio refuses to assign devices (\"Interrupt Remapping hardware not found\").",
            ["no \"DMAR-IR: Enabled IRQ remapping\" / \"AMD-Vi: Interrupt remapping enabled\" in the kernel log"],
            "Enable interrupt remapping / x2APIC in the firmware setup or update the BIOS; as a last resort for trusted guests, options vfio_iommu_type1 allow_unsafe_interrupts=1.");
    }

    /// <summary>Where allow_unsafe_interrupts is turned on: modprobe.d, the command line, the live parameter.</summary>
    internal static IEnumerable<string> UnsafeInterruptSources(DoctorEvidence e)
    {
        foreach (var (value, where, text) in e.Modprobe.Option("vfio_iommu_type1", "allow_unsafe_interrupts"))
        {
            if (IsTrue(value))
            {
                yield return $"{where}: {text}";
            }
        }

        if (e.CommandLine is { } cmd)
        {
            foreach (var key in new[] { "vfio_iommu_type1.allow_unsafe_interrupts", "vfio-iommu-type1.allow_unsafe_interrupts" })
            {
                if (cmd.Value(key) is string v && IsTrue(v))
                {
                    yield return $"/proc/cmdline: {key}={v}";
                }
            }
        }

        if (e.UnsafeInterruptsParameter is "Y" or "1")
        {
            yield return $"/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts: {e.UnsafeInterruptsParameter}";
        }
    }

    private static bool IsTrue(string value) => value.Trim() is "1" or "Y" or "y" or "yes" or "true" or "on";

    /// <summary>The IOMMU words on the command line, as the CPU needs them.</summary>
    public static IEnumerable<Finding> CmdlineIommu(DoctorEvidence e)
    {
        const string id = "cmdline-iommu";
        var facts = e.Host.Facts;
        if (e.CommandLine is not { } cmd)
        {
            yield return F(id, Severity.Info, null, "Could not read /proc/cmdline.", [], "Run on the host itself, or capture /proc/cmdline into the --root tree.");
            yield break;
        }

        if (cmd.IsEmpty)
        {
            // Seed 004: Unraid booted through Limine while syslinux.cfg was being edited.
            yield return F(id, Severity.Error, null,
                "/proc/cmdline is empty: the kernel booted with no arguments, so the file you edited is not the one that boots.",
                ["/proc/cmdline: (empty)"],
                "Find the bootloader that actually boots (`passthrough doctor` bootloader check, `bootctl status`, /boot/limine.conf) and put the arguments there.");
            yield break;
        }

        var evidence = cmd.Words.Where(w => w.Contains("iommu", StringComparison.Ordinal)).Select(w => "/proc/cmdline: " + w).ToList();
        var problems = new List<Finding>();
        foreach (var key in new[] { "intel_iommu", "amd_iommu", "iommu", "iommu.passthrough" })
        {
            var values = cmd.Values(key);
            if (values.Distinct(StringComparer.Ordinal).Count() > 1)
            {
                problems.Add(F(id, Severity.Warning, null, $"{key} is given {values.Count} times with different values ({string.Join(", ", values)}); the kernel uses the last one, {values[^1]}.",
                    evidence, $"Keep one {key}= on the command line."));
            }
        }

        var intel = cmd.Value("intel_iommu");
        var amd = cmd.Value("amd_iommu");
        if (intel is not null && intel.Split(',').Contains("off"))
        {
            problems.Add(F(id, Severity.Error, null, "intel_iommu=off turns the IOMMU off.", evidence, "Replace it with intel_iommu=on."));
        }

        if (amd is not null && amd.Split(',').Contains("off"))
        {
            problems.Add(F(id, Severity.Error, null, "amd_iommu=off turns the IOMMU off.", evidence, "Remove amd_iommu=off (the AMD IOMMU is on by default)."));
        }

        if (cmd.Value("iommu") == "off")
        {
            problems.Add(F(id, Severity.Error, null, "iommu=off turns the IOMMU off.", evidence, "Remove iommu=off; use iommu=pt if you want host devices untranslated."));
        }

        var pt = cmd.Value("iommu") == "pt" || cmd.Value("iommu.passthrough") is "1" or "y" or "Y";
        if (cmd.Value("iommu") == "pt" && cmd.Value("iommu.passthrough") is "0" or "n" or "N")
        {
            problems.Add(F(id, Severity.Warning, null, "iommu=pt and iommu.passthrough=0 contradict each other.", evidence, "Keep one of them."));
        }

        if (facts.IsAmd && intel is not null)
        {
            problems.Add(F(id, Severity.Warning, null, $"intel_iommu={intel} is ignored on this AMD CPU.", evidence,
                "Remove it; the AMD IOMMU is on by default (amd_iommu=on is accepted but not needed)."));
        }

        if (facts.IsIntel && amd is not null)
        {
            problems.Add(F(id, Severity.Warning, null, $"amd_iommu={amd} is ignored on this Intel CPU.", evidence, "Replace it with intel_iommu=on."));
        }

        if (facts.IsIntel && intel is null && !e.Host.HasIommuGroups)
        {
            problems.Add(F(id, Severity.Error, null, "intel_iommu=on is missing and the IOMMU is off.", evidence, "Add intel_iommu=on iommu=pt to the kernel command line."));
        }

        if (problems.Count > 0)
        {
            foreach (var p in problems)
            {
                yield return p;
            }

            yield break;
        }

        if (!pt)
        {
            yield return F(id, Severity.Info, null, "iommu=pt is not set: host devices use translated DMA (safe, slightly slower); it makes no difference to the VM's GPU.",
                evidence.Count > 0 ? evidence : ["/proc/cmdline: no iommu arguments"], "Optional: add iommu=pt.");
            yield break;
        }

        yield return F(id, Severity.Ok, null, "The IOMMU arguments on the command line fit this CPU.", evidence, null);
    }

    /// <summary>vfio, vfio_pci, vfio_iommu_type1 present; vfio_virqfd listed although merged into vfio in 6.2.</summary>
    public static IEnumerable<Finding> VfioModules(DoctorEvidence e)
    {
        const string id = "vfio-modules";
        var loaded = e.Host.Facts.LoadedModules;
        var sys = e.SysModules;
        if (loaded is null && sys is null)
        {
            yield return F(id, Severity.Info, null, "Could not read /proc/modules or /sys/module.", [], "Run on the host itself.");
        }
        else
        {
            var vfioBound = e.Host.Functions.Any(f => f.IsVfioBound);
            bool Present(string m) => (loaded?.Contains(m) ?? false) || (sys?.Contains(m) ?? false) || (m == "vfio_pci" && vfioBound);
            string[] needed = ["vfio", "vfio_pci", "vfio_iommu_type1"];
            var missing = needed.Where(m => !Present(m)).ToList();
            if (missing.Count == 0)
            {
                yield return Finding.Ok(id, null, "vfio, vfio_pci and vfio_iommu_type1 are loaded.", "/proc/modules: " + string.Join(' ', needed));
            }
            else
            {
                yield return F(id, Severity.Warning, null, $"Not loaded: {string.Join(", ", missing)}.",
                    [$"/proc/modules and /sys/module: no {string.Join(", no ", missing)}"],
                    "Load them at boot: list vfio, vfio_iommu_type1, vfio_pci in /etc/modules-load.d/vfio.conf (and the initramfs for boot-time binding).");
            }
        }

        if (KernelAtLeast(e, 6, 2))
        {
            var mentions = e.ModuleListFiles.SelectMany(f => f.Lines().Where(l => l.Text.Contains("vfio_virqfd", StringComparison.Ordinal)).Select(l => $"{f.Where(l.Number)}: {l.Text}"))
                .Concat(e.Modprobe.Mentions("vfio_virqfd").Select(m => $"{m.Where}: {m.Text}"))
                .ToList();
            if (mentions.Count > 0)
            {
                yield return F(id, Severity.Warning, null, $"vfio_virqfd is listed, but it was merged into vfio in kernel 6.2 (this is {e.Host.Facts.KernelRelease}): loading it fails.",
                    mentions, "Remove vfio_virqfd from these files and rebuild the initramfs.");
            }
        }
    }

    /// <summary>allow_unsafe_interrupts turned on: needed only without interrupt remapping.</summary>
    public static IEnumerable<Finding> UnsafeInterrupts(DoctorEvidence e)
    {
        const string id = "unsafe-interrupts";
        var sources = UnsafeInterruptSources(e).ToList();
        if (sources.Count == 0)
        {
            yield return Finding.Ok(id, null, "allow_unsafe_interrupts is not set.");
            yield break;
        }

        var remapping = e.KernelLog?.Lines.Any(l => RemappingLines.Any(r => l.Message.Contains(r, StringComparison.Ordinal))) == true;
        yield return F(id, Severity.Warning, null,
            remapping
                ? "allow_unsafe_interrupts is set although interrupt remapping is enabled: it is not needed and only weakens isolation."
                : "allow_unsafe_interrupts is set: guests can inject interrupts into the host; acceptable only for trusted guests on hardware without interrupt remapping.",
            sources, remapping ? "Remove it (options vfio_iommu_type1 allow_unsafe_interrupts=1) and rebuild the initramfs." : "Prefer enabling interrupt remapping in the firmware; remove the option once it is on.");
    }

    /// <summary>LimitMEMLOCK for virtqemud/libvirtd (seed 003): vfio pins all guest RAM.</summary>
    public static IEnumerable<Finding> Memlock(DoctorEvidence e)
    {
        const string id = "memlock";
        var settings = e.LibvirtUnitFiles
            .SelectMany(f => f.Lines().Where(l => l.Text.StartsWith("LimitMEMLOCK=", StringComparison.Ordinal)).Select(l => (f, l.Number, Value: l.Text["LimitMEMLOCK=".Length..].Trim())))
            .ToList();
        if (settings.Count == 0)
        {
            yield return Finding.Ok(id, null, "No LimitMEMLOCK override for virtqemud/libvirtd: libvirt (qemu:///system) raises the memlock limit for VMs with host devices itself.");
            yield break;
        }

        var last = settings[^1];
        var evidence = settings.Select(s => $"{s.f.Where(s.Number)}: LimitMEMLOCK={s.Value}").ToList();
        var bytes = ParseSize(last.Value);
        if (last.Value == "infinity" || bytes is null or >= 1L << 40)
        {
            yield return F(id, Severity.Ok, null, $"LimitMEMLOCK={last.Value} for libvirt: enough to pin guest memory.", evidence, null);
        }
        else
        {
            yield return F(id, Severity.Warning, null, $"LimitMEMLOCK={last.Value} for libvirt is smaller than most guests' RAM: vfio must pin all of it, and QEMU fails with \"Cannot allocate memory\".",
                evidence, "Set LimitMEMLOCK=infinity in the drop-in (or remove it), then `systemctl daemon-reload` and restart virtqemud.");
        }
    }

    private static long? ParseSize(string value)
    {
        var multipliers = new Dictionary<char, long> { ['K'] = 1L << 10, ['M'] = 1L << 20, ['G'] = 1L << 30, ['T'] = 1L << 40 };
        var unit = value.Length > 0 && multipliers.TryGetValue(char.ToUpperInvariant(value[^1]), out var m) ? m : 1;
        var digits = unit == 1 ? value : value[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n * unit : null;
    }

    /// <summary>Reserved hugepages (seed 001: "you should know you did it").</summary>
    public static IEnumerable<Finding> Hugepages(DoctorEvidence e)
    {
        const string id = "hugepages";
        if (e.MemInfo is null)
        {
            yield return F(id, Severity.Info, null, "Could not read /proc/meminfo.", [], "Run on the host itself.");
            yield break;
        }

        var info = MemInfo.Parse(e.MemInfo);
        var total = info.GetValueOrDefault("HugePages_Total");
        var free = info.GetValueOrDefault("HugePages_Free");
        var sizeKb = info.GetValueOrDefault("Hugepagesize");
        if (total == 0)
        {
            yield return Finding.Ok(id, null, "No hugepages are reserved.", $"/proc/meminfo: HugePages_Total: {total}");
            yield break;
        }

        var gib = total * sizeKb / (1024.0 * 1024.0);
        yield return F(id, Severity.Info, null,
            string.Create(CultureInfo.InvariantCulture, $"{total} hugepages of {sizeKb} kB ({gib:0.#} GiB) are reserved, {free} free: that memory is only usable by VMs with <memoryBacking><hugepages/></memoryBacking>."),
            [$"/proc/meminfo: HugePages_Total: {total}", $"/proc/meminfo: HugePages_Free: {free}", $"/proc/meminfo: Hugepagesize: {sizeKb} kB"],
            "Keep it if you meant it (and give the VM <hugepages/>); otherwise remove hugepages= / vm.nr_hugepages to give the memory back to the host.");
    }

    /// <summary>The libvirt qemu hook: installed, executable, and (under SELinux) not mislabelled.</summary>
    public static IEnumerable<Finding> LibvirtHooks(DoctorEvidence e)
    {
        const string id = "libvirt-hooks";
        var needsHooks = e.Vm?.Mode is PassthroughMode.Dynamic or PassthroughMode.SingleGpu;
        if (e.Hooks.Count == 0)
        {
            yield return F(id, needsHooks ? Severity.Error : Severity.Info, null,
                "No libvirt qemu hook is installed: nothing moves the GPU between the host and vfio-pci when a VM starts or stops.",
                ["/etc/libvirt/hooks/qemu: missing"],
                needsHooks ? "Run `passthrough hooks install`, then restart virtqemud (or libvirtd)." : "Needed only for dynamic or single-GPU passthrough: `passthrough hooks install`.");
            yield break;
        }

        var bad = false;
        foreach (var hook in e.Hooks.Where(h => !h.Executable))
        {
            bad = true;
            yield return F(id, Severity.Error, hook.Path, $"{hook.Path} is not executable: libvirt skips it.", [$"{hook.Path}: mode without x"], $"chmod 755 {hook.Path}");
        }

        if (e.SelinuxEnforcing == true)
        {
            foreach (var hook in e.Hooks.Where(h => SelinuxHookChecks.IsMovedIntoPlace(h.SelinuxLabel)))
            {
                bad = true;
                yield return F(id, Severity.Error, hook.Path, $"{hook.Path} carries the SELinux label {hook.SelinuxLabel} (it was moved, not copied, into place): libvirt is denied running it.",
                    [$"{hook.Path}: security.selinux={hook.SelinuxLabel}"], "restorecon -Rv /etc/libvirt/hooks");
            }
        }

        if (!bad)
        {
            yield return F(id, Severity.Ok, null, "The libvirt hooks are installed and executable.", e.Hooks.Select(h => h.SelinuxLabel is null ? h.Path : $"{h.Path} ({h.SelinuxLabel})"), null);
        }
    }

    /// <summary>SELinux mode and the virt booleans that matter for device assignment.</summary>
    public static IEnumerable<Finding> Selinux(DoctorEvidence e)
    {
        const string id = "selinux";
        if (e.SelinuxEnforcing is null)
        {
            yield return Finding.Ok(id, null, "SELinux is not in use.");
            yield break;
        }

        var booleans = e.SelinuxBooleans.Select(b => $"/sys/fs/selinux/booleans/{b.Key}: {(b.Value ? 1 : 0)}").ToList();
        if (e.SelinuxEnforcing == true && e.SelinuxBooleans.TryGetValue("virt_use_sysfs", out var sysfs) && !sysfs)
        {
            yield return F(id, Severity.Warning, null, "SELinux is enforcing and virt_use_sysfs is off: libvirt cannot manage PCI devices through sysfs.",
                ["/sys/fs/selinux/enforce: 1", .. booleans], "setsebool -P virt_use_sysfs 1");
            yield break;
        }

        yield return F(id, Severity.Ok, null, e.SelinuxEnforcing == true
                ? "SELinux is enforcing; ROM files belong under /usr/share/qemu or /var/lib/libvirt (labelled for QEMU), and hooks must keep their label."
                : "SELinux is permissive.",
            [$"/sys/fs/selinux/enforce: {(e.SelinuxEnforcing == true ? 1 : 0)}", .. booleans], null);
    }

    /// <summary>/dev/iommu and libvirt's iommufd setting (seed 003 forced the legacy container).</summary>
    public static IEnumerable<Finding> Iommufd(DoctorEvidence e)
    {
        const string id = "iommufd";
        var setting = e.QemuConf?.Lines().Where(l => l.Text.StartsWith("iommufd", StringComparison.Ordinal)).Select(l => $"{e.QemuConf.Where(l.Number)}: {l.Text}").ToList() ?? [];
        if (e.IommufdDevice != true)
        {
            yield return F(id, Severity.Ok, null, "No /dev/iommu: QEMU uses the vfio container interface.", ["/dev/iommu: missing", .. setting], null);
            yield break;
        }

        yield return F(id, Severity.Info, null,
            setting.Count > 0
                ? "/dev/iommu exists and qemu.conf sets iommufd explicitly."
                : "/dev/iommu exists: newer libvirt/QEMU may use iommufd instead of the vfio container; if device setup fails with a firmware 1:1 mapping, the legacy container (iommufd = 0 in qemu.conf) behaves differently.",
            ["/dev/iommu: present", .. setting], setting.Count > 0 ? null : "Nothing to do unless VM start fails; then try iommufd = 0 in /etc/libvirt/qemu.conf and restart virtqemud.");
    }
}

/// <summary>/proc/meminfo as name → number (kB values stay in kB).</summary>
public static class MemInfo
{
    public static IReadOnlyDictionary<string, long> Parse(string text)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var number = line[(colon + 1)..].Trim().Split(' ')[0];
            if (long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                values[line[..colon].Trim()] = n;
            }
        }

        return values;
    }
}
