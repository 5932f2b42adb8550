using Passthrough.Domain;
using Passthrough.Pci;
using static Passthrough.Diagnostics.Doctor;

namespace Passthrough.Diagnostics;

/// <summary>Checks about the GPUs to pass: groups, reset, drivers, framebuffer, holders, ROM.</summary>
internal static class GpuChecks
{
    /// <summary>The kernel's refusal when firmware (RMRR / IVMD, require_direct) wants identity DMA (drivers/iommu/iommu.c).</summary>
    public const string OneToOneLine = "Firmware has requested this device have a 1:1 IOMMU mapping";

    private static readonly HashSet<string> HostDisplayDrivers = new(StringComparer.Ordinal) { "amdgpu", "radeon", "nouveau", "nvidia", "i915", "xe" };

    /// <summary>Drivers usually built into distribution kernels: blacklists and vfio-pci.ids cannot keep them off.</summary>
    private static readonly HashSet<string> BuiltInDrivers = new(StringComparer.Ordinal) { "xhci_hcd", "i2c-designware-pci", "ehci-pci", "ohci-pci" };

    /// <summary>
    /// AMD GPUs with the reset bug that gnif/vendor-reset handles (its device table): Polaris 10/11/12,
    /// Vega 10/20, Navi 10/12/14.
    /// </summary>
    private static readonly Dictionary<int, string> ResetBugFamilies = new()
    {
        [0x67df] = "Polaris 10",
        [0x67ef] = "Polaris 11",
        [0x67ff] = "Polaris 11",
        [0x6fdf] = "Polaris 20",
        [0x699f] = "Polaris 12",
        [0x6860] = "Vega 10",
        [0x6861] = "Vega 10",
        [0x6862] = "Vega 10",
        [0x6863] = "Vega 10",
        [0x6867] = "Vega 10",
        [0x687f] = "Vega 10",
        [0x66a0] = "Vega 20",
        [0x66a1] = "Vega 20",
        [0x66a2] = "Vega 20",
        [0x66a3] = "Vega 20",
        [0x66af] = "Vega 20",
        [0x7310] = "Navi 10",
        [0x7312] = "Navi 10",
        [0x731f] = "Navi 10",
        [0x7360] = "Navi 12",
        [0x7362] = "Navi 12",
        [0x7340] = "Navi 14",
        [0x7341] = "Navi 14",
        [0x7347] = "Navi 14",
        [0x734f] = "Navi 14",
    };

    private static readonly string[] FramebufferNames = ["BOOTFB", "efifb", "simpledrm", "vesafb", "simple-framebuffer"];

    public static IEnumerable<Finding> AcsOverride(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "acs-override";
        var words = e.CommandLine?.WordsFor("pcie_acs_override").ToList() ?? [];
        if (words.Count == 0)
        {
            yield return Finding.Ok(id, null, "pcie_acs_override is not used: IOMMU groups are as the hardware isolates them.");
            yield break;
        }

        var evidence = words.Select(w => "/proc/cmdline: " + w).ToList();
        var split = new List<string>();
        foreach (var gpu in targets)
        {
            var groups = gpu.IommuGroups.ToList();
            if (groups.Count > 1)
            {
                split.Add($"{gpu.Slot} (functions in groups {string.Join(", ", groups)}: a multifunction card the override splits)");
            }

            var noAcs = gpu.Functions.SelectMany(f => f.UpstreamBridges).Where(b => b.Acs == false).Select(b => b.Address).Distinct().ToList();
            if (noAcs.Count > 0)
            {
                split.Add($"{gpu.Slot} (behind {string.Join(", ", noAcs)} without ACS: its group {string.Join(", ", groups)} exists only through the override)");
            }
        }

        evidence.AddRange(split.Select(s => "split: " + s));
        yield return F(id, Severity.Warning, null,
            split.Count > 0
                ? $"pcie_acs_override makes the kernel pretend devices are isolated; it splits {string.Join("; ", split)}. Devices in those groups may still reach each other by DMA."
                : "pcie_acs_override makes the kernel pretend devices are isolated: groups look clean, but devices can still reach each other by DMA. A security trade-off, not a fix.",
            evidence, "Accept it knowingly (homelab, trusted guests), or move the card to a CPU-attached slot / update the BIOS and remove the override.");
    }

