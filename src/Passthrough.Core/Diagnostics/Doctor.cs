using System.Globalization;
using Passthrough.Pci;

namespace Passthrough.Diagnostics;

/// <summary>
/// The readiness checks, pure over <see cref="DoctorEvidence"/>. Each check yields at least one
/// finding (ok when fine, info when it could not tell), so a report shows what was looked at.
/// </summary>
public static class Doctor
{
    /// <summary>Check ids, in report order within a severity.</summary>
    public static readonly IReadOnlyList<string> CheckIds =
    [
        "cpu-virtualization", "iommu-enabled", "interrupt-remapping", "cmdline-iommu", "acs-override",
        "group-isolation", "group-type", "firmware-1to1-mapping", "reset", "driver-binding", "vfio-modules",
        "duplicate-vfio-binding", "unsafe-interrupts", "framebuffer", "gpu-holders", "resizable-bar", "sriov", "gpu-outputs", "memlock",
        "hugepages", TuningChecks.HugepagesAllocatableId, TuningChecks.CpuIsolationId, "bootloader", "libvirt-hooks", "selinux", SelinuxHookChecks.Id, "iommufd", "rom-file",
    ];

    public static DoctorReport Run(DoctorEvidence evidence)
    {
        var targets = TargetGpus(evidence);
        var findings = new List<Finding>();
        findings.AddRange(HostChecks.CpuVirtualization(evidence));
        findings.AddRange(HostChecks.IommuEnabled(evidence));
        findings.AddRange(HostChecks.InterruptRemapping(evidence));
        findings.AddRange(HostChecks.CmdlineIommu(evidence));
        findings.AddRange(GpuChecks.AcsOverride(evidence, targets));
        findings.AddRange(GpuChecks.GroupIsolation(evidence, targets));
        findings.AddRange(GpuChecks.GroupType(evidence, targets));
        findings.AddRange(GpuChecks.FirmwareOneToOne(evidence));
        findings.AddRange(GpuChecks.Reset(evidence, targets));
        findings.AddRange(GpuChecks.DriverBinding(evidence, targets));
        findings.AddRange(HostChecks.VfioModules(evidence));
        findings.AddRange(BindingChecks.DuplicateBinding(evidence, targets));
        findings.AddRange(HostChecks.UnsafeInterrupts(evidence));
        findings.AddRange(GpuChecks.Framebuffer(evidence, targets));
        findings.AddRange(GpuChecks.Holders(evidence, targets));
        findings.AddRange(GpuChecks.ResizableBar(evidence, targets));
        findings.AddRange(SriovChecks.VirtualFunctions(evidence));
        findings.AddRange(SriovChecks.DisplayOutputs(evidence, targets));
        findings.AddRange(HostChecks.Memlock(evidence));
        findings.AddRange(HostChecks.Hugepages(evidence));
        findings.AddRange(TuningChecks.HugepagesAllocatable(evidence));
        findings.AddRange(TuningChecks.CpuIsolation(evidence));
        findings.AddRange(BootChecks.Bootloader(evidence));
        findings.AddRange(HostChecks.LibvirtHooks(evidence));
        findings.AddRange(HostChecks.Selinux(evidence));
        findings.AddRange(SelinuxHookChecks.Check(evidence.SelinuxEnforcing, evidence.SelinuxBooleans.TryGetValue(SelinuxHookChecks.UnconfinedBoolean, out var unconfined) ? unconfined : (bool?)null, evidence.Hooks));
        findings.AddRange(HostChecks.Iommufd(evidence));
        findings.AddRange(GpuChecks.RomFiles(evidence));
        findings.AddRange(LintFindings(evidence));
        return DoctorReport.From(findings);
    }

