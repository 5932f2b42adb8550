using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Passthrough.Boot;
using Passthrough.Domain;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Setup;

/// <summary>What the plan is for: the mode, the functions passed to the VM, and the host.</summary>
public sealed record SetupRequest
{
    public required PassthroughMode Mode { get; init; }

    /// <summary>The functions the VM gets (every function of the GPU); may be empty for host-only setup.</summary>
    public IReadOnlyList<PciFunction> Functions { get; init; } = [];

    public HostFacts Facts { get; init; } = new();

    public required BootFiles Files { get; init; }

    public SetupRequest WithMode(PassthroughMode mode) => this with { Mode = mode };
}

/// <summary>
/// Computes the setup plan from a request. Pure: the same files and inventory give the same plan,
/// and a plan made after applying it is empty (every step checks what is already there).
/// </summary>
public static partial class SetupPlanner
{
    public const string ModprobeFile = "/etc/modprobe.d/passthrough-vfio.conf";
    public const string DracutFile = "/etc/dracut.conf.d/passthrough-vfio.conf";
    public const string BindUnit = "passthrough-vfio-bind.service";
    public const string BindUnitFile = "/etc/systemd/system/" + BindUnit;
    public const string MemlockDropIn = "passthrough-memlock.conf";

    private const string Header = "# Written by `passthrough setup`; `passthrough setup undo` removes it.\n";

    /// <summary>Arguments reported, never added (Documentation/admin-guide/kernel-parameters.txt). The
    /// "off" switches of the IOMMU are not here: the plan removes them.</summary>
    private static readonly (string Key, string? Value, string Reason)[] Risky =
    [
        ("pcie_acs_override", null, "needs an out-of-tree kernel patch and only pretends the devices are isolated: functions split into separate groups can still reach each other's memory; prefer another slot"),
        ("vfio_iommu_type1.allow_unsafe_interrupts", "1", "lets a device without interrupt remapping inject interrupts into the host; only for platforms that lack remapping"),
        ("amd_vfio_pass_fix", null, "only exists in the patched kernel of seed 003; a stock kernel ignores it"),
    ];