    /// <summary>Other endpoints in each GPU's groups; ones the host needs (storage, USB, network) are errors.</summary>
    public static IEnumerable<Finding> GroupIsolation(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "group-isolation";
        if (!e.Host.HasIommuGroups)
        {
            yield break;
        }

        var assigned = e.Vm?.HostDevices.ToHashSet() ?? [];
        foreach (var gpu in targets)
        {
            var subject = gpu.Slot.ToString();
            var evidence = new List<string>();
            var worst = Severity.Ok;
            var notes = new List<string>();
            foreach (var groupId in gpu.IommuGroups)
            {
                var group = e.Host.Groups.FirstOrDefault(g => g.Id == groupId);
                if (group is null)
                {
                    continue;
                }

                evidence.Add($"/sys/kernel/iommu_groups/{group.Id}/devices: {string.Join(' ', group.Members)}");
                foreach (var other in group.Members.Where(m => m.Slot != gpu.Slot && !assigned.Contains(m)).Select(e.Host.Find).OfType<PciFunction>().Where(f => !f.IsBridge))
                {
                    var essential = other.Class is { } c && (c.BaseClass is 0x01 or 0x02 || (c.BaseClass == 0x0c && c.SubClass == 0x03));
                    if (other.Driver is null or "vfio-pci" or "pci-stub" || other.IsVfioBound)
                    {
                        notes.Add($"{Describe(other)} must go to the VM with it");
                        worst = Min(worst, Severity.Info);
                    }
                    else if (essential)
                    {
                        notes.Add($"{Describe(other)} is used by the host");
                        worst = Severity.Error;
                    }
                    else
                    {
                        notes.Add($"{Describe(other)} must be given up by the host");
                        worst = Min(worst, Severity.Warning);
                    }
                }
            }

            if (notes.Count == 0)
            {
                yield return F(id, Severity.Ok, subject, $"{subject}'s IOMMU group{(gpu.IommuGroups.Count() > 1 ? "s hold" : " holds")} only its own functions (and bridges).", evidence, null);
                continue;
            }

            var remedy = worst switch
            {
                Severity.Error => "Move the card to another slot (a CPU-attached one), check the BIOS for ACS/bifurcation settings or update it; the override is a security trade-off.",
                Severity.Warning => "Pass those devices to the VM too (all functions), or move the card to another slot.",
                _ => "Add them to the VM as host devices too (vfio needs the whole group).",
            };
            yield return F(id, worst, subject, $"{subject} shares its IOMMU group: {string.Join("; ", notes)}.", evidence, remedy);
        }
    }

    private static Severity Min(Severity a, Severity b) => a < b ? a : b;

    /// <summary>Group default domain `identity` (seeds 003, 004).</summary>
    public static IEnumerable<Finding> GroupType(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "group-type";
        var cmd = e.CommandLine;
        var ptRequested = cmd is not null && (cmd.Value("iommu") == "pt" || cmd.Value("iommu.passthrough") is "1" or "y" or "Y");
        var oneToOne = e.KernelLog?.Containing(OneToOneLine).ToList() ?? [];
        foreach (var gpu in targets)
        {
            foreach (var group in gpu.IommuGroups.Select(g => e.Host.Groups.FirstOrDefault(x => x.Id == g)).OfType<IommuGroup>())
            {
                var subject = gpu.Slot.ToString();
                var evidence = new List<string> { $"/sys/kernel/iommu_groups/{group.Id}/type: {group.Type ?? "(missing)"}" };
                if (!group.IsIdentity)
                {
                    yield return F(id, Severity.Ok, subject, $"Group {group.Id} uses a translated domain ({group.Type ?? "kernel too old to say"}).", evidence, null);
                    continue;
                }

                var forced = oneToOne.Where(l => AddressIn(l.Message) is { } a && group.Members.Contains(a)).ToList();
                var change = $"With no driver bound in the group: echo DMA > /sys/kernel/iommu_groups/{group.Id}/type (kernel 5.11+)";
                if (forced.Count > 0)
                {
                    evidence.AddRange(forced.Select(l => l.ToString()));
                    yield return F(id, Severity.Error, subject,
                        $"Group {group.Id} is in identity mode because the firmware requires a 1:1 mapping for {string.Join(", ", forced.Select(l => AddressIn(l.Message)).Distinct())}: the device does DMA to host physical addresses and vfio cannot give the VM its own address space.",
                        evidence, "Changing the group type will not stick while the firmware demands 1:1; see the firmware-1to1-mapping finding.");
                }
                else if (ptRequested)
                {
                    evidence.AddRange(cmd!.Words.Where(w => w.StartsWith("iommu", StringComparison.Ordinal)).Select(w => "/proc/cmdline: " + w));
                    yield return F(id, Severity.Info, subject,
                        $"Group {group.Id} is in identity mode because of iommu=pt: host drivers DMA untranslated; vfio replaces the domain when the VM starts.",
                        evidence, $"Nothing to do unless VM start fails with \"failed to setup container\"; then: {change}.");
                }
                else
                {
                    var others = e.Host.Groups.Where(g => g.Id != group.Id && g.Type is not null && !g.IsIdentity).Take(1).Select(g => $"/sys/kernel/iommu_groups/{g.Id}/type: {g.Type}");
                    evidence.AddRange(others);
                    yield return F(id, Severity.Warning, subject,
                        $"Group {group.Id} is in identity mode (DMA to host physical addresses) although iommu=pt is not set: a firmware or quirk forced it, and vfio may fail to set up its container.",
                        evidence, change + ", or set it from a boot-time unit before libvirt starts.");
                }
            }
        }
    }

