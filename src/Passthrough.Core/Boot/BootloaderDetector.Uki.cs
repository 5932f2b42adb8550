using System.Text.RegularExpressions;

namespace Passthrough.Boot;

/// <summary>Unified kernel images and proxmox-boot-tool: the systems where a tool, not a loader's config,
/// owns the kernel arguments.</summary>
public static partial class BootloaderDetector
{
    /// <summary>proxmox-boot-tool keeps the ESPs listed in /etc/kernel/proxmox-boot-uuids in sync; after an
    /// edit of /etc/kernel/cmdline (systemd-boot) or /etc/default/grub (GRUB) `proxmox-boot-tool refresh`
    /// applies it (https://pve.proxmox.com/wiki/Host_Bootloader).</summary>
    private static BootSetup? ProxmoxBootTool(BootFiles files, List<string> evidence, List<string> ignored, string? grubDefault)
    {
        const string uuidsFile = "/etc/kernel/proxmox-boot-uuids";
        var uuids = (files.Read(uuidsFile) ?? string.Empty).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        if (uuids.Count == 0)
        {
            return null;
        }

        evidence.Add($"{uuidsFile} lists {uuids.Count} ESP{(uuids.Count == 1 ? string.Empty : "s")} ({string.Join(", ", uuids)}): proxmox-boot-tool copies the kernels and the command line to each; `proxmox-boot-tool refresh` applies a change");
        const string kernelCmdline = "/etc/kernel/cmdline";
        var proc = files.Read("/proc/cmdline");
        // GRUB puts BOOT_IMAGE= first on the command line it boots; systemd-boot does not.
        var grubBooted = proc is not null && proc.TrimStart().StartsWith("BOOT_IMAGE=", StringComparison.Ordinal);
        var hasCmdline = files.Exists(kernelCmdline);
        if (hasCmdline && !grubBooted)
        {
            evidence.Add($"{kernelCmdline} exists{(proc is null ? string.Empty : " and /proc/cmdline has no BOOT_IMAGE= (GRUB sets it)")}: the ESPs boot systemd-boot, whose entries proxmox-boot-tool writes from this file");
            if (grubDefault is not null)
            {
                ignored.Add(grubDefault);
                evidence.Add($"{grubDefault} exists but systemd-boot on the ESPs boots this machine, not GRUB");
            }

            return Boot(Bootloader.ProxmoxBootTool, files, evidence, ignored, (kernelCmdline, CommandLineFormat.KernelCmdline)) with { ManagedLoader = Bootloader.SystemdBoot };
        }

        if (grubDefault is not null)
        {
            evidence.Add(grubBooted
                ? $"/proc/cmdline starts with BOOT_IMAGE=: GRUB boots this machine, from the grub.cfg proxmox-boot-tool generates out of {grubDefault}"
                : $"{grubDefault} exists and {kernelCmdline} does not: the ESPs boot GRUB, whose grub.cfg proxmox-boot-tool generates out of {grubDefault}");
            if (hasCmdline)
            {
                ignored.Add(kernelCmdline);
                evidence.Add($"{kernelCmdline} exists but only systemd-boot ESPs read it, and GRUB boots this machine");
            }

            return Boot(Bootloader.ProxmoxBootTool, files, evidence, ignored, (grubDefault, CommandLineFormat.GrubDefault)) with { ManagedLoader = Bootloader.Grub };
        }

        evidence.Add($"neither {kernelCmdline} (systemd-boot) nor /etc/default/grub (GRUB) exists: nothing tells proxmox-boot-tool which arguments to write");
        return new BootSetup { Bootloader = Bootloader.ProxmoxBootTool, Evidence = evidence, Ignored = ignored, Configured = ProcCmdline(files) };
    }