    /// <summary>
    /// The VM's domain lint in the report: the same findings on the same scale, with the lint as what was
    /// seen. rom-missing is left out: the rom-file check reports the same file with its &lt;rom&gt; line.
    /// </summary>
    public static IEnumerable<Finding> LintFindings(DoctorEvidence evidence) =>
        evidence.Lint.Where(f => f.Id != "rom-missing").Select(f => f with { Evidence = ["domain XML lint", .. f.Evidence] });

    /// <summary>
    /// The GPUs the per-device checks look at: the slots asked for; else every GPU when there is
    /// one (single-GPU passthrough) and, with several, those not driving the boot display plus any
    /// already on vfio-pci. The host's own display GPU is not a passthrough target.
    /// </summary>
    public static IReadOnlyList<Gpu> TargetGpus(DoctorEvidence evidence)
    {
        var host = evidence.Host;
        if (evidence.TargetSlots is { } slots)
        {
            return [.. slots.Order().SelectMany(slot => TargetsIn(evidence, slot))];
        }

        // A boot display with SR-IOV VFs enabled stays the host's: its VFs are what goes to VMs (the sriov check).
        var gpus = host.Gpus.Where(g => !(g.BootVga && g.VirtualFunctions.Count > 0)).ToList();
        if (gpus.Count <= 1 || gpus.All(g => g.Functions.All(f => f.BootVga is null)))
        {
            return gpus;
        }

        return [.. gpus.Where(g => !g.BootVga || g.Functions.Any(f => f.IsVfioBound))];
    }

    /// <summary>
    /// The targets in one asked slot: the slot's own functions, and each SR-IOV virtual function the VM passes as a
    /// target of its own (a VF is never a function of its PF's GPU; the PF is a target only when asked or passed).
    /// </summary>
    private static IEnumerable<Gpu> TargetsIn(DoctorEvidence evidence, PciSlot slot)
    {
        var functions = evidence.Host.FunctionsOf(slot);
        var passed = evidence.Vm?.HostDevices ?? [];
        var own = functions.Where(f => !f.IsVirtualFunction).ToList();
        if (own.Count > 0 && (evidence.Vm is null || own.Any(f => passed.Contains(f.Address))))
        {
            yield return new Gpu(slot, own);
        }

        foreach (var vf in functions.Where(f => f.IsVirtualFunction && passed.Contains(f.Address)))
        {
            yield return new Gpu(slot, [vf]);
        }
    }

    /// <summary>"6.12.54-Unraid" → (6, 12); null when unknown.</summary>
    public static (int Major, int Minor)? KernelVersion(string? release)
    {
        if (release is null)
        {
            return null;
        }

        var parts = release.Split('.', '-');
        return parts.Length >= 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            ? (major, minor)
            : null;
    }

    internal static bool KernelAtLeast(DoctorEvidence e, int major, int minor) =>
        KernelVersion(e.Host.Facts.KernelRelease) is { } v && (v.Major > major || (v.Major == major && v.Minor >= minor));

    internal static Finding F(string id, Severity severity, string? subject, string message, IEnumerable<string> evidence, string? remedy) =>
        new(id, severity, subject, message, [.. evidence], remedy);

    internal static Finding LogUnknown(string id, DoctorEvidence e, string what) =>
        F(id, Severity.Info, null, $"Could not check {what}: {e.KernelLogProblem ?? "the kernel log was not read"}.", [],
            "On the host, run `passthrough doctor` as root (sudo) so it can read /dev/kmsg; with --root DIR, save `dmesg` output as DIR/var/log/dmesg.");

    internal static string Describe(PciFunction f) => GroupRules.Describe(f);

    /// <summary>The address a kernel line is about: "vfio-pci 0000:01:00.0: ..." → 0000:01:00.0.</summary>
    internal static PciAddress? AddressIn(string message)
    {
        foreach (var word in message.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(4))
        {
            if (PciAddress.TryParse(word.TrimEnd(':', ','), out var a) && word.Contains(':', StringComparison.Ordinal))
            {
                return a;
            }
        }

        return null;
    }
}
