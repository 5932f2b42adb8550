using Passthrough.Pci;
using static Passthrough.Diagnostics.Doctor;

namespace Passthrough.Diagnostics;

/// <summary>One place that binds devices to vfio-pci at boot, and the functions it catches.</summary>
public sealed record BindingSource(string Kind, string Where, string Text, IReadOnlySet<PciAddress> Functions);

/// <summary>Boot-time vfio-pci bindings from several places, and driver blacklists that hit the host's own devices.</summary>
internal static class BindingChecks
{
    /// <summary>Drivers a vendor's GPUs use, to see whom a blacklist hides.</summary>
    private static readonly Dictionary<int, string[]> VendorDrivers = new()
    {
        [0x1002] = ["amdgpu", "radeon"],
        [0x10de] = ["nouveau", "nvidia", "nvidiafb"],
        [0x8086] = ["i915", "xe"],
    };

    /// <summary>
    /// Every boot-time vfio-pci binding: the kernel argument vfio-pci.ids, modprobe.d
    /// `options vfio-pci ids=`, driverctl overrides, Unraid's vfio-pci.cfg.
    /// </summary>
    public static IEnumerable<BindingSource> Sources(DoctorEvidence e)
    {
        var host = e.Host;
        IReadOnlySet<PciAddress> ByIds(string list) =>
            list.Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(t => PciIds.TryParse(t, out var ids) ? ids : (PciIds?)null)
                .OfType<PciIds>()
                .SelectMany(ids => host.Functions.Where(f => PciIds.Of(f) == ids).Select(f => f.Address))
                .ToHashSet();

        if (e.CommandLine is { } cmd)
        {
            foreach (var key in new[] { "vfio-pci.ids", "vfio_pci.ids" })
            {
                foreach (var value in cmd.Values(key))
                {
                    yield return new BindingSource("kernel argument", "/proc/cmdline", $"{key}={value}", ByIds(value));
                }
            }
        }

        foreach (var (value, where, text) in e.Modprobe.Option("vfio_pci", "ids"))
        {
            yield return new BindingSource("modprobe.d", where, text, ByIds(value));
        }

        foreach (var file in e.DriverctlOverrides)
        {
            var name = Path.GetFileName(file.Path);
            if (file.Text.Trim() == "vfio-pci" && name.StartsWith("pci-", StringComparison.Ordinal) && PciAddress.TryParse(name[4..], out var address))
            {
                yield return new BindingSource("driverctl", file.Path, $"{name[4..]} → vfio-pci", new HashSet<PciAddress> { address });
            }
        }

        if (e.UnraidVfioConfig is { } cfg)
        {
            foreach (var (number, text) in cfg.Lines().Where(l => l.Text.StartsWith("BIND=", StringComparison.Ordinal)))
            {
                // BIND=0000:01:00.0|10de:2805 0000:01:00.1|10de:22bd (Unraid's vfio-pci script).
                var addresses = text[5..].Trim('"').Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Select(entry => PciAddress.TryParse(entry.Split('|')[0], out var a) ? a : (PciAddress?)null)
                    .OfType<PciAddress>().ToHashSet();
                if (addresses.Count > 0)
                {
                    yield return new BindingSource("Unraid vfio-pci.cfg", cfg.Where(number), text, addresses);
                }
            }
        }
    }

    /// <summary>
    /// vfio-pci.ids on the command line and `options vfio-pci ids=` in modprobe.d set the same module
    /// parameter (kernel-parameters.txt: "module.param" is passed to the module when it loads); when
    /// both pick the same functions of the slot nothing races: `passthrough setup` writes both so an
    /// early (initramfs) load and a normal load agree.
    /// </summary>
    private static bool SameModuleParameter(List<BindingSource> sources, PciSlot slot)
    {
        if (sources.Any(s => s.Kind is not ("kernel argument" or "modprobe.d")))
        {
            return false;
        }

        var first = sources[0].Functions.Where(a => a.Slot == slot).ToHashSet();
        return sources.All(s => s.Functions.Where(a => a.Slot == slot).ToHashSet().SetEquals(first));
    }