    /// <summary>The 1:1 mapping refusal (seeds 003, 004): firmware marked the device require_direct.</summary>
    public static IEnumerable<Finding> FirmwareOneToOne(DoctorEvidence e)
    {
        const string id = "firmware-1to1-mapping";
        if (e.KernelLog is not { } log)
        {
            yield return LogUnknown(id, e, "for the firmware 1:1 mapping refusal");
            yield break;
        }

        var lines = log.Containing(OneToOneLine).ToList();
        if (lines.Count == 0)
        {
            yield return Finding.Ok(id, null, "No firmware 1:1 IOMMU mapping refusal in the kernel log.");
            yield break;
        }

        var bios = e.Host.Facts.BiosVersion is { } v ? $" (BIOS {v}{(e.Host.Facts.BiosDate is { } d ? ", " + d : string.Empty)})" : string.Empty;
        foreach (var group in lines.GroupBy(l => AddressIn(l.Message)))
        {
            yield return F(id, Severity.Error, group.Key?.ToString(),
                $"The firmware{bios} asks for a 1:1 IOMMU mapping of this device (an RMRR or unity-map region, require_direct); since kernel 6.10 the kernel refuses to give it to vfio, so VM start fails with \"failed to setup container ... Invalid argument\".",
                group.Take(3).Select(l => l.ToString()),
                "None of these is certain, each worked for someone: another BIOS version (older or newer), Resizable BAR off in the firmware, a different slot, or a kernel before 6.10.");
        }
    }

