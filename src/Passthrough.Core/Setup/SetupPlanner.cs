using System.Globalization;
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

    /// <summary>Hugepages to reserve at boot (`--hugepages`); null: none.</summary>
    public BootHugepages? Hugepages { get; init; }

    public SetupRequest WithHugepages(BootHugepages? hugepages) => this with { Hugepages = hugepages };

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

    internal const string Header = "# Written by `passthrough setup`; `passthrough setup undo` removes it.\n";

    public static SetupPlan Plan(SetupRequest request)
    {
        var files = request.Files;
        var boot = BootloaderDetector.Detect(files);
        var draft = new SetupDraft(files);
        var (notes, edits, regeneration, units) = (draft.Notes, draft.Edits, draft.Regeneration, draft.Units);
        var ids = request.Functions.Where(f => f.VendorId is not null && f.DeviceId is not null).Select(f => f.IdsText).Distinct(StringComparer.Ordinal).ToList();
        var kernel = KernelVersion(request.Facts.KernelRelease ?? files.Read("/proc/sys/kernel/osrelease"));

        // Kernel arguments.
        var change = KernelArgumentPlanner.Change(request, boot, ids, draft);
        var (added, removed) = KernelArgumentPlanner.Plan(boot, change, draft);
        var flagged = KernelArgumentPlanner.Flag(boot, files);

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
            var kept = VfioIdsPlanner.PlanOtherIds(request.Mode, ids, draft);
            foreach (var id in VfioIdsPlanner.KeptIds(files.Read(ModprobeFile)))
            {
                if (!kept.Contains(id, StringComparer.OrdinalIgnoreCase) && !ids.Contains(id, StringComparer.OrdinalIgnoreCase))
                {
                    kept.Add(id); // moved here by an earlier apply: the other file no longer has them
                }
            }

            modprobeChanged = edits.Count > editsBefore;
            modprobeChanged |= draft.AddIfChanged(ModprobeFile, VfioIdsPlanner.ModprobeConf(request.Functions, ids, kept), "vfio-pci claims the devices when it loads, before their usual drivers (softdep)");
            initramfsChanged = InitramfsPlanner.Plan(boot, kernel, draft);
            if (modprobeChanged && !initramfsChanged && boot.Initramfs != InitramfsGenerator.None)
            {
                // modprobe.d is copied into the initramfs; rebuild it so the options apply early.
                regeneration.Add(InitramfsPlanner.Command(boot));
                initramfsChanged = true;
            }

            var early = request.Functions.Where(f => BindingUnitPlanner.NeedsBindingUnit(f, request.Facts)).ToList();
            if (early.Count > 0)
            {
                if (draft.AddIfChanged(BindUnitFile, BindingUnitPlanner.Unit(early), string.Join("; ", early.Select(BindingUnitPlanner.EarlyReason))))
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
            VfioIdsPlanner.PlanOtherIds(request.Mode, ids, draft);
            if (edits.Count > editsBefore)
            {
                // The GPU came off another file's vfio-pci ids: rebuild the initramfs, which carries modprobe.d.
                modprobeChanged = true;
                if (boot.Initramfs != InitramfsGenerator.None)
                {
                    regeneration.Add(InitramfsPlanner.Command(boot));
                    initramfsChanged = true;
                }
            }
        }

        DesktopIgnorePlanner.Plan(request, draft);

        if (request.Mode != PassthroughMode.Static && (files.Exists(ModprobeFile) || files.Exists(DracutFile) || files.Exists(BindUnitFile)))
        {
            notes.Add($"Files from a static-mode setup are present ({string.Join(", ", new[] { ModprobeFile, DracutFile, BindUnitFile }.Where(files.Exists))}); `passthrough setup undo` removes them.");
        }

        var argumentsChanged = added.Count > 0 || removed.Count > 0;
        InitramfsPlanner.Refresh(boot, request.Facts.KernelRelease ?? files.Read("/proc/sys/kernel/osrelease"), argumentsChanged || initramfsChanged, draft);

        // libvirt: QEMU pins guest memory for VFIO DMA and inherits the daemon's RLIMIT_MEMLOCK (seed 003).
        var daemonReload = units.Count > 0 || edits.Any(e => e.Path.StartsWith("/etc/systemd/system/", StringComparison.Ordinal));
        var memlock = MemlockPlanner.Plan(draft);
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
            ArgumentCommands = draft.ArgumentCommands,
            RegenerationCommands = regeneration,
            UndoCommands = draft.Undo,
            CommandTouchedFiles = draft.Touched,
            DaemonReload = daemonReload,
            UnitsToEnable = units,
            RebootNeeded = reboot,
            Flagged = flagged,
            Notes = notes,
        };
    }

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

}
