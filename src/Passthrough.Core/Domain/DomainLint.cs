using Passthrough.Diagnostics;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>What lint learned about a &lt;rom file&gt; (the CLI reads the file; lint stays pure).</summary>
public sealed record RomFileFacts(bool Exists, bool Readable, bool? UefiCapable, string? Detail = null);

/// <summary>What lint may consult beyond the document.</summary>
public sealed record LintInputs
{
    /// <summary>The host (from --root); group and device rules are skipped without it.</summary>
    public HostInventory? Host { get; init; }

    /// <summary>Looks at a ROM file; the ROM rules are skipped without it.</summary>
    public Func<string, RomFileFacts>? Rom { get; init; }

    public LintInputs WithHost(HostInventory? host) => this with { Host = host };

    public LintInputs WithRom(Func<string, RomFileFacts>? rom) => this with { Rom = rom };
}

/// <summary>The rules of `passthrough xml lint`: findings on the one <see cref="Severity"/> scale, never Ok
/// (lint reports only what is wrong), each with a remedy.</summary>
public static partial class DomainLint
{
    public static IReadOnlyList<Finding> Run(DomainDocument domain, LintInputs? inputs = null)
    {
        inputs ??= new LintInputs();
        var findings = new List<Finding>();
        var hostdevs = domain.PciHostdevs;
        string At(PciHostdev h) => h.Line is int line ? $"{domain.Source}:{line}: " : $"{domain.Source}: ";

        if (PcieOnI440fx(domain) is { } i440fx)
        {
            findings.Add(i440fx);
        }

        if (hostdevs.Count > 0 && !domain.HasUefi)
        {
            findings.Add(new Finding(
                "no-uefi",
                Severity.Warning,
                $"{domain.Source}: the domain boots with legacy BIOS (SeaBIOS); modern GPUs ship UEFI-only option ROMs and many fail to initialise without OVMF.",
                "Use UEFI firmware: <os firmware='efi'> (virt-manager: Firmware UEFI when creating the VM)."));
        }

        foreach (var duplicate in hostdevs.GroupBy(h => h.Source).Where(g => g.Count() > 1))
        {
            findings.Add(new Finding(
                "duplicate-hostdev",
                Severity.Error,
                $"{At(duplicate.Skip(1).First())}host device {duplicate.Key} is passed {duplicate.Count()} times; libvirt refuses to start the VM.",
                $"Keep one <hostdev> for {duplicate.Key} (`passthrough xml remove-gpu FILE --slot {duplicate.Key.Slot}` then add-gpu)."));
        }

        foreach (var card in hostdevs.GroupBy(h => h.Source.Slot).Where(g => g.Count() > 1))
        {
            var list = card.DistinctBy(h => h.Source).ToList();
            var guests = list.Select(h => h.Guest is { } g ? (g.Domain, g.Bus, g.Slot) : ((int Domain, int Bus, int Slot)?)null).Distinct().ToList();
            if (guests.Count > 1 || guests[0] is null)
            {
                findings.Add(new Finding(
                    "split-functions",
                    Severity.Warning,
                    $"{At(list[0])}the functions of {card.Key} sit on different guest buses or slots ({string.Join(", ", list.Select(h => $"{h.Source.Function} at {h.Guest?.ToString() ?? "auto"}"))}); the guest driver expects one multifunction card.",
                    $"Put them on one guest slot with the host's function numbers: `passthrough xml add-gpu FILE --slot {card.Key}`."));
                continue;
            }

            var mismatched = list.Where(h => h.Guest!.Value.Function != h.Source.Function).ToList();
            var f0 = list.FirstOrDefault(h => h.Guest!.Value.Function == 0);
            if (mismatched.Count > 0 || f0 is null || !f0.Guest!.Value.Multifunction)
            {
                findings.Add(new Finding(
                    "multifunction",
                    Severity.Warning,
                    $"{At(list[0])}the functions of {card.Key} share guest slot {guests[0]!.Value.Bus:x2}:{guests[0]!.Value.Slot:x2} but " +
                    (mismatched.Count > 0 ? "with other function numbers than on the host" : "function 0 lacks multifunction='on'") + ".",
                    $"Use the host's function numbers and multifunction='on' on function 0: `passthrough xml add-gpu FILE --slot {card.Key}`."));
            }
        }

        var balloon = domain.MemballoonModel;
        if (hostdevs.Count > 0 && balloon != "none")
        {
            findings.Add(new Finding(
                "balloon-with-hostdev",
                Severity.Warning,
                $"{domain.Source}: a memory balloon ({balloon ?? "virtio, added by libvirt by default"}) with passed-through devices: device DMA pins all guest memory, so ballooning cannot return any and only costs time.",
                "Disable it: `passthrough xml set FILE --memballoon none`."));
        }

        if (domain.PassthroughConfig is { } config)
        {
            var mode = config.Mode.Name();
            var bound = config.BoundBy(hostdevs).ToHashSet();
            foreach (var h in hostdevs.Where(h => h.Managed && bound.Contains(h.Source)))
            {
                findings.Add(new Finding(
                    "managed-while-hook-binds",
                    Severity.Warning,
                    $"{At(h)}{h.Source} is managed='yes' while the Passthrough hook ({mode} mode) binds it; libvirt and the hook would both rebind it.",
                    $"Set managed='no' on the hook's devices: `passthrough xml set FILE --passthrough-mode {mode}`."));
            }

            if (config.Mode == PassthroughMode.SingleGpu && config.KeepOnVfio)
            {
                // The hook's release gives a single-gpu VM's functions back whatever this says (HookVerb).
                findings.Add(new Finding(
                    "keep-on-vfio-single-gpu",
                    Severity.Warning,
                    $"{config.ReleaseAt}<passthrough:release keep-on-vfio=\"yes\"> does nothing in single-gpu mode: after the VM stops the host needs its only GPU back for its display, so the hook gives the functions back anyway.",
                    "Remove it: `passthrough xml set FILE --keep-on-vfio off`; or, if the host has a second GPU for its display, use --passthrough-mode dynamic, where it keeps the card on vfio-pci."));
            }
        }

        if (inputs.Host is { } host)
        {
            HostRules(domain, host, hostdevs, findings, At);
        }

        BarRules(domain, inputs.Host, hostdevs, findings);

        if (inputs.Rom is { } rom)
        {
            foreach (var h in hostdevs.Where(h => h.RomFile is not null))
            {
                RomRule(h, rom(h.RomFile!), findings, At(h));
            }
        }

        return [.. findings.OrderBy(f => f.Severity)];
    }