    /// <summary>FLR / reset_method, and the AMD reset-bug families.</summary>
    public static IEnumerable<Finding> Reset(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "reset";
        foreach (var gpu in targets)
        {
            var f = gpu.Functions.FirstOrDefault(x => x.IsDisplay) ?? gpu.Functions[0];
            var subject = f.Address.ToString();
            var methods = f.ResetMethods is null ? "(no reset_method file)" : f.ResetMethods.Count == 0 ? "(empty)" : string.Join(' ', f.ResetMethods);
            var evidence = new List<string> { $"/sys/bus/pci/devices/{f.Address}/reset_method: {methods}", $"FLR: {(f.Flr is null ? "unknown" : f.Flr.Value ? "yes" : "no")}" };
            if (f.VendorId == 0x1002 && f.DeviceId is int d && ResetBugFamilies.TryGetValue(d, out var family))
            {
                var loaded = e.Host.Facts.LoadedModules?.Contains("vendor_reset") == true;
                if (loaded && KernelAtLeast(e, 5, 15) && f.ResetMethods is { Count: > 0 } m && m[0] != "device_specific")
                {
                    yield return F(id, Severity.Warning, subject,
                        $"{f.Label} is AMD {family} (reset bug); vendor-reset is loaded but since kernel 5.15 it is used only when reset_method is device_specific.",
                        evidence, $"Add a udev rule: ACTION==\"add\", SUBSYSTEM==\"pci\", ATTR{{vendor}}==\"0x1002\", ATTR{{device}}==\"0x{d:x4}\", RUN+=\"/bin/sh -c 'echo device_specific > /sys$env{{DEVPATH}}/reset_method'\"");
                }
                else if (!loaded)
                {
                    yield return F(id, Severity.Warning, subject,
                        $"{f.Label} is AMD {family}, a family with the reset bug: after the VM stops the card may not come back until the host reboots.",
                        evidence, "Install gnif/vendor-reset (DKMS), load vendor_reset at boot, and on 5.15+ set reset_method to device_specific with a udev rule.");
                }
                else
                {
                    yield return F(id, Severity.Ok, subject, $"{f.Label} is AMD {family}; vendor-reset is loaded and selected.", evidence, null);
                }

                continue;
            }

            // The family and what is known about it (ResetFamilies cites the kernel quirk, vendor-reset and the reports).
            var known = ResetFamilies.Of(f);
            if (known is { RebindFailures: true } && e.Vm?.KeepOnVfio != true && e.Vm?.Mode != PassthroughMode.Static)
            {
                yield return F(id, Severity.Warning, subject, $"{f.Label} is {known.Name}: {known.Known}.", evidence,
                    "Add <passthrough:release keep-on-vfio=\"yes\"/> to the VM's <passthrough:config> (dynamic mode): the card stays on vfio-pci after the VM stops; `passthrough restore VM` gives it back when you want it.");
                continue;
            }

            var knownText = known is null ? string.Empty : $" {known.Name}: {known.Known}{(known.RebindFailures ? "; the VM keeps it on vfio-pci (keep-on-vfio)" : string.Empty)}.";
            switch (f.CanReset)
            {
                case null:
                    yield return F(id, Severity.Info, subject, "Could not tell how this GPU resets (config space was short: run as root).", evidence, "Run `passthrough doctor` as root.");
                    break;
                case false:
                    yield return F(id, Severity.Warning, subject,
                        $"{f.Label} has no FLR and no reset method: it may not survive a VM restart (black screen or hang until the host reboots).{knownText}",
                        evidence, "Test start, stop, start without rebooting the host; if it fails, plan host reboots between runs or use another card.");
                    break;
                default:
                    yield return F(id, Severity.Ok, subject, $"{f.Label} can be reset ({(f.ResetMethods is { Count: > 0 } r ? string.Join(", ", r) : "FLR")}).{knownText}", evidence, null);
                    break;
            }
        }
    }

    /// <summary>Which driver holds each function, against what the mode needs; built-in drivers (seed 003).</summary>
    public static IEnumerable<Finding> DriverBinding(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "driver-binding";
        var bound = BindingChecks.Sources(e).SelectMany(s => s.Functions).ToHashSet();
        foreach (var gpu in targets)
        {
            var subject = gpu.Slot.ToString();
            var evidence = gpu.Functions.Select(f => $"/sys/bus/pci/devices/{f.Address}/driver: {f.Driver ?? "(none)"}{(f.DriverOverride is { } o ? $", driver_override: {o}" : string.Empty)}").ToList();
            var mode = e.Vm?.Mode ?? (gpu.Functions.Any(f => bound.Contains(f.Address)) ? PassthroughMode.Static : (PassthroughMode?)null);
            var builtIn = gpu.Functions.Where(f => f.Driver is string d && BuiltInDrivers.Contains(d)).ToList();
            var onHost = gpu.Functions.Where(f => f.Driver is not null && !f.IsVfioBound).ToList();
            var onVfio = gpu.Functions.Where(f => f.IsVfioBound).ToList();

            if (mode == PassthroughMode.Static && onHost.Count > 0)
            {
                var builtInText = builtIn.Count > 0
                    ? $" {string.Join(", ", builtIn.Select(f => $"{f.Address} ({f.Driver})"))} {(builtIn.Count == 1 ? "is" : "are")} driven by a driver built into the kernel, which binds before vfio-pci.ids and cannot be blacklisted."
                    : string.Empty;
                yield return F(id, Severity.Error, subject,
                    $"{subject} is meant for vfio-pci from boot, but {string.Join(", ", onHost.Select(f => $"{f.Address} is on {f.Driver}"))}.{builtInText}",
                    evidence,
                    builtIn.Count > 0
                        ? "Bind them through driver_override before libvirt starts (`passthrough setup` writes the unit; `passthrough bind` does it now)."
                        : $"Make vfio-pci load first: softdep {onHost[0].Driver} pre: vfio-pci in /etc/modprobe.d/vfio.conf, and rebuild the initramfs.");
            }
            else if (onVfio.Count > 0 && onHost.Count > 0)
            {
                yield return F(id, Severity.Warning, subject,
                    $"{subject} is half on vfio-pci: {string.Join(", ", onVfio.Select(f => f.Address))} on vfio-pci, {string.Join(", ", onHost.Select(f => $"{f.Address} on {f.Driver}"))}. The VM needs every function.",
                    evidence, "Bind the rest (`passthrough bind " + subject + "`), or `passthrough restore` if a hook left it half-way.");
            }
            else if (onHost.Count == 0)
            {
                yield return F(id, Severity.Ok, subject, onVfio.Count > 0 ? $"Every function of {subject} is on vfio-pci (or unbound)." : $"No host driver holds {subject}.", evidence, null);
            }
            else
            {
                var builtInNote = builtIn.Count > 0 ? $" {string.Join(", ", builtIn.Select(f => $"{f.Address} ({f.Driver})"))}: built-in driver, moved through driver_override by the hooks." : string.Empty;
                yield return F(id, Severity.Info, subject,
                    $"The host drives {subject} ({string.Join(", ", onHost.Select(f => f.Driver).Distinct())}): the hooks must move every function to vfio-pci when the VM starts.{builtInNote}",
                    evidence, mode is null ? "Fine for dynamic or single-GPU passthrough with `passthrough hooks install`; for a dedicated card bind it at boot (`passthrough setup`)." : null);
            }
        }
    }

