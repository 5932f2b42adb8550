using System.Text.RegularExpressions;

namespace Passthrough.Boot;

/// <summary>
/// Finds the bootloader and the file whose arguments boot, from a snapshot of files. Pure. The
/// order matters: image-based systems and tools that own the arguments first, then loaders
/// whose config is unambiguous, GRUB last, because /etc/default/grub often lingers after a switch.
/// </summary>
public static partial class BootloaderDetector
{
    /// <summary>Where Limine looks for its config (Limine's CONFIG.md: boot partition root, /limine, /boot, /boot/limine, /EFI/BOOT).</summary>
    public static IReadOnlyList<string> LimineConfigs { get; } =
    [
        "/boot/limine.conf", "/boot/limine/limine.conf", "/boot/EFI/BOOT/limine.conf", "/boot/EFI/limine/limine.conf",
        "/boot/efi/limine.conf", "/boot/efi/EFI/BOOT/limine.conf", "/boot/efi/EFI/limine/limine.conf",
        "/efi/limine.conf", "/efi/limine/limine.conf", "/efi/EFI/BOOT/limine.conf", "/efi/EFI/limine/limine.conf",
        "/boot/limine.cfg",
    ];

    public static IReadOnlyList<string> SyslinuxConfigs { get; } =
        ["/boot/syslinux/syslinux.cfg", "/boot/syslinux.cfg", "/boot/extlinux/extlinux.conf", "/boot/extlinux.conf"];

    private static readonly string[] EspRoots = ["/boot", "/efi", "/boot/efi"];

    public static BootSetup Detect(BootFiles files)
    {
        var boot = DetectBootloader(files);
        var (initramfs, evidence) = DetectInitramfs(files, boot.Bootloader);
        return boot with { Initramfs = initramfs, InitramfsEvidence = evidence };
    }

