using Passthrough.Boot;
using static Passthrough.Diagnostics.Doctor;

namespace Passthrough.Diagnostics;

/// <summary>The bootloader in use, the file whose arguments boot, and whether what it configures is what runs.</summary>
internal static class BootChecks
{
    /// <summary>Argument keys that matter for passthrough; others (root=, quiet) are not compared.</summary>
    private static readonly string[] RelevantKeys = ["iommu", "vfio", "acs", "video", "initcall_blacklist", "hugepage", "kvm", "modprobe.blacklist", "rd.driver"];

    public static IEnumerable<Finding> Bootloader(DoctorEvidence e)
    {
        const string id = "bootloader";
        if (e.Boot is not { } boot)
        {
            yield break;
        }

        if (boot.Bootloader == Boot.Bootloader.Unknown)
        {
            yield return F(id, Severity.Info, null, "No bootloader recognised, so it is unknown which file's kernel arguments boot.", boot.Evidence,
                "Check `bootctl status` / `efibootmgr -v`; `passthrough setup` needs to know where the arguments live.");
            yield break;
        }

        if (boot.Ignored.Count > 0)
        {
            yield return F(id, Severity.Warning, null,
                $"This host boots with {boot.Summary}; {string.Join(", ", boot.Ignored)} also hold{(boot.Ignored.Count == 1 ? "s" : string.Empty)} kernel arguments but {(boot.Ignored.Count == 1 ? "is" : "are")} not used: edits there have no effect (seed 004 edited syslinux.cfg on a Limine boot).",
                boot.Evidence, $"Edit the arguments in {boot.ArgsFile ?? "the bootloader's own tool"} (`passthrough setup` does), and leave or remove the others.");
        }

        var running = e.Host.Facts.KernelCommandLine is string text ? KernelCommandLine.Parse(text) : null;
        var configured = boot.Configured.Where(c => c.Arguments.Count > 0).ToList();
        if (running is not null && running.Arguments.Count > 0 && configured.Count > 0)
        {
            // The entry that booted is the one closest to /proc/cmdline.
            var closest = configured.OrderByDescending(c => c.Arguments.Count(a => running.Arguments.Any(r => r.Text == a.Text))).First();
            var missing = closest.Arguments.Where(Relevant).Where(a => !running.Arguments.Any(r => r.Text == a.Text)).Select(a => a.Text).ToList();
            var extra = running.Arguments.Where(Relevant).Where(a => !closest.Arguments.Any(c => c.Text == a.Text)).Select(a => a.Text).ToList();
            if (missing.Count > 0 || extra.Count > 0)
            {
                var parts = new List<string>();
                if (missing.Count > 0)
                {
                    parts.Add($"configured but not running: {string.Join(' ', missing)}");
                }

                if (extra.Count > 0)
                {
                    parts.Add($"running but not configured: {string.Join(' ', extra)}");
                }

                yield return F(id, Severity.Warning, null,
                    $"The kernel arguments in {boot.ArgsFile ?? boot.Summary} differ from the running ones ({string.Join("; ", parts)}).",
                    [.. boot.Evidence, $"/proc/cmdline: {running}", $"configured: {closest}"],
                    "Reboot if you just changed them (after regenerating what boots: grub2-mkconfig / update-grub / kernel-install / mkinitcpio -P for unified kernel images / proxmox-boot-tool refresh); otherwise the file is not what boots.");
                yield break;
            }
        }

        if (boot.Ignored.Count == 0)
        {
            yield return F(id, Severity.Ok, null, $"Boots with {boot.Summary}.", boot.Evidence, null);
        }
    }

    private static bool Relevant(KernelArgument a) => RelevantKeys.Any(k => a.Key.Contains(k, StringComparison.Ordinal));
}