    /// <summary>A boot framebuffer (BOOTFB, efifb, simpledrm) inside a GPU's BAR: vfio-pci cannot reserve it.</summary>
    public static IEnumerable<Finding> Framebuffer(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "framebuffer";
        var regions = e.Iomem is null ? [] : Iomem.Parse(e.Iomem);
        var log = e.KernelLog;
        foreach (var gpu in targets)
        {
            var subject = gpu.Slot.ToString();
            var addresses = gpu.Functions.Select(f => f.Address).ToHashSet();
            var holders = regions.Where(r => FramebufferNames.Any(n => r.Name.StartsWith(n, StringComparison.Ordinal)) && Iomem.Owner(r) is { } o && addresses.Contains(o))
                .Select(r => $"/proc/iomem: {r.Start:x}-{r.End:x} : {r.Name} (inside {Iomem.Owner(r)})").ToList();
            var cantReserve = log?.Lines.Where(l => l.Message.Contains("can't reserve", StringComparison.Ordinal) && AddressIn(l.Message) is { } a && addresses.Contains(a))
                .Select(l => l.ToString()).ToList() ?? [];
            if (holders.Count > 0 || cantReserve.Count > 0)
            {
                yield return F(id, Severity.Error, subject,
                    "The boot framebuffer still holds this GPU's memory, so vfio-pci cannot reserve its BAR (\"BAR N: can't reserve\") and the guest gets a black screen.",
                    [.. holders, .. cantReserve],
                    gpu.BootVga
                        ? "Single GPU: add initcall_blacklist=sysfb_init (kernel 5.15+, simpledrm) or video=efifb:off to the command line, or let the hooks unbind the framebuffer; or make another GPU primary in the firmware."
                        : "Make another GPU (or the iGPU) primary in the firmware setup, or add initcall_blacklist=sysfb_init to the command line.");
            }
            else if (gpu.BootVga)
            {
                yield return F(id, Severity.Info, subject,
                    "This GPU is the firmware's boot display: the host console and framebuffer live on it, so passing it means single-GPU passthrough (the display manager stops while the VM runs).",
                    [$"/sys/bus/pci/devices/{gpu.Display.Address}/boot_vga: 1"],
                    "Use mode=\"single-gpu\" with the hooks, and a VBIOS ROM file if the guest stays black; or make another GPU primary in the firmware.");
            }
            else
            {
                yield return F(id, Severity.Ok, subject, e.Iomem is null ? "This GPU is not the boot display (/proc/iomem not read)." : "No boot framebuffer holds this GPU's memory.", [], null);
            }
        }
    }

