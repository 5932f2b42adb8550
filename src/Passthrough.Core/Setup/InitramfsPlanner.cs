using System.Text.RegularExpressions;
using Passthrough.Boot;

namespace Passthrough.Setup;

/// <summary>The initramfs (dracut, mkinitcpio, initramfs-tools) and the command that carries the edited files
/// into what boots (initramfs rebuilds, unified kernel images, proxmox-boot-tool).</summary>
internal static partial class InitramfsPlanner
{
    /// <summary>vfio-pci in the initramfs, for the generator in use; true when a file changed.</summary>
    public static bool Plan(BootSetup boot, Version? kernel, SetupDraft draft)
    {
        var notes = draft.Notes;
        // vfio_virqfd was folded into vfio in Linux 6.2 (commit e2d55709398e); listing it there fails the build.
        var virqfd = kernel is not null && kernel < new Version(6, 2);
        if (kernel is null)
        {
            notes.Add("Kernel version unknown (/proc/sys/kernel/osrelease not read): vfio_virqfd is left out, as kernels 6.2 and later need.");
        }

        var modules = virqfd ? new[] { "vfio", "vfio_iommu_type1", "vfio_pci", "vfio_virqfd" } : ["vfio", "vfio_iommu_type1", "vfio_pci"];
        bool changed;
        switch (boot.Initramfs)
        {
            case InitramfsGenerator.Dracut:
                // dracut.conf(5): only files ending in .conf are read; spaces inside the quotes matter.
                changed = draft.AddIfChanged(SetupPlanner.DracutFile, SetupPlanner.Header + $"# vfio-pci in the initramfs so it claims the GPU before its driver loads.\nforce_drivers+=\" {string.Join(' ', modules)} \"\n", "dracut puts vfio-pci in the initramfs and loads it first");
                break;
            case InitramfsGenerator.Mkinitcpio:
                changed = EditMkinitcpio(modules, draft);
                break;
            case InitramfsGenerator.InitramfsTools:
                {
                    var before = draft.Files.Read("/etc/initramfs-tools/modules") ?? string.Empty;
                    var present = before.Split('\n').Select(l => l.Split('#')[0].Trim().Split(' ')[0]).ToHashSet(StringComparer.Ordinal);
                    var missing = modules.Where(m => !present.Contains(m) && !present.Contains(m.Replace('_', '-'))).ToList();
                    var after = missing.Count == 0 ? before : (before.Length == 0 || before.EndsWith('\n') ? before : before + "\n") + string.Concat(missing.Select(m => m + "\n"));
                    changed = draft.AddIfChanged("/etc/initramfs-tools/modules", after, "initramfs-tools loads these modules early, in this order");
                    break;
                }

            default:
                notes.Add("No initramfs generator found: vfio-pci must be loaded early by other means (Unraid binds with vfio-pci.ids on the kernel command line).");
                return false;
        }

        if (changed)
        {
            draft.Regeneration.Add(Command(boot));
        }

        return changed;
    }

    private static bool EditMkinitcpio(string[] modules, SetupDraft draft)
    {
        var (files, notes) = (draft.Files, draft.Notes);
        const string path = "/etc/mkinitcpio.conf";
        var before = files.Read(path);
        if (before is null)
        {
            notes.Add($"{path} not found: add {string.Join(' ', modules)} to MODULES by hand.");
            return false;
        }

        if (HooksRegex().Match(before) is { Success: true } hooks && !hooks.Groups["list"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("modconf"))
        {
            notes.Add($"{path} HOOKS lacks modconf: {SetupPlanner.ModprobeFile} will not be in the initramfs.");
        }

        var match = ModulesRegex().Match(before);
        string after;
        if (!match.Success)
        {
            after = (before.EndsWith('\n') ? before : before + "\n") + $"MODULES=({string.Join(' ', modules.Reverse().Order(VfioFirst))})\n";
        }
        else
        {
            var list = match.Groups["list"].Value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).ToList();
            var missing = modules.Where(m => !list.Contains(m)).ToList();
            if (missing.Count == 0)
            {
                return false;
            }

            // The Arch wiki's order: vfio_pci vfio vfio_iommu_type1 before any graphics driver.
            var merged = missing.Order(VfioFirst).Concat(list);
            after = before[..match.Groups["list"].Index] + string.Join(' ', merged) + before[(match.Groups["list"].Index + match.Groups["list"].Length)..];
        }

        return draft.AddIfChanged(path, after, "mkinitcpio loads MODULES first, so vfio-pci binds before the GPU driver");
    }