    private static BootSetup DetectBootloader(BootFiles files)
    {
        var evidence = new List<string>();
        var ignored = new List<string>();
        var grubDefault = files.Exists("/etc/default/grub") ? "/etc/default/grub" : null;
        var limine = files.FirstExisting(LimineConfigs);
        var syslinux = files.FirstExisting(SyslinuxConfigs);
        var sdBootLoaderConf = files.FirstExisting(EspRoots.Select(r => r + "/loader/loader.conf"));
        var sdBootEfi = files.FirstExisting(EspRoots.Select(r => r + "/EFI/systemd/systemd-bootx64.efi"));
        var entries = EspRoots.SelectMany(r => files.In(r + "/loader/entries")).Where(p => p.EndsWith(".conf", StringComparison.Ordinal)).ToList();
        var grubby = files.FirstExisting(["/usr/sbin/grubby", "/usr/bin/grubby"]);

        void IgnoreIfPresent(string? path, string why)
        {
            if (path is not null)
            {
                ignored.Add(path);
                evidence.Add($"{path} exists but {why}");
            }
        }

        if (files.Exists("/run/ostree-booted"))
        {
            evidence.Add("/run/ostree-booted exists: an rpm-ostree (image-based) deployment; its kernel arguments are set with `rpm-ostree kargs`, not in a file");
            IgnoreIfPresent(grubDefault, "rpm-ostree does not read it for deployments");
            return new BootSetup { Bootloader = Bootloader.RpmOstree, Evidence = evidence, Ignored = ignored, Configured = ProcCmdline(files) };
        }

        if (files.Exists("/etc/kernelstub/configuration"))
        {
            evidence.Add("/etc/kernelstub/configuration exists: kernelstub (Pop!_OS) writes the systemd-boot entry; arguments are changed with `kernelstub --add-options`");
            return new BootSetup { Bootloader = Bootloader.Kernelstub, Evidence = evidence, Configured = ProcCmdline(files) };
        }

        if (ProxmoxBootTool(files, evidence, ignored, grubDefault) is { } proxmox)
        {
            return proxmox;
        }

        if (UnifiedKernelImages(files, evidence, ignored, grubDefault, limine, entries) is { } uki)
        {
            return uki;
        }

        if (limine is not null)
        {
            var format = CommandLineFormat.Limine;
            evidence.Add($"{limine} exists: Limine reads its entries' `cmdline:` lines");
            IgnoreIfPresent(syslinux, "Limine boots this machine, so syslinux's APPEND lines have no effect (seed 004)");
            IgnoreIfPresent(grubDefault, "Limine boots this machine, not GRUB");
            return Boot(Bootloader.Limine, files, evidence, ignored, (limine, format));
        }

        var sdBoot = sdBootEfi is not null || (sdBootLoaderConf is not null && grubDefault is null);
        if (sdBoot)
        {
            if (sdBootEfi is not null)
            {
                evidence.Add($"{sdBootEfi} exists: systemd-boot is installed in the ESP");
            }

            if (sdBootLoaderConf is not null)
            {
                evidence.Add($"{sdBootLoaderConf} exists: systemd-boot's loader configuration");
            }

            var targets = new List<(string, CommandLineFormat)>();
            if (files.Exists("/etc/kernel/cmdline"))
            {
                evidence.Add("/etc/kernel/cmdline exists: kernel-install writes it into every new entry");
                targets.Add(("/etc/kernel/cmdline", CommandLineFormat.KernelCmdline));
            }

            evidence.Add(entries.Count == 0 ? "no loader entries found" : $"{entries.Count} loader entr{(entries.Count == 1 ? "y" : "ies")} ({string.Join(", ", entries)}): their `options` lines boot now");
            targets.AddRange(entries.Select(e => (e, CommandLineFormat.BlsEntry)));
            IgnoreIfPresent(grubDefault, "systemd-boot boots this machine, not GRUB");
            return Boot(Bootloader.SystemdBoot, files, evidence, ignored, [.. targets]);
        }

        if (grubDefault is not null)
        {
            var text = files.Read(grubDefault) ?? string.Empty;
            var bls = BlsEnabledRegex().IsMatch(text);
            if (bls && grubby is not null && entries.Count > 0)
            {
                evidence.Add($"{grubDefault} sets GRUB_ENABLE_BLSCFG=true: GRUB reads the BLS entries ({string.Join(", ", entries)})");
                evidence.Add($"{grubby} exists: grubby edits the entries (`grubby --update-kernel=ALL --args=...`)");
                return new BootSetup
                {
                    Bootloader = Bootloader.GrubBls,
                    ArgsFiles = entries,
                    Formats = entries.ToDictionary(e => e, _ => CommandLineFormat.BlsEntry),
                    Evidence = evidence,
                    Ignored = ignored,
                    Configured = [.. entries.SelectMany(e => CommandLineSites.Read(CommandLineFormat.BlsEntry, files.Read(e) ?? string.Empty))],
                };
            }

            evidence.Add($"{grubDefault} exists: grub-mkconfig builds grub.cfg from GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT");
            var cfg = files.FirstExisting(["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"]);
            if (cfg is not null)
            {
                evidence.Add($"{cfg} exists: the generated GRUB configuration");
            }

            foreach (var dropIn in files.In("/etc/default/grub.d").Where(p => p.EndsWith(".cfg", StringComparison.Ordinal)))
            {
                if (GrubCmdlineRegex().IsMatch(files.Read(dropIn) ?? string.Empty))
                {
                    evidence.Add($"{dropIn} also sets GRUB_CMDLINE_LINUX*: grub-mkconfig reads it after {grubDefault}, so it can override the edit");
                }
            }

            IgnoreIfPresent(syslinux, "GRUB boots this machine");
            return Boot(Bootloader.Grub, files, evidence, ignored, (grubDefault, CommandLineFormat.GrubDefault));
        }

        if (files.Exists("/boot/refind_linux.conf"))
        {
            evidence.Add("/boot/refind_linux.conf exists: rEFInd takes the options of the line it boots from there");
            return Boot(Bootloader.Refind, files, evidence, ignored, ("/boot/refind_linux.conf", CommandLineFormat.Refind));
        }

        if (syslinux is not null)
        {
            evidence.Add($"{syslinux} exists and no Limine, systemd-boot or GRUB configuration was found: syslinux's APPEND lines boot");
            return Boot(Bootloader.Syslinux, files, evidence, ignored, (syslinux, CommandLineFormat.Syslinux));
        }

        evidence.Add("none of /etc/default/grub, loader entries, limine.conf, syslinux.cfg, refind_linux.conf, /etc/kernelstub/configuration or /run/ostree-booted was found");
        return new BootSetup { Bootloader = Bootloader.Unknown, Evidence = evidence, Configured = ProcCmdline(files) };
    }