    /// <summary>Processes holding the GPU's DRM, NVIDIA or sound nodes, and nvidia-persistenced.</summary>
    public static IEnumerable<Finding> Holders(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "gpu-holders";
        if (e.Holders is null)
        {
            yield return F(id, Severity.Info, null, "Could not read /proc/*/fd (other users' processes need root).", [], "Run `passthrough doctor` as root to see which processes hold the GPU.");
            yield break;
        }

        foreach (var gpu in targets)
        {
            var subject = gpu.Slot.ToString();
            var addresses = gpu.Functions.Select(f => f.Address).ToHashSet();
            var nvidia = gpu.Functions.Any(f => f.Driver == "nvidia");
            var held = e.Holders.Where(h => (h.Device is { } d && addresses.Contains(d)) || (nvidia && h.Device is null && h.DevicePath.StartsWith("/dev/nvidia", StringComparison.Ordinal))).ToList();
            var evidence = held.Select(h => h.User is null ? $"/proc/{h.Pid}/fd → {h.DevicePath} ({h.Command})" : $"/proc/{h.Pid}/fd → {h.DevicePath} ({h.Command}, user {h.User})").ToList();
            if (nvidia && e.Processes?.Contains("nvidia-persistenced") == true)
            {
                evidence.Add("process: nvidia-persistenced");
            }

            if (evidence.Count == 0)
            {
                yield return F(id, Severity.Ok, subject, "No process holds this GPU's device nodes.", [], null);
                continue;
            }

            var names = held.Select(h => $"{h.Command} ({h.Pid})").Distinct().ToList();
            if (evidence.Any(x => x.Contains("nvidia-persistenced", StringComparison.Ordinal)))
            {
                names.Add("nvidia-persistenced");
            }

            yield return F(id, Severity.Warning, subject,
                $"{string.Join(", ", names.Distinct())} hold{(names.Count == 1 ? "s" : string.Empty)} this GPU open: the driver cannot let go of it until they close it, so a dynamic VM's start and `passthrough bind` refuse while they do.",
                evidence, "Stop them before the VM starts (the single-GPU hooks stop the display manager; `systemctl stop nvidia-persistenced`); keep a desktop off this GPU: `passthrough setup --mode dynamic` (GNOME), README \"Keeping the desktop off the passed GPU\" (KWin, wlroots, Hyprland).");
        }
    }

    /// <summary>Resizable BAR capability: reported with Code 43 and 1:1-mapping failures (seed 004 turned it off).</summary>
    public static IEnumerable<Finding> ResizableBar(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "resizable-bar";
        var oneToOne = e.KernelLog?.Containing(GpuChecks.OneToOneLine).Any() == true;
        foreach (var gpu in targets)
        {
            var f = gpu.Functions.FirstOrDefault(x => x.IsDisplay) ?? gpu.Functions[0];
            switch (f.ResizableBar)
            {
                case true:
                    yield return F(id, oneToOne ? Severity.Warning : Severity.Info, f.Address.ToString(),
                        "The GPU supports Resizable BAR. With it on in the firmware, Windows guests have shown Code 43 (AMD Vega and newer) and some boards the 1:1 mapping refusal.",
                        [$"/sys/bus/pci/devices/{f.Address}/config: Resizable BAR capability"],
                        "If the guest fails, turn Re-Size BAR Support off in the firmware setup (Above 4G Decoding stays on).");
                    foreach (var large in LargeBarFindings.For(f, bar => LargeBarFindings.AskedByVm(e, f, bar)))
                    {
                        yield return large;
                    }

                    break;
                case false:
                    yield return F(id, Severity.Ok, f.Address.ToString(), "The GPU has no Resizable BAR capability.", [], null);
                    break;
                default:
                    yield return F(id, Severity.Info, f.Address.ToString(), "Could not tell whether the GPU has Resizable BAR (extended config space needs root).", [], "Run `passthrough doctor` as root.");
                    break;
            }
        }
    }

    /// <summary>ROM files named by the VM that are missing.</summary>
    public static IEnumerable<Finding> RomFiles(DoctorEvidence e)
    {
        const string id = "rom-file";
        if (e.Vm is not { } vm || vm.RomFiles.Count == 0)
        {
            yield break;
        }

        foreach (var rom in vm.RomFiles)
        {
            if (vm.MissingRomFiles.Contains(rom))
            {
                yield return F(id, Severity.Error, rom, $"VM {vm.Name} names the ROM file {rom}, which does not exist: QEMU fails with \"failed to find romfile\".",
                    [$"<rom file='{rom}'/>"], "Put the VBIOS there (`passthrough rom dump` or a verified download, checked with `passthrough rom check`) or fix the path.");
            }
            else
            {
                yield return F(id, Severity.Ok, rom, $"The ROM file {rom} exists.", [$"<rom file='{rom}'/>"], null);
            }
        }
    }

    internal static bool IsHostDisplayDriver(string module) => HostDisplayDrivers.Contains(module);
}