    /// <summary>
    /// Unified kernel images carry their command line inside (.cmdline section; uapi-group.org Boot Loader
    /// Specification, type 2 entries in $ESP/EFI/Linux), so loader entries and
    /// GRUB do not reach them. kernel-install(8) with layout=uki builds them from /etc/kernel/cmdline;
    /// mkinitcpio(8) presets with *_uki= from /etc/kernel/cmdline or /etc/cmdline.d/*.conf (ArchWiki,
    /// Unified kernel image); both fall back to /proc/cmdline when there is no file.
    /// </summary>
    private static BootSetup? UnifiedKernelImages(BootFiles files, List<string> evidence, List<string> ignored, string? grubDefault, string? limine, List<string> entries)
    {
        const string kernelCmdline = "/etc/kernel/cmdline";
        var images = EspRoots.SelectMany(r => files.PresentIn(r + "/EFI/Linux")).Where(p => p.EndsWith(".efi", StringComparison.OrdinalIgnoreCase)).ToList();
        var kernelInstall = files.Read("/etc/kernel/install.conf") is { } conf && LayoutUkiRegex().IsMatch(conf);
        var presets = files.In("/etc/mkinitcpio.d").Where(p => p.EndsWith(".preset", StringComparison.Ordinal) && PresetUkiRegex().IsMatch(files.Read(p) ?? string.Empty)).ToList();
        var alone = images.Count > 0 && entries.Count == 0 && grubDefault is null && limine is null;
        if (!kernelInstall && presets.Count == 0 && !alone)
        {
            return null;
        }

        evidence.Add(images.Count == 0
            ? "no unified kernel image in $ESP/EFI/Linux yet (the next build writes it there)"
            : $"{images.Count} unified kernel image{(images.Count == 1 ? string.Empty : "s")} ({string.Join(", ", images)}): each carries its own command line");
        if (kernelInstall)
        {
            evidence.Add("/etc/kernel/install.conf sets layout=uki: kernel-install builds the images, with the command line from /etc/kernel/cmdline");
        }

        foreach (var preset in presets)
        {
            evidence.Add($"{preset} sets a *_uki= image: mkinitcpio -P builds it, with the command line from /etc/kernel/cmdline or /etc/cmdline.d/*.conf");
        }

        if (entries.Count > 0)
        {
            evidence.Add($"loader entries ({string.Join(", ", entries)}) exist too: they boot other kernels with their own `options`, which the plan leaves alone");
        }

        if (files.Read("/etc/kernel/uki.conf") is { } ukiConf && UkiConfCmdlineRegex().IsMatch(ukiConf))
        {
            evidence.Add("/etc/kernel/uki.conf sets Cmdline=: ukify may take that instead of /etc/kernel/cmdline; check it after the rebuild");
        }

        if (grubDefault is not null)
        {
            ignored.Add(grubDefault);
            evidence.Add($"{grubDefault} exists but unified kernel images carry their own command line; GRUB's does not reach them");
        }

        var builder = presets.Count > 0 ? UkiBuilder.Mkinitcpio : kernelInstall ? UkiBuilder.KernelInstall : UkiBuilder.None;
        var result = new BootSetup { Bootloader = Bootloader.Uki, UkiBuilder = builder, UnifiedKernelImages = images, Evidence = evidence, Ignored = ignored };
        if (builder == UkiBuilder.None)
        {
            evidence.Add($"no layout=uki in /etc/kernel/install.conf and no *_uki= in /etc/mkinitcpio.d: nothing on this host rebuilds the images{(files.Exists(kernelCmdline) ? $", so {kernelCmdline} has no effect" : string.Empty)}");
            return result with { Configured = ProcCmdline(files) };
        }

        // A preset's *_options="--cmdline FILE" names the file mkinitcpio bakes in; only the well-known one is read here.
        var named = presets.SelectMany(p => PresetCmdlineRegex().Matches(files.Read(p) ?? string.Empty).Select(m => (Preset: p, File: m.Groups["file"].Value)))
            .Where(n => n.File != kernelCmdline).ToList();
        if (builder == UkiBuilder.Mkinitcpio && named.Count > 0)
        {
            evidence.Add($"{string.Join(", ", named.Select(n => $"{n.Preset} passes --cmdline {n.File}"))}: mkinitcpio bakes that file in, which setup does not edit");
            return result with { Configured = ProcCmdline(files), ArgsFile = named[0].File };
        }

        var dropIns = files.In("/etc/cmdline.d").Where(p => p.EndsWith(".conf", StringComparison.Ordinal)).ToList();
        if (builder == UkiBuilder.Mkinitcpio && !files.Exists(kernelCmdline) && dropIns.Count > 0)
        {
            const string ours = "/etc/cmdline.d/99-passthrough.conf";
            evidence.Add($"/etc/cmdline.d has {string.Join(", ", dropIns)}: mkinitcpio joins them into the command line");
            var sources = dropIns.Where(p => p != ours).ToList();
            return result with
            {
                ArgsFiles = sources,
                ArgsFile = ours,
                CmdlineDropIn = ours,
                Formats = dropIns.ToDictionary(p => p, _ => CommandLineFormat.KernelCmdline),
                Configured = [KernelCommandLine.Parse(string.Join(' ', dropIns.Select(p => CommandLineSites.Read(CommandLineFormat.KernelCmdline, files.Read(p) ?? string.Empty)[0].ToString())))],
            };
        }

        if (files.Exists(kernelCmdline))
        {
            evidence.Add($"{kernelCmdline} exists: the command line built into the images");
            if (builder == UkiBuilder.Mkinitcpio && dropIns.Count > 0)
            {
                evidence.Add($"/etc/cmdline.d also has {string.Join(", ", dropIns)}: check which one your mkinitcpio version reads");
            }

            return result with
            {
                ArgsFile = kernelCmdline,
                ArgsFiles = [kernelCmdline],
                Formats = new Dictionary<string, CommandLineFormat> { [kernelCmdline] = CommandLineFormat.KernelCmdline },
                Configured = [.. CommandLineSites.Read(CommandLineFormat.KernelCmdline, files.Read(kernelCmdline) ?? string.Empty)],
            };
        }

        evidence.Add($"{kernelCmdline} does not exist: the builder falls back to /proc/cmdline, so the plan creates the file from it");
        return result with
        {
            ArgsFile = kernelCmdline,
            ArgsFiles = [kernelCmdline],
            Formats = new Dictionary<string, CommandLineFormat> { [kernelCmdline] = CommandLineFormat.KernelCmdline },
            Configured = ProcCmdline(files),
        };
    }

    [GeneratedRegex(@"^\s*layout\s*=\s*[""']?uki[""']?\s*$", RegexOptions.Multiline)]
    private static partial Regex LayoutUkiRegex();

    /// <summary>An uncommented PRESET_uki= (or the older PRESET_efi_image=) in a mkinitcpio preset.</summary>
    [GeneratedRegex(@"^\s*[A-Za-z0-9]+_(uki|efi_image)=\S", RegexOptions.Multiline)]
    private static partial Regex PresetUkiRegex();

    [GeneratedRegex(@"^\s*[A-Za-z0-9]+_options=.*--cmdline[= ]+[""']?(?<file>[^\s""']+)", RegexOptions.Multiline)]
    private static partial Regex PresetCmdlineRegex();

    [GeneratedRegex(@"^\s*Cmdline\s*=", RegexOptions.Multiline)]
    private static partial Regex UkiConfCmdlineRegex();
}