    private static readonly Comparer<string> VfioFirst = Comparer<string>.Create((a, b) => Rank(a).CompareTo(Rank(b)));

    private static int Rank(string module) => module switch
    {
        "vfio_pci" => 0,
        "vfio" => 1,
        "vfio_iommu_type1" => 2,
        _ => 3,
    };

    /// <summary>
    /// The command that carries the edited files into what boots, last: unified kernel images are rebuilt
    /// (the initramfs inside them too, so a separate initramfs rebuild is dropped); proxmox-boot-tool copies
    /// the kernels, initramfs and command line to every ESP.
    /// </summary>
    public static void Refresh(BootSetup boot, string? release, bool changed, SetupDraft draft)
    {
        var (regeneration, notes) = (draft.Regeneration, draft.Notes);
        if (!changed)
        {
            return;
        }

        if (boot.Bootloader == Bootloader.ProxmoxBootTool)
        {
            // Host_Bootloader (pve.proxmox.com): refresh writes /etc/kernel/cmdline into the systemd-boot entries,
            // or runs update-grub, on every ESP listed in /etc/kernel/proxmox-boot-uuids.
            regeneration.Add(new PlannedCommand("proxmox-boot-tool", ["refresh"], "copy the kernels, initramfs and command line to every ESP in /etc/kernel/proxmox-boot-uuids"));
            return;
        }

        if (boot.Bootloader != Bootloader.Uki)
        {
            return;
        }

        switch (boot.UkiBuilder)
        {
            case UkiBuilder.Mkinitcpio:
                regeneration.RemoveAll(c => c.Program == "mkinitcpio");
                regeneration.Add(new PlannedCommand("mkinitcpio", ["-P"], "rebuild every preset's unified kernel image with the new command line and initramfs"));
                break;
            case UkiBuilder.KernelInstall:
                {
                    // kernel-install add runs the initramfs generator's plugin (dracut's 50-dracut.install) and ukify itself.
                    var dracut = regeneration.RemoveAll(c => c.Program == "dracut") > 0;
                    if (release is null || release.Trim().Length == 0)
                    {
                        notes.Add("Kernel release unknown (/proc/sys/kernel/osrelease not read): rebuild the unified kernel image on the host with `kernel-install add $(uname -r) /usr/lib/modules/$(uname -r)/vmlinuz`.");
                        break;
                    }

                    var r = release.Trim();
                    regeneration.Add(new PlannedCommand("kernel-install", ["add", r, $"/usr/lib/modules/{r}/vmlinuz"], $"rebuild the running kernel's unified kernel image with the new command line{(dracut ? " and initramfs" : string.Empty)}"));
                    notes.Add($"kernel-install rebuilds the image of the running kernel ({r}) only; other installed kernels get the new command line when they are next installed or updated.");
                    break;
                }

            default:
                break;
        }
    }

    /// <summary>The command that rebuilds the initramfs of every installed kernel.</summary>
    public static PlannedCommand Command(BootSetup boot) => boot.Initramfs switch
    {
        InitramfsGenerator.Dracut when boot.Bootloader == Bootloader.RpmOstree => new PlannedCommand("rpm-ostree", ["initramfs", "--enable"], "rebuild the initramfs locally with /etc/dracut.conf.d"),
        InitramfsGenerator.Dracut => new PlannedCommand("dracut", ["--force", "--regenerate-all"], "rebuild every installed kernel's initramfs"),
        InitramfsGenerator.Mkinitcpio => new PlannedCommand("mkinitcpio", ["-P"], "rebuild every preset's initramfs"),
        _ => new PlannedCommand("update-initramfs", ["-u", "-k", "all"], "rebuild every installed kernel's initramfs"),
    };

    [GeneratedRegex(@"^MODULES=\((?<list>[^)]*)\)", RegexOptions.Multiline)]
    private static partial Regex ModulesRegex();

    [GeneratedRegex(@"^HOOKS=\((?<list>[^)]*)\)", RegexOptions.Multiline)]
    private static partial Regex HooksRegex();
}