    public static SetupPlan Plan(SetupRequest request)
    {
        var files = request.Files;
        var boot = BootloaderDetector.Detect(files);
        var notes = new List<string>();
        var edits = new List<FileEdit>();
        var argumentCommands = new List<PlannedCommand>();
        var regeneration = new List<PlannedCommand>();
        var undo = new List<PlannedCommand>();
        var touched = new List<string>();
        var units = new List<string>();
        var ids = request.Functions.Where(f => f.VendorId is not null && f.DeviceId is not null).Select(f => f.IdsText).Distinct(StringComparer.Ordinal).ToList();
        var kernel = KernelVersion(request.Facts.KernelRelease ?? files.Read("/proc/sys/kernel/osrelease"));

        // Kernel arguments.
        var change = ArgumentChange(request, boot, ids, notes);
        var (added, removed) = PlanArguments(boot, files, change, edits, argumentCommands, regeneration, undo, touched, notes);
        var flagged = Flag(boot, files);

        // modprobe.d, initramfs and the boot-time binding unit (static mode only).
        var initramfsChanged = false;
        var modprobeChanged = false;
        var unraid = files.Exists("/etc/unraid-version") || files.Exists("/boot/config/vfio-pci.cfg");
        if (unraid && request.Mode == PassthroughMode.Static && ids.Count > 0)
        {
            notes.Add("Unraid rebuilds /etc from the flash drive at every boot, so no modprobe.d file is written: vfio-pci.ids on the kernel command line binds the devices.");
            if (files.Read("/boot/config/vfio-pci.cfg") is { } cfg && cfg.Contains("BIND=", StringComparison.Ordinal) && cfg.Trim() != "BIND=")
            {
                notes.Add("/boot/config/vfio-pci.cfg also binds devices (" + cfg.Trim() + "): binding the same devices both ways caused conflicts in seed 004; keep one (Tools > System Devices clears it).");
            }
        }
        else if (request.Mode == PassthroughMode.Static && ids.Count > 0)
        {
            var editsBefore = edits.Count;
            var kept = PlanOtherVfioIds(files, request.Mode, ids, edits, notes);
            foreach (var id in KeptIds(files.Read(ModprobeFile)))
            {
                if (!kept.Contains(id, StringComparer.OrdinalIgnoreCase) && !ids.Contains(id, StringComparer.OrdinalIgnoreCase))
                {
                    kept.Add(id); // moved here by an earlier apply: the other file no longer has them
                }
            }

            modprobeChanged = edits.Count > editsBefore;
            modprobeChanged |= AddIfChanged(edits, files, ModprobeFile, ModprobeConf(request.Functions, ids, kept), "vfio-pci claims the devices when it loads, before their usual drivers (softdep)");
            initramfsChanged = PlanInitramfs(boot, files, kernel, edits, regeneration, notes);
            if (modprobeChanged && !initramfsChanged && boot.Initramfs != InitramfsGenerator.None)
            {
                // modprobe.d is copied into the initramfs; rebuild it so the options apply early.
                regeneration.Add(InitramfsCommand(boot));
                initramfsChanged = true;
            }

            var early = request.Functions.Where(f => NeedsBindingUnit(f, request.Facts)).ToList();
            if (early.Count > 0)
            {
                if (AddIfChanged(edits, files, BindUnitFile, BindingUnit(early), string.Join("; ", early.Select(EarlyReason))))
                {
                    units.Add(BindUnit);
                }
                else if (!files.Exists("/etc/systemd/system/multi-user.target.wants/" + BindUnit))
                {
                    units.Add(BindUnit);
                }
            }

            if (request.Functions.Any(f => f.BootVga == true))
            {
                notes.Add("This GPU shows the firmware's boot console (boot_vga=1): in static mode the host gets no display from it. Use another GPU for the host, or --mode single-gpu.");
            }
        }
        else if (request.Mode == PassthroughMode.Static)
        {
            notes.Add("No GPU was given (--slot or --vm): only the IOMMU arguments and libvirt settings are planned.");
        }
        else if (ids.Count > 0)
        {
            var editsBefore = edits.Count;
            PlanOtherVfioIds(files, request.Mode, ids, edits, notes);
            if (edits.Count > editsBefore)
            {
                // The GPU came off another file's vfio-pci ids: rebuild the initramfs, which carries modprobe.d.
                modprobeChanged = true;
                if (boot.Initramfs != InitramfsGenerator.None)
                {
                    regeneration.Add(InitramfsCommand(boot));
                    initramfsChanged = true;
                }
            }
        }

        if (request.Mode != PassthroughMode.Static && (files.Exists(ModprobeFile) || files.Exists(DracutFile) || files.Exists(BindUnitFile)))
        {
            notes.Add($"Files from a static-mode setup are present ({string.Join(", ", new[] { ModprobeFile, DracutFile, BindUnitFile }.Where(files.Exists))}); `passthrough setup undo` removes them.");
        }

        var argumentsChanged = added.Count > 0 || removed.Count > 0;
        PlanBootRefresh(boot, request.Facts.KernelRelease ?? files.Read("/proc/sys/kernel/osrelease"), argumentsChanged || initramfsChanged, regeneration, notes);

        // libvirt: QEMU pins guest memory for VFIO DMA and inherits the daemon's RLIMIT_MEMLOCK (seed 003).
        var daemonReload = units.Count > 0 || edits.Any(e => e.Path.StartsWith("/etc/systemd/system/", StringComparison.Ordinal));
        var memlock = PlanMemlock(files, edits, notes);
        daemonReload |= memlock;

        var reboot = added.Count > 0 || removed.Count > 0 || initramfsChanged || modprobeChanged || units.Count > 0;
        if (memlock && !reboot)
        {
            notes.Add("Restart virtqemud (or libvirtd) for the new memory lock limit to apply.");
        }

        return new SetupPlan
        {
            Mode = request.Mode,
            Boot = boot,
            Devices = [.. request.Functions.Select(f => $"{f.Address} [{f.IdsText}]{(f.Driver is null ? string.Empty : " " + f.Driver)}")],
            ArgumentsAdded = added,
            ArgumentsRemoved = removed,
            Edits = edits,
            ArgumentCommands = argumentCommands,
            RegenerationCommands = regeneration,
            UndoCommands = undo,
            CommandTouchedFiles = touched,
            DaemonReload = daemonReload,
            UnitsToEnable = units,
            RebootNeeded = reboot,
            Flagged = flagged,
            Notes = notes,
        };
    }