    public static IEnumerable<Finding> DuplicateBinding(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "duplicate-vfio-binding";
        var sources = Sources(e).ToList();
        var any = false;

        // The same function bound from more than one kind of place (seed 004: vfio-pci.ids and vfio-pci.cfg).
        var byFunction = sources.SelectMany(s => s.Functions.Select(f => (Function: f, Source: s))).GroupBy(p => p.Function.Slot);
        foreach (var slot in byFunction.OrderBy(g => g.Key))
        {
            var kinds = slot.Select(p => p.Source).Distinct().ToList();
            if (kinds.Select(k => k.Kind).Distinct().Count() > 1 && !SameModuleParameter(kinds, slot.Key))
            {
                any = true;
                yield return F(id, Severity.Warning, slot.Key.ToString(),
                    $"{slot.Key} is bound to vfio-pci from {kinds.Select(k => k.Kind).Distinct().Count()} places ({string.Join(", ", kinds.Select(k => k.Kind).Distinct())}); they race at boot and changing one leaves the other in force.",
                    kinds.Select(k => $"{k.Where}: {k.Text}"), "Keep one place (for a whole card, driver_override per address is the most precise) and remove the others.");
            }
        }

        // ids that also catch a device the host keeps (two identical cards, or the host's own GPU audio).
        var targetAddresses = targets.SelectMany(g => g.Functions).Select(f => f.Address).ToHashSet();
        foreach (var source in sources.Where(s => s.Kind is "kernel argument" or "modprobe.d"))
        {
            var hostDevices = source.Functions.Where(a => !targetAddresses.Contains(a)).Select(e.Host.Find).OfType<PciFunction>()
                .Where(f => e.Host.Gpus.Any(g => g.Slot == f.Address.Slot)).ToList();
            if (hostDevices.Count > 0 && targets.Count > 0)
            {
                any = true;
                yield return F(id, Severity.Error, hostDevices[0].Address.ToString(),
                    $"{source.Text} also catches {string.Join(", ", hostDevices.Select(Describe))}, which is not being passed: identical ids take the host's card too.",
                    [$"{source.Where}: {source.Text}"], "Bind by address instead of ids: driver_override for the passed card's functions only (`passthrough setup`).");
            }
        }

        // A blacklist that hides the host's own GPU or sound (seed 000: amdgpu and snd_hda_intel blacklisted).
        var blacklisted = e.Modprobe.Blacklisted().ToList();
        var hostGpus = e.Host.Gpus.Where(g => !targets.Any(t => t.Slot == g.Slot)).ToList();
        foreach (var gpu in hostGpus)
        {
            var hits = blacklisted.Where(b => gpu.Display.VendorId is int v && VendorDrivers.TryGetValue(v, out var drivers) && drivers.Contains(b.Module)).ToList();
            if (hits.Count > 0)
            {
                any = true;
                yield return F(id, Severity.Error, gpu.Slot.ToString(),
                    $"{string.Join(", ", hits.Select(h => $"'{h.Text}'"))} keep{(hits.Count == 1 ? "s" : string.Empty)} the driver away from the host's own GPU too: {Describe(gpu.Display)}.",
                    hits.Select(h => $"{h.Where}: {h.Text}"), "Remove the blacklist and bind only the passed card to vfio-pci by address (driver_override) or with softdep so vfio-pci loads first.");
            }
        }

        foreach (var (module, where, text) in blacklisted)
        {
            if (module == "snd_hda_intel")
            {
                var audio = e.Host.Functions.Where(f => f.Class is { BaseClass: 0x04, SubClass: 0x03 } && !targetAddresses.Contains(f.Address)).ToList();
                if (audio.Count > 0)
                {
                    any = true;
                    yield return F(id, Severity.Warning, audio[0].Address.ToString(),
                        $"'{text}' also silences the host's own sound: {string.Join(", ", audio.Select(Describe))}.",
                        [$"{where}: {text}"], "Remove the blacklist; vfio-pci binding of the GPU's audio function by id or address is enough.");
                }
            }
            else if (module.EndsWith('*'))
            {
                any = true;
                yield return F(id, Severity.Warning, null, $"'{text}' has no effect: modprobe blacklist takes a module name, not a pattern.",
                    [$"{where}: {text}"], $"List the modules one by one (blacklist {module.TrimEnd('*')}) or remove the line.");
            }
        }

        if (!any)
        {
            yield return F(id, Severity.Ok, null,
                sources.Count == 0 ? "No boot-time vfio-pci binding is configured." : "vfio-pci binding comes from one place and catches only the passed devices.",
                sources.Select(s => $"{s.Where}: {s.Text}"), null);
        }
    }
}