    private static BootSetup Boot(Bootloader bootloader, BootFiles files, List<string> evidence, List<string> ignored, params (string Path, CommandLineFormat Format)[] targets) =>
        new()
        {
            Bootloader = bootloader,
            ArgsFile = targets.Length > 0 ? targets[0].Path : null,
            ArgsFiles = [.. targets.Select(t => t.Path)],
            Formats = targets.ToDictionary(t => t.Path, t => t.Format),
            Evidence = evidence,
            Ignored = ignored,
            Configured = targets.Length == 0
                ? []
                : [.. CommandLineSites.Read(targets[^1].Format, files.Read(targets[^1].Path) ?? string.Empty)],
        };

    private static IReadOnlyList<KernelCommandLine> ProcCmdline(BootFiles files) =>
        files.Read("/proc/cmdline") is { } text ? [KernelCommandLine.Parse(text.Trim())] : [];

    private static (InitramfsGenerator, IReadOnlyList<string>) DetectInitramfs(BootFiles files, Bootloader bootloader)
    {
        var dracut = files.FirstExisting(["/usr/bin/dracut", "/usr/sbin/dracut"]);
        if (dracut is not null)
        {
            var why = new List<string> { $"{dracut} exists: dracut builds the initramfs and reads /etc/dracut.conf.d/*.conf" };
            if (bootloader == Bootloader.RpmOstree)
            {
                why.Add("on rpm-ostree the initramfs is rebuilt locally with `rpm-ostree initramfs --enable`, which runs dracut with /etc's configuration");
            }

            return (InitramfsGenerator.Dracut, why);
        }

        if (files.Exists("/usr/bin/mkinitcpio") || files.Exists("/etc/mkinitcpio.conf"))
        {
            return (InitramfsGenerator.Mkinitcpio, [$"{(files.Exists("/usr/bin/mkinitcpio") ? "/usr/bin/mkinitcpio" : "/etc/mkinitcpio.conf")} exists: mkinitcpio builds the initramfs from MODULES in /etc/mkinitcpio.conf"]);
        }

        if (files.Exists("/usr/sbin/update-initramfs") || files.Exists("/etc/initramfs-tools/modules"))
        {
            return (InitramfsGenerator.InitramfsTools, [$"{(files.Exists("/usr/sbin/update-initramfs") ? "/usr/sbin/update-initramfs" : "/etc/initramfs-tools/modules")} exists: initramfs-tools builds the initramfs and loads the modules listed in /etc/initramfs-tools/modules"]);
        }

        return (InitramfsGenerator.None, ["no dracut, mkinitcpio or initramfs-tools found: the initramfs is not built on this host (Unraid ships bzroot) or there is none"]);
    }


    [GeneratedRegex(@"^\s*GRUB_ENABLE_BLSCFG=[""']?true", RegexOptions.Multiline)]
    private static partial Regex BlsEnabledRegex();

    [GeneratedRegex(@"^\s*(export\s+)?GRUB_CMDLINE_LINUX(_DEFAULT)?=", RegexOptions.Multiline)]
    private static partial Regex GrubCmdlineRegex();
}