    /// <summary>
    /// QEMU's i440fx has no PCIe bus: a PCIe GPU there loses its capabilities and the NVIDIA/AMD
    /// drivers refuse it (seed 004; libvirt formatdomain "pci-root" vs "pcie-root"). Only libvirt's
    /// QEMU driver has i440fx machines (bhyve, LXC, Xen and the rest do not). The one rule lint reports
    /// and add-gpu refuses by.
    /// </summary>
    public static Finding? PcieOnI440fx(DomainDocument domain)
    {
        var hostdevs = domain.PciHostdevs;
        if (hostdevs.Count == 0 || !domain.IsQemu || !domain.IsI440fx)
        {
            return null;
        }

        var at = hostdevs[0].Line is int line ? $"{domain.Source}:{line}: " : $"{domain.Source}: ";
        return new Finding(
            "pcie-on-i440fx",
            Severity.Error,
            $"{at}{string.Join(", ", hostdevs.Select(h => h.Source))} passed to machine '{domain.Machine ?? "pc (default)"}', an i440fx machine with no PCIe bus.",
            "Recreate the VM on q35 (`passthrough new --slot ...`, or virt-manager: Chipset Q35 before the first start); a machine type cannot be switched in place reliably.");
    }

    private static void HostRules(DomainDocument domain, HostInventory host, IReadOnlyList<PciHostdev> hostdevs, List<Finding> findings, Func<PciHostdev, string> at)
    {
        var assigned = hostdevs.Select(h => h.Source).ToHashSet();
        if (domain.PassthroughConfig is { } config)
        {
            assigned.UnionWith(config.ExtraDevices);
        }

        IdentityRules(domain, host, findings);
        foreach (var h in hostdevs.Where(h => host.Find(h.Source) is null).DistinctBy(h => h.Source))
        {
            findings.Add(new Finding(
                "device-missing",
                Severity.Error,
                $"{at(h)}host device {h.Source} does not exist on this host.",
                "Check the address with `passthrough list`; cards move when slots or firmware settings change."));
        }

        var groups = hostdevs.Select(h => host.GroupOf(h.Source)).OfType<IommuGroup>().DistinctBy(g => g.Id);
        foreach (var group in groups)
        {
            // vfio: every endpoint of a group must go to the same VM or be held by vfio-pci
            // (Documentation/driver-api/vfio.rst, "Groups, Devices, and IOMMUs").
            var viability = host.Viability(group, assigned);
            if (!viability.Viable)
            {
                var first = hostdevs.First(h => host.GroupOf(h.Source)?.Id == group.Id);
                findings.Add(new Finding(
                    "group-not-viable",
                    Severity.Error,
                    $"{at(first)}IOMMU group {group.Id} is not viable: {viability.Reason}, which is neither in this domain nor bound to vfio-pci.",
                    $"Pass {string.Join(", ", viability.InTheWay.Select(f => f.Address))} too, bind it to vfio-pci, or move the card to a slot with its own group (`passthrough groups`)."));
            }
        }

        var cpu = domain.Cpu;
        if (host.Facts.IsAmd && host.Facts.Smt == true && cpu?.Attribute("mode")?.Value == "host-passthrough"
            && !cpu.Elements("feature").Any(f => f.Attribute("name")?.Value == "topoext" && f.Attribute("policy")?.Value is "require" or "force"))
        {
            findings.Add(new Finding(
                "amd-smt-topoext",
                Severity.Info,
                $"{domain.Source}: AMD host with SMT and a host-passthrough CPU without topoext: the guest sees threads as separate cores and schedules worse.",
                "Add it: `passthrough xml set FILE --topoext on` (and a topology with threads='2')."));
        }
    }

