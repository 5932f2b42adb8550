using Passthrough.Boot;
using Passthrough.Domain;

namespace Passthrough.Setup;

/// <summary>The kernel arguments: what every command line of the host gets, and where the bootloader in use
/// keeps them (files edited, or commands such as grubby, rpm-ostree and kernelstub).</summary>
internal static class KernelArgumentPlanner
{
    /// <summary>Arguments reported, never added (Documentation/admin-guide/kernel-parameters.txt). The
    /// "off" switches of the IOMMU are not here: the plan removes them.</summary>
    private static readonly (string Key, string? Value, string Reason)[] Risky =
    [
        ("pcie_acs_override", null, "needs an out-of-tree kernel patch and only pretends the devices are isolated: functions split into separate groups can still reach each other's memory; prefer another slot"),
        ("vfio_iommu_type1.allow_unsafe_interrupts", "1", "lets a device without interrupt remapping inject interrupts into the host; only for platforms that lack remapping"),
        ("amd_vfio_pass_fix", null, "only exists in the patched kernel of seed 003; a stock kernel ignores it"),
    ];

    /// <summary>The edit every command line of this host gets.</summary>
    public static Func<KernelCommandLine, KernelCommandLine> Change(SetupRequest request, BootSetup boot, IReadOnlyList<string> ids, SetupDraft draft)
    {
        var notes = draft.Notes;
        var facts = request.Facts;
        if (facts.IsAmd)
        {
            // amd_iommu has no "on" value (kernel-parameters.txt: off, fullflush, force_isolation, ...):
            // the AMD IOMMU is on when the firmware enables it; only an "off" must go.
            notes.Add("AMD CPU: the AMD IOMMU is on whenever the firmware enables it, so no amd_iommu= is added (amd_iommu=on is not a value the kernel knows); an amd_iommu=off would be removed.");
        }
        else if (!facts.IsIntel)
        {
            notes.Add("CPU vendor unknown (/proc/cpuinfo not read): no intel_iommu= is planned; Intel hosts need intel_iommu=on on kernels before 6.8 built without CONFIG_INTEL_IOMMU_DEFAULT_ON.");
        }

        var staticIds = request.Mode == PassthroughMode.Static ? ids : [];
        var releaseIds = request.Mode == PassthroughMode.Static ? [] : ids;
        var dracut = boot.Initramfs == InitramfsGenerator.Dracut;
        if (releaseIds.Count > 0)
        {
            notes.Add($"{request.Mode} mode: the host keeps its drivers at boot, so {string.Join(",", releaseIds)} are taken out of vfio-pci.ids if present.");
        }

        return line =>
        {
            var edited = line.Without("iommu", "off").Without("amd_iommu", "off");
            if (facts.IsIntel)
            {
                edited = edited.WithValue("intel_iommu", "on");
            }
            else
            {
                edited = edited.Without("intel_iommu", "off");
            }

            edited = edited.ValueOf("iommu") is "pt" ? edited : edited.WithValue("iommu", "pt");
            if (staticIds.Count > 0)
            {
                edited = edited.WithVfioIds(staticIds);
                if (dracut)
                {
                    // dracut.cmdline(7): rd.driver.pre= loads the module early in the initramfs.
                    var pre = (edited.ValueOf("rd.driver.pre") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries);
                    if (!pre.Any(p => KernelCommandLine.KeysEqual(p, "vfio-pci")))
                    {
                        edited = edited.WithValue("rd.driver.pre", string.Join(',', pre.Append("vfio-pci")));
                    }
                }
            }

            if (request.Hugepages is { } hugepages)
            {
                // The pool of the default size is the one hugetlbfs and libvirt's <hugepages/> use (hugetlbpage.rst).
                var size = hugepages.SizeArgument;
                edited = edited.WithValue("default_hugepagesz", size).WithValue("hugepagesz", size).WithValue("hugepages", hugepages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            return releaseIds.Count > 0 ? edited.WithoutVfioIds(releaseIds) : edited;
        };
    }

    /// <summary>Edits the files (or plans the commands) that hold the kernel arguments; returns what is added and removed.</summary>
    public static (IReadOnlyList<string> Added, IReadOnlyList<string> Removed) Plan(BootSetup boot, Func<KernelCommandLine, KernelCommandLine> change, SetupDraft draft)
    {
        var (files, edits, notes) = (draft.Files, draft.Edits, draft.Notes);
        var (argumentCommands, regeneration, undo, touched) = (draft.ArgumentCommands, draft.Regeneration, draft.Undo, draft.Touched);
        var added = new List<string>();
        var removed = new List<string>();
        void Collect(KernelCommandLine before, KernelCommandLine after)
        {
            foreach (var a in before.Added(after).Select(a => a.Text).Where(t => !added.Contains(t, StringComparer.Ordinal)))
            {
                added.Add(a);
            }

            foreach (var r in before.Removed(after).Select(a => a.Text).Where(t => !removed.Contains(t, StringComparer.Ordinal)))
            {
                removed.Add(r);
            }
        }

        foreach (var line in boot.Configured)
        {
            foreach (var c in line.Contradictions())
            {
                notes.Add($"The boot command line contradicts itself: {c}; the plan keeps one value.");
            }
        }

        switch (boot.Bootloader)
        {
            case Bootloader.Uki when boot.UkiBuilder == UkiBuilder.Mkinitcpio && boot.ArgsFiles.Count == 0 && boot.CmdlineDropIn is null:
                {
                    var current = boot.Configured.Count > 0 ? boot.Configured[0] : KernelCommandLine.Empty;
                    Collect(current, change(current));
                    if (added.Count > 0 || removed.Count > 0)
                    {
                        notes.Add($"The mkinitcpio preset bakes {boot.ArgsFile} into the unified kernel image and setup does not edit that file: "
                            + $"change it by hand ({string.Join(' ', added.Select(a => "+" + a).Concat(removed.Select(r => "-" + r)))}), then run `mkinitcpio -P`.");
                    }

                    added.Clear();
                    removed.Clear();
                    break;
                }

            case Bootloader.Uki when boot.UkiBuilder == UkiBuilder.None:
                {
                    var current = boot.Configured.Count > 0 ? boot.Configured[0] : KernelCommandLine.Empty;
                    Collect(current, change(current));
                    if (added.Count > 0 || removed.Count > 0)
                    {
                        notes.Add($"The command line is built into the unified kernel images ({string.Join(", ", boot.UnifiedKernelImages)}) and nothing on this host rebuilds them, so no file here can change it; nothing was planned for it. "
                            + $"Needed: {string.Join(' ', added.Select(a => "+" + a).Concat(removed.Select(r => "-" + r)))}. "
                            + "Build the images locally (kernel-install with layout=uki in /etc/kernel/install.conf and /etc/kernel/cmdline, or mkinitcpio *_uki= presets), or ask whoever builds and signs them.");
                    }

                    added.Clear();
                    removed.Clear();
                    break;
                }

            case Bootloader.Uki when boot.CmdlineDropIn is { } dropIn:
                {
                    // mkinitcpio joins /etc/cmdline.d/*.conf: remove where an argument is, add in a file of our own.
                    var combined = boot.Configured.Count > 0 ? boot.Configured[0] : KernelCommandLine.Empty;
                    var desired = change(combined);
                    Collect(combined, desired);
                    var take = combined.Removed(desired);
                    var give = combined.Added(desired);
                    foreach (var path in boot.ArgsFiles)
                    {
                        var before = files.Read(path) ?? string.Empty;
                        var after = CommandLineSites.Edit(CommandLineFormat.KernelCmdline, before, l => l.Except(take));
                        if (!string.Equals(before, after, StringComparison.Ordinal))
                        {
                            edits.Add(new FileEdit(path, before, after, "kernel arguments (unified kernel image, mkinitcpio)"));
                        }
                    }

                    var ours = files.Read(dropIn);
                    var oursAfter = CommandLineSites.Edit(CommandLineFormat.KernelCmdline, ours ?? SetupPlanner.Header + "# Joined with the other /etc/cmdline.d/*.conf into the unified kernel image's command line (mkinitcpio).\n", l => l.Except(take).Append(give));
                    if (!string.Equals(ours, oursAfter, StringComparison.Ordinal) && (ours is not null || give.Count > 0))
                    {
                        edits.Add(new FileEdit(dropIn, ours, oursAfter, "kernel arguments (unified kernel image, mkinitcpio)"));
                    }

                    break;
                }

            case Bootloader.Uki when boot.ArgsFile is { } created && !files.Exists(created):
                {
                    // kernel-install(8) and mkinitcpio(8) use /proc/cmdline when there is no file, minus what
                    // the loader added (BOOT_IMAGE=, initrd=): the new file is that line with the change.
                    var current = (boot.Configured.Count > 0 ? boot.Configured[0] : KernelCommandLine.Empty).Without("BOOT_IMAGE").Without("initrd");
                    var desired = change(current);
                    Collect(current, desired);
                    edits.Add(new FileEdit(created, null, desired + "\n", "kernel arguments (unified kernel image), from /proc/cmdline"));
                    break;
                }

            case Bootloader.Uki:
            case Bootloader.ProxmoxBootTool:
            case Bootloader.Grub:
            case Bootloader.SystemdBoot:
            case Bootloader.Limine:
            case Bootloader.Syslinux:
            case Bootloader.Refind:
                {
                    var changed = false;
                    foreach (var path in boot.ArgsFiles)
                    {
                        var format = boot.Formats[path];
                        var before = files.Read(path) ?? string.Empty;
                        var after = CommandLineSites.Edit(format, before, change);
                        foreach (var (b, a) in CommandLineSites.Read(format, before).Zip(CommandLineSites.Read(format, after)))
                        {
                            Collect(b, a);
                        }

                        if (format == CommandLineFormat.Limine && CommandLineSites.Read(format, after).Count > CommandLineSites.Read(format, before).Count)
                        {
                            foreach (var a in CommandLineSites.Read(format, after).Skip(CommandLineSites.Read(format, before).Count))
                            {
                                Collect(KernelCommandLine.Empty, a);
                            }
                        }

                        if (!string.Equals(before, after, StringComparison.Ordinal))
                        {
                            edits.Add(new FileEdit(path, before, after, $"kernel arguments ({BootSetup.Name(boot.Bootloader)})"));
                            changed = true;
                        }
                    }

                    if (changed && boot.Bootloader == Bootloader.Grub)
                    {
                        regeneration.Add(GrubCommand(files));
                    }

                    if (boot.Bootloader == Bootloader.ProxmoxBootTool && boot.ArgsFiles.Count == 0)
                    {
                        var current = boot.Configured.Count > 0 ? boot.Configured[0] : KernelCommandLine.Empty;
                        Collect(current, change(current));
                        if (added.Count > 0 || removed.Count > 0)
                        {
                            notes.Add($"proxmox-boot-tool manages the ESPs but neither /etc/kernel/cmdline nor /etc/default/grub exists: nothing was planned for the kernel arguments. Put {string.Join(' ', added)} in /etc/kernel/cmdline (systemd-boot) or GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub (GRUB), then run `proxmox-boot-tool refresh`.");
                        }

                        added.Clear();
                        removed.Clear();
                    }

                    if (boot.Bootloader == Bootloader.SystemdBoot && !files.Exists("/etc/kernel/cmdline"))
                    {
                        notes.Add("/etc/kernel/cmdline does not exist: kernel-install copies /proc/cmdline into new entries, which has the arguments after the reboot.");
                    }

                    break;
                }

            case Bootloader.GrubBls:
                {
                    var lines = boot.Configured;
                    foreach (var line in lines)
                    {
                        Collect(line, change(line));
                    }

                    if (added.Count > 0 || removed.Count > 0)
                    {
                        var args = new List<string> { "--update-kernel=ALL" };
                        if (added.Count > 0)
                        {
                            args.Add("--args=" + string.Join(' ', added));
                        }

                        if (removed.Count > 0)
                        {
                            args.Add("--remove-args=" + string.Join(' ', removed));
                        }

                        argumentCommands.Add(new PlannedCommand("grubby", args, "grubby rewrites the options of every BLS entry (and GRUB_CMDLINE_LINUX for new kernels)"));
                        touched.AddRange(boot.ArgsFiles);
                        touched.AddRange(new[] { "/etc/default/grub", "/boot/grub2/grubenv" }.Where(files.Exists));
                    }

                    break;
                }

            case Bootloader.RpmOstree:
            case Bootloader.Kernelstub:
                {
                    var current = boot.Configured.Count > 0 ? boot.Configured[0] : KernelCommandLine.Empty;
                    Collect(current, change(current));
                    if (added.Count == 0 && removed.Count == 0)
                    {
                        break;
                    }

                    if (boot.Bootloader == Bootloader.RpmOstree)
                    {
                        argumentCommands.Add(new PlannedCommand("rpm-ostree", ["kargs", .. added.Select(a => "--append-if-missing=" + a), .. removed.Select(r => "--delete-if-present=" + r)], "rpm-ostree stages a new deployment with these kernel arguments"));
                        undo.Add(new PlannedCommand("rpm-ostree", ["kargs", .. added.Select(a => "--delete-if-present=" + a), .. removed.Select(r => "--append-if-missing=" + r)], "take the kernel arguments back"));
                    }
                    else
                    {
                        var add = added.Count > 0 ? (string[])["--add-options", string.Join(' ', added)] : [];
                        var del = removed.Count > 0 ? (string[])["--delete-options", string.Join(' ', removed)] : [];
                        argumentCommands.Add(new PlannedCommand("kernelstub", [.. add, .. del], "kernelstub rewrites the systemd-boot entry and its configuration"));
                        undo.Add(new PlannedCommand("kernelstub", [.. added.Count > 0 ? (string[])["--delete-options", string.Join(' ', added)] : [], .. removed.Count > 0 ? (string[])["--add-options", string.Join(' ', removed)] : []], "take the kernel arguments back"));
                        touched.Add("/etc/kernelstub/configuration");
                    }

                    notes.Add("The arguments were compared with /proc/cmdline, the running kernel's.");
                    break;
                }

            default:
                {
                    var current = boot.Configured.Count > 0 ? boot.Configured[0] : KernelCommandLine.Empty;
                    Collect(current, change(current));
                    if (added.Count > 0 || removed.Count > 0)
                    {
                        notes.Add($"No bootloader was recognised, so nothing edits the kernel arguments: add {string.Join(' ', added)}{(removed.Count > 0 ? " and remove " + string.Join(' ', removed) : string.Empty)} by hand.");
                    }

                    added.Clear();
                    removed.Clear();
                    break;
                }
        }

        return (added, removed);
    }

    public static List<FlaggedArgument> Flag(BootSetup boot, BootFiles files)
    {
        var flagged = new List<FlaggedArgument>();
        var where = boot.ArgsFile ?? (boot.Bootloader is Bootloader.GrubBls ? "the BLS entries" : "/proc/cmdline");
        var sources = boot.Configured.Select(l => (Line: l, Where: where)).ToList();
        if (files.Read("/proc/cmdline") is { } proc)
        {
            sources.Add((KernelCommandLine.Parse(proc.Trim()), "/proc/cmdline"));
        }

        foreach (var (line, source) in sources)
        {
            foreach (var arg in line.Arguments)
            {
                foreach (var (key, value, reason) in Risky)
                {
                    if (arg.HasKey(key) && (value is null || arg.Value == value) && !flagged.Any(f => f.Argument == arg.Text))
                    {
                        flagged.Add(new FlaggedArgument(arg.Text, source, reason));
                    }
                }
            }
        }

        return flagged;
    }

    private static PlannedCommand GrubCommand(BootFiles files)
    {
        if (files.Exists("/usr/sbin/update-grub") || files.Exists("/usr/bin/update-grub"))
        {
            return new PlannedCommand("update-grub", [], "rebuild grub.cfg from /etc/default/grub");
        }

        return files.Exists("/usr/sbin/grub2-mkconfig") || files.Exists("/usr/bin/grub2-mkconfig") || files.Exists("/boot/grub2/grub.cfg")
            ? new PlannedCommand("grub2-mkconfig", ["-o", "/boot/grub2/grub.cfg"], "rebuild grub.cfg from /etc/default/grub")
            : new PlannedCommand("grub-mkconfig", ["-o", "/boot/grub/grub.cfg"], "rebuild grub.cfg from /etc/default/grub");
    }
}