    /// <summary>The edit every command line of this host gets.</summary>
    private static Func<KernelCommandLine, KernelCommandLine> ArgumentChange(SetupRequest request, BootSetup boot, IReadOnlyList<string> ids, List<string> notes)
    {
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

            return releaseIds.Count > 0 ? edited.WithoutVfioIds(releaseIds) : edited;
        };
    }

    private static (IReadOnlyList<string> Added, IReadOnlyList<string> Removed) PlanArguments(
        BootSetup boot,
        BootFiles files,
        Func<KernelCommandLine, KernelCommandLine> change,
        List<FileEdit> edits,
        List<PlannedCommand> argumentCommands,
        List<PlannedCommand> regeneration,
        List<PlannedCommand> undo,
        List<string> touched,
        List<string> notes)
    {
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
                    var oursAfter = CommandLineSites.Edit(CommandLineFormat.KernelCmdline, ours ?? Header + "# Joined with the other /etc/cmdline.d/*.conf into the unified kernel image's command line (mkinitcpio).\n", l => l.Except(take).Append(give));
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

    private static List<FlaggedArgument> Flag(BootSetup boot, BootFiles files)
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

    private static bool PlanInitramfs(BootSetup boot, BootFiles files, Version? kernel, List<FileEdit> edits, List<PlannedCommand> regeneration, List<string> notes)
    {
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
                changed = AddIfChanged(edits, files, DracutFile, Header + $"# vfio-pci in the initramfs so it claims the GPU before its driver loads.\nforce_drivers+=\" {string.Join(' ', modules)} \"\n", "dracut puts vfio-pci in the initramfs and loads it first");
                break;
            case InitramfsGenerator.Mkinitcpio:
                changed = EditMkinitcpio(files, modules, edits, notes);
                break;
            case InitramfsGenerator.InitramfsTools:
                {
                    var before = files.Read("/etc/initramfs-tools/modules") ?? string.Empty;
                    var present = before.Split('\n').Select(l => l.Split('#')[0].Trim().Split(' ')[0]).ToHashSet(StringComparer.Ordinal);
                    var missing = modules.Where(m => !present.Contains(m) && !present.Contains(m.Replace('_', '-'))).ToList();
                    var after = missing.Count == 0 ? before : (before.Length == 0 || before.EndsWith('\n') ? before : before + "\n") + string.Concat(missing.Select(m => m + "\n"));
                    changed = AddIfChanged(edits, files, "/etc/initramfs-tools/modules", after, "initramfs-tools loads these modules early, in this order");
                    break;
                }

            default:
                notes.Add("No initramfs generator found: vfio-pci must be loaded early by other means (Unraid binds with vfio-pci.ids on the kernel command line).");
                return false;
        }

        if (changed)
        {
            regeneration.Add(InitramfsCommand(boot));
        }

        return changed;
    }

    private static bool EditMkinitcpio(BootFiles files, string[] modules, List<FileEdit> edits, List<string> notes)
    {
        const string path = "/etc/mkinitcpio.conf";
        var before = files.Read(path);
        if (before is null)
        {
            notes.Add($"{path} not found: add {string.Join(' ', modules)} to MODULES by hand.");
            return false;
        }

        if (HooksRegex().Match(before) is { Success: true } hooks && !hooks.Groups["list"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("modconf"))
        {
            notes.Add($"{path} HOOKS lacks modconf: {ModprobeFile} will not be in the initramfs.");
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

        return AddIfChanged(edits, files, path, after, "mkinitcpio loads MODULES first, so vfio-pci binds before the GPU driver");
    }

    private static readonly Comparer<string> VfioFirst = Comparer<string>.Create((a, b) => Rank(a).CompareTo(Rank(b)));

    private static int Rank(string module) => module switch
    {
        "vfio_pci" => 0,
        "vfio" => 1,
        "vfio_iommu_type1" => 2,
        _ => 3,
    };

    private static bool PlanMemlock(BootFiles files, List<FileEdit> edits, List<string> notes)
    {
        var daemons = new[] { "virtqemud", "libvirtd" }
            .Where(d => files.Exists($"/usr/lib/systemd/system/{d}.service") || files.Exists($"/lib/systemd/system/{d}.service"))
            .ToList();
        if (daemons.Count == 0)
        {
            notes.Add("Neither virtqemud.service nor libvirtd.service was found: no LimitMEMLOCK drop-in is planned.");
            return false;
        }

        var changed = false;
        foreach (var daemon in daemons)
        {
            var dir = $"/etc/systemd/system/{daemon}.service.d";
            var ours = $"{dir}/{MemlockDropIn}";
            var elsewhere = files.In(dir).FirstOrDefault(p => p != ours && p.EndsWith(".conf", StringComparison.Ordinal) && MemlockRegex().IsMatch(files.Read(p) ?? string.Empty));
            if (elsewhere is not null)
            {
                notes.Add($"{elsewhere} already sets LimitMEMLOCK=infinity for {daemon}.");
                continue;
            }

            changed |= AddIfChanged(edits, files, ours, Header + "# QEMU pins guest memory for VFIO DMA and inherits this limit from the daemon (seed 003).\n[Service]\nLimitMEMLOCK=infinity\n", $"{daemon} starts QEMU with an unlimited locked-memory limit");
        }

        return changed;
    }

    private static bool AddIfChanged(List<FileEdit> edits, BootFiles files, string path, string content, string reason)
    {
        var before = files.Read(path);
        if (string.Equals(before, content, StringComparison.Ordinal))
        {
            return false;
        }

        edits.Add(new FileEdit(path, before, content, reason));
        return true;
    }

    /// <summary>
    /// Other /etc/modprobe.d files that give vfio-pci its ids (seed 000's vfio.conf). modprobe(8)
    /// passes every options line, and of two ids= the one read last wins silently (modprobe.d(5)
    /// reads the files in order), so one file must own the list. Static mode: the ids move into
    /// Passthrough's file and the returned ids (the GPU's excluded) are kept there. Dynamic and
    /// single-GPU: the host must keep the GPU at boot, so only its ids are taken out. The original
    /// line stays as a comment; the line's other parameters (disable_vga=1, ...) stay.
    /// </summary>
    private static List<string> PlanOtherVfioIds(BootFiles files, PassthroughMode mode, IReadOnlyList<string> ids, List<FileEdit> edits, List<string> notes)
    {
        var kept = new List<string>();
        foreach (var path in files.In("/etc/modprobe.d"))
        {
            if (path == ModprobeFile || !path.EndsWith(".conf", StringComparison.Ordinal) || files.Read(path) is not { } text)
            {
                continue;
            }

            var lines = text.Split('\n');
            var output = new List<string>(lines.Length + 2);
            var changed = false;
            foreach (var line in lines)
            {
                var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                var idsAt = Array.FindIndex(words, w => w.StartsWith("ids=", StringComparison.Ordinal));
                if (words.Length < 3 || words[0] != "options" || words[1] is not ("vfio-pci" or "vfio_pci") || idsAt < 2)
                {
                    if (words.Length >= 3 && words[0] == "options" && words[1] == "vfio_iommu_type1" && words.Contains("allow_unsafe_interrupts=1"))
                    {
                        notes.Add($"{path} sets vfio_iommu_type1 allow_unsafe_interrupts=1, which lets a device without interrupt remapping inject interrupts into the host; keep it only if `passthrough doctor` says this platform lacks interrupt remapping.");
                    }

                    output.Add(line);
                    continue;
                }

                var listed = words[idsAt]["ids=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries);
                var others = listed.Where(id => !ids.Contains(id, StringComparer.OrdinalIgnoreCase)).ToList();
                var remaining = mode == PassthroughMode.Static ? [] : others;
                if (remaining.Count == listed.Length)
                {
                    output.Add(line);
                    continue;
                }

                if (mode == PassthroughMode.Static)
                {
                    kept.AddRange(others.Where(id => !kept.Contains(id, StringComparer.OrdinalIgnoreCase)));
                }

                var rest = words.Where((_, i) => i != idsAt).ToList();
                if (remaining.Count > 0)
                {
                    rest.Insert(idsAt, "ids=" + string.Join(',', remaining));
                }

                output.Add("# passthrough setup changed this line (undo restores it): " + line.Trim());
                if (rest.Count > 2)
                {
                    output.Add(string.Join(' ', rest));
                }

                changed = true;
            }

            if (changed)
            {
                var reason = mode == PassthroughMode.Static
                    ? $"vfio-pci's ids move to {ModprobeFile}: with ids= in two files, the one read last wins and the other list is silently ignored"
                    : "the GPU's ids come off vfio-pci's list: in this mode the host keeps the GPU at boot and hands it over when the VM starts";
                edits.Add(new FileEdit(path, text, string.Join('\n', output), reason));
            }
        }

        if (kept.Count > 0)
        {
            notes.Add($"vfio-pci keeps binding {string.Join(',', kept)} from the other modprobe.d file; vfio-pci never binds bridges (header type 1), so ids of PCI bridges there do nothing and can go.");
        }

        return kept;
    }

    private const string KeptIdsComment = "# ids kept from other modprobe.d files: ";

    /// <summary>The ids an earlier plan moved into Passthrough's file from other files.</summary>
    private static string[] KeptIds(string? ourFile) =>
        ourFile?.Split('\n').FirstOrDefault(l => l.StartsWith(KeptIdsComment, StringComparison.Ordinal)) is { } line
            ? line[KeptIdsComment.Length..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];

    private static string ModprobeConf(IReadOnlyList<PciFunction> functions, IReadOnlyList<string> ids, List<string> kept)
    {
        var sb = new StringBuilder(Header);
        sb.Append("# modprobe.d(5): vfio-pci takes these vendor:device ids; softdep loads it before each GPU driver.\n");
        if (kept.Count > 0)
        {
            sb.Append(KeptIdsComment).AppendJoin(',', kept).Append('\n');
        }

        sb.Append("options vfio-pci ids=").AppendJoin(',', ids.Concat(kept)).Append('\n');
        foreach (var driver in SoftdepDrivers(functions))
        {
            sb.Append("softdep ").Append(driver).Append(" pre: vfio-pci\n");
        }

        return sb.ToString();
    }

    /// <summary>The loadable drivers that would otherwise take the display and audio functions.</summary>
    private static IEnumerable<string> SoftdepDrivers(IReadOnlyList<PciFunction> functions)
    {
        var drivers = new List<string>();
        foreach (var f in functions)
        {
            if (f.IsDisplay)
            {
                drivers.AddRange(f.Driver is { } d && d != "vfio-pci" ? [d] : VendorDisplayDrivers(f.VendorId));
            }
            else if (IsAudio(f))
            {
                drivers.Add(f.Driver is { } d && d != "vfio-pci" ? d : "snd_hda_intel");
            }
        }

        return drivers.Select(d => d.Replace('-', '_')).Distinct(StringComparer.Ordinal);
    }

    private static string[] VendorDisplayDrivers(int? vendor) => vendor switch
    {
        0x1002 => ["amdgpu", "radeon"],
        0x10de => ["nouveau", "nvidia"],
        0x8086 => ["i915", "xe"],
        _ => [],
    };

    private static bool IsAudio(PciFunction f) => f.Class is { } c && (c.Code >> 8) == 0x0403;

    /// <summary>Functions whose driver is built in or loads before modprobe.d applies (seed 003: the
    /// GPU's xHCI and I2C/UCSI functions), so only a boot-time rebind moves them to vfio-pci.</summary>
    public static bool NeedsBindingUnit(PciFunction f, HostFacts facts)
    {
        if (f.Driver == "vfio-pci" && f.DriverOverride == "vfio-pci")
        {
            return false;
        }

        if (!f.IsDisplay && !IsAudio(f))
        {
            return true;
        }

        // A bound driver that is not a loaded module is built into the kernel.
        return f.Driver is { } driver && driver != "vfio-pci" && facts.LoadedModules is { } loaded
            && !loaded.Contains(driver.Replace('-', '_')) && !loaded.Contains(driver);
    }

    private static string EarlyReason(PciFunction f) =>
        $"{f.Address} ({f.Class?.Description ?? "function"}{(f.Driver is null ? string.Empty : ", driver " + f.Driver)}) has a driver that is built in or loads before modprobe.d applies";

    private static string BindingUnit(IReadOnlyList<PciFunction> functions)
    {
        var sb = new StringBuilder(Header);
        sb.Append("# Binds functions whose drivers are built in or load early to vfio-pci, through\n");
        sb.Append("# driver_override and drivers_probe (Documentation/ABI/testing/sysfs-bus-pci).\n");
        sb.Append("[Unit]\n");
        sb.Append("Description=Bind ").AppendJoin(' ', functions.Select(f => f.Address.ToString())).Append(" to vfio-pci (passthrough)\n");
        sb.Append("After=systemd-modules-load.service\n");
        sb.Append("Before=libvirtd.service virtqemud.service\n");
        foreach (var f in functions)
        {
            sb.Append(CultureInfo.InvariantCulture, $"ConditionPathExists=/sys/bus/pci/devices/{f.Address}\n");
        }

        sb.Append("\n[Service]\nType=oneshot\nRemainAfterExit=yes\n");
        sb.Append("ExecStart=/sbin/modprobe vfio-pci\n");
        foreach (var f in functions)
        {
            var dev = $"/sys/bus/pci/devices/{f.Address}";
            sb.Append(CultureInfo.InvariantCulture, $"ExecStart=/bin/sh -c 'echo vfio-pci > {dev}/driver_override'\n");
            sb.Append(CultureInfo.InvariantCulture, $"ExecStart=/bin/sh -c 'if [ -e {dev}/driver ]; then echo {f.Address} > {dev}/driver/unbind; fi'\n");
            sb.Append(CultureInfo.InvariantCulture, $"ExecStart=/bin/sh -c 'echo {f.Address} > /sys/bus/pci/drivers_probe'\n");
        }

        sb.Append("\n[Install]\nWantedBy=multi-user.target\n");
        return sb.ToString();
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

    /// <summary>
    /// The command that carries the edited files into what boots, last: unified kernel images are rebuilt
    /// (the initramfs inside them too, so a separate initramfs rebuild is dropped); proxmox-boot-tool copies
    /// the kernels, initramfs and command line to every ESP.
    /// </summary>
    private static void PlanBootRefresh(BootSetup boot, string? release, bool changed, List<PlannedCommand> regeneration, List<string> notes)
    {
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

    private static PlannedCommand InitramfsCommand(BootSetup boot) => boot.Initramfs switch
    {
        InitramfsGenerator.Dracut when boot.Bootloader == Bootloader.RpmOstree => new PlannedCommand("rpm-ostree", ["initramfs", "--enable"], "rebuild the initramfs locally with /etc/dracut.conf.d"),
        InitramfsGenerator.Dracut => new PlannedCommand("dracut", ["--force", "--regenerate-all"], "rebuild every installed kernel's initramfs"),
        InitramfsGenerator.Mkinitcpio => new PlannedCommand("mkinitcpio", ["-P"], "rebuild every preset's initramfs"),
        _ => new PlannedCommand("update-initramfs", ["-u", "-k", "all"], "rebuild every installed kernel's initramfs"),
    };

    /// <summary>"6.12.54-Unraid" -> 6.12; null when unknown.</summary>
    public static Version? KernelVersion(string? release)
    {
        if (release is null || KernelVersionRegex().Match(release) is not { Success: true } m)
        {
            return null;
        }

        return new Version(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^\s*(\d+)\.(\d+)")]
    private static partial Regex KernelVersionRegex();

    [GeneratedRegex(@"^MODULES=\((?<list>[^)]*)\)", RegexOptions.Multiline)]
    private static partial Regex ModulesRegex();

    [GeneratedRegex(@"^HOOKS=\((?<list>[^)]*)\)", RegexOptions.Multiline)]
    private static partial Regex HooksRegex();

    [GeneratedRegex(@"^\s*LimitMEMLOCK\s*=\s*infinity\s*$", RegexOptions.Multiline)]
    private static partial Regex MemlockRegex();
}