    private static void RomRule(PciHostdev h, RomFileFacts facts, List<Finding> findings, string at)
    {
        if (!facts.Exists)
        {
            findings.Add(new Finding(
                "rom-missing",
                Severity.Error,
                $"{at}ROM file {h.RomFile} for {h.Source} does not exist; QEMU fails to start the VM.",
                "Fix the path, or dump the card's ROM with `passthrough rom dump`; remove <rom file> to use the card's own ROM."));
        }
        else if (!facts.Readable)
        {
            findings.Add(new Finding(
                "rom-unreadable",
                Severity.Error,
                $"{at}ROM file {h.RomFile} for {h.Source} cannot be read{(facts.Detail is null ? string.Empty : ": " + facts.Detail)}.",
                "Make it readable by the QEMU user (chmod 644; SELinux: restorecon, or keep ROMs under /usr/share/vgabios)."));
        }
        else if (facts.UefiCapable == false)
        {
            findings.Add(new Finding(
                "rom-no-efi",
                Severity.Warning,
                $"{at}ROM file {h.RomFile} for {h.Source} has no EFI image{(facts.Detail is null ? string.Empty : " (" + facts.Detail + ")")}; OVMF cannot initialise the card from it.",
                "Use a full ROM with an EFI image (from the card's vendor or TechPowerUp); `passthrough rom inspect FILE` shows its images."));
        }
    }
}
