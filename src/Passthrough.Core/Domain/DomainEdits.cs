using System.Globalization;
using System.Xml.Linq;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>A GPU to attach: the host slot and which of its functions.</summary>
public sealed record GpuAttachment(PciSlot Slot, IReadOnlyList<int> Functions)
{
    /// <summary>ROM file for function 0 (`&lt;rom file&gt;`); null leaves the ROM as is.</summary>
    public string? RomFile { get; init; }

    /// <summary>`&lt;rom bar&gt;`; null leaves it as is.</summary>
    public bool? RomBar { get; init; }

    /// <summary>`managed`; null: keep an existing hostdev's value, new ones get 'no' when our hook binds them, else 'yes'.</summary>
    public bool? Managed { get; init; }

    public GpuAttachment WithRom(string? file, bool? bar) => this with { RomFile = file, RomBar = bar };

    public GpuAttachment WithManaged(bool? managed) => this with { Managed = managed };
}

/// <summary>CPU topology (formatdomain.html#cpu-model-and-topology).</summary>
public readonly record struct CpuTopology(int Sockets, int Cores, int Threads)
{
    public int Vcpus => Sockets * Cores * Threads;

    public static CpuTopology Parse(string text)
    {
        var parts = text.Split(',');
        if (parts.Length == 3
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var s)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var c)
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            && s > 0 && c > 0 && t > 0)
        {
            return new CpuTopology(s, c, t);
        }

        throw PassthroughException.Input($"--cpu-topology {text}: expected SOCKETS,CORES,THREADS such as 1,6,2.", "Give three positive numbers separated by commas.");
    }
}

/// <summary>What `xml set` changes; null members are left alone.</summary>
public sealed record DomainSettings
{
    /// <summary>Hyper-V vendor_id value (at most 12 characters), or "off" to remove it.</summary>
    public string? HypervVendorId { get; init; }

    public bool? KvmHidden { get; init; }

    public bool? Topoext { get; init; }

    public CpuTopology? Topology { get; init; }

    /// <summary>"qemu" or "kvm".</summary>
    public string? Ioapic { get; init; }

    public bool? Smm { get; init; }

    public bool MemballoonNone { get; init; }

    /// <summary>Our hook's mode; <see cref="PassthroughOff"/> removes the config.</summary>
    public PassthroughMode? PassthroughMode { get; init; }

    public bool PassthroughOff { get; init; }

    public bool IsEmpty => this == new DomainSettings();
}

/// <summary>
/// The edits of `passthrough xml`. Each changes the document in place, touches only what it must,
/// and is idempotent: applying it twice gives the same document as applying it once.
/// </summary>
public static class DomainEdits
{
    /// <summary>libvirt's device order after &lt;hostdev&gt; (virDomainDefFormat): a new hostdev goes before these.</summary>
    private static readonly string[] AfterHostdev = ["redirdev", "redirfilter", "hub", "watchdog", "memballoon", "rng", "panic", "shmem", "memory", "iommu", "vsock", "crypto"];

    /// <summary>
    /// Adds (or brings up to date) one hostdev per function of a GPU, all on one guest bus and slot
    /// with the host's function numbers and multifunction='on' on function 0. On q35 that slot is
    /// a free pcie-root-port (one is added when none is free).
    /// </summary>
    public static void AddGpu(DomainDocument domain, GpuAttachment gpu)
    {
        if (gpu.Functions.Count == 0)
        {
            throw PassthroughException.Input($"No functions to attach for {gpu.Slot}.", "Give --functions 0,1 or leave it out to take them from the host.");
        }

        var functions = gpu.Functions.Distinct().Order().ToList();
        var devices = EnsureDevices(domain);
        var existing = domain.PciHostdevs.Where(h => h.Source.Slot == gpu.Slot).ToList();

        // Reuse the guest slot the card already has when all its functions agree on one.
        var guestSlots = existing.Where(h => h.Guest is not null).Select(h => (h.Guest!.Value.Domain, h.Guest.Value.Bus, h.Guest.Value.Slot)).Distinct().ToList();
        (int Domain, int Bus, int Slot) target;
        if (guestSlots.Count == 1 && existing.All(h => h.Guest is not null))
        {
            target = guestSlots[0];
        }
        else
        {
            var ignore = existing.Select(h => h.Element).ToHashSet();
            target = domain.IsQ35 ? (0, FreeRootPort(devices, ignore), 0) : (0, 0, FreeSlotOnRootBus(domain, ignore));
        }

        var config = domain.PassthroughConfig;
        var hookBinds = config is not null;
        var multi = functions.Count > 1 || existing.Any(h => !functions.Contains(h.Source.Function));
        foreach (var function in functions)
        {
            var source = gpu.Slot.Function(function);
            var hostdev = existing.FirstOrDefault(h => h.Source == source)?.Element;
            if (hostdev is null)
            {
                hostdev = new XElement(
                    "hostdev",
                    new XAttribute("mode", "subsystem"),
                    new XAttribute("type", "pci"),
                    new XAttribute("managed", (gpu.Managed ?? !hookBinds) ? "yes" : "no"),
                    new XElement("source", AddressElement(source)));
                var anchor = devices.Elements("hostdev").LastOrDefault();
                var before = anchor is null ? devices.Elements().FirstOrDefault(e => AfterHostdev.Contains(e.Name.LocalName)) : null;
                XmlLayout.Insert(devices, hostdev, after: anchor, before: before);
            }
            else if (gpu.Managed is bool managed)
            {
                hostdev.SetAttributeValue("managed", managed ? "yes" : "no");
            }

            if (function == functions[0] && (gpu.RomFile is not null || gpu.RomBar is not null))
            {
                var rom = hostdev.Element("rom") ?? XmlLayout.Insert(hostdev, new XElement("rom"), before: hostdev.Element("address"), after: hostdev.Element("address") is null ? hostdev.Element("source") : null);
                if (gpu.RomBar is bool bar)
                {
                    rom.SetAttributeValue("bar", bar ? "on" : "off");
                }

                if (gpu.RomFile is not null)
                {
                    rom.SetAttributeValue("file", gpu.RomFile);
                }
            }

            SetGuestAddress(hostdev, target, function, multi && function == functions[0]);
        }
    }

    /// <summary>Removes every hostdev whose source is a function of the slot.</summary>
    public static int RemoveGpu(DomainDocument domain, PciSlot slot)
    {
        var victims = domain.PciHostdevs.Where(h => h.Source.Slot == slot).ToList();
        foreach (var h in victims)
        {
            XmlLayout.Remove(h.Element);
        }

        return victims.Count;
    }

    /// <summary>Applies `xml set`.</summary>
    public static void Set(DomainDocument domain, DomainSettings settings)
    {
        if (settings.HypervVendorId is { } vendor)
        {
            SetHypervVendor(domain, vendor);
        }

        if (settings.KvmHidden is bool hidden)
        {
            if (hidden)
            {
                var kvm = domain.Ensure(EnsureFeatures(domain), "kvm");
                domain.Ensure(kvm, "hidden").SetAttributeValue("state", "on");
            }
            else if (domain.Features?.Element("kvm") is { } kvm)
            {
                RemoveAndPrune(kvm.Element("hidden"));
            }
        }

        if (settings.Topoext is bool topoext)
        {
            SetTopoext(domain, topoext);
        }

        if (settings.Topology is { } topology)
        {
            SetTopology(domain, topology);
        }

        if (settings.Ioapic is { } driver)
        {
            if (driver is not ("qemu" or "kvm"))
            {
                throw PassthroughException.Input($"--ioapic {driver}: expected qemu or kvm.");
            }

            domain.Ensure(EnsureFeatures(domain), "ioapic").SetAttributeValue("driver", driver);
        }

        if (settings.Smm is bool smm)
        {
            domain.Ensure(EnsureFeatures(domain), "smm").SetAttributeValue("state", smm ? "on" : "off");
        }

        if (settings.MemballoonNone)
        {
            var devices = EnsureDevices(domain);
            var balloon = devices.Element("memballoon") ?? XmlLayout.Insert(
                devices,
                new XElement("memballoon"),
                before: devices.Elements().FirstOrDefault(e => AfterHostdev.Skip(5).Contains(e.Name.LocalName)));
            balloon.SetAttributeValue("model", "none");
            foreach (var a in balloon.Attributes().Where(a => a.Name.LocalName is "autodeflate" or "freePageReporting").ToList())
            {
                a.Remove();
            }

            // model='none' takes no address, stats or driver.
            balloon.RemoveNodes();
        }

        if (settings.PassthroughOff)
        {
            SetPassthroughOff(domain);
        }
        else if (settings.PassthroughMode is { } mode)
        {
            SetPassthroughMode(domain, mode);
        }
    }

    /// <summary>
    /// Adds or updates &lt;passthrough:config mode&gt; and hands the hostdevs our hook binds to it
    /// (managed='no': libvirt must not bind them itself).
    /// </summary>
    public static void SetPassthroughMode(DomainDocument domain, PassthroughMode mode)
    {
        var config = PassthroughConfig.Element(domain);
        if (config is null)
        {
            var metadata = domain.EnsureTop("metadata");
            config = XmlLayout.Insert(metadata, new XElement(
                PassthroughConfig.Ns + "config",
                new XAttribute(XNamespace.Xmlns + "passthrough", PassthroughConfig.NamespaceUri),
                new XAttribute("mode", PassthroughConfig.ModeText(mode))));
        }

        config.SetAttributeValue("mode", PassthroughConfig.ModeText(mode));
        foreach (var h in domain.PciHostdevs)
        {
            h.Element.SetAttributeValue("managed", "no");
        }
    }

    /// <summary>Removes our config and gives the hostdevs back to libvirt (managed='yes').</summary>
    public static void SetPassthroughOff(DomainDocument domain)
    {
        if (PassthroughConfig.Element(domain) is not { } config)
        {
            return;
        }

        var bound = PassthroughConfig.Read(domain)?.BoundBy(domain) ?? [];
        var metadata = config.Parent!;
        XmlLayout.Remove(config);
        if (!metadata.HasElements && !metadata.Nodes().OfType<XComment>().Any())
        {
            XmlLayout.Remove(metadata);
        }

        foreach (var h in domain.PciHostdevs.Where(h => bound.Contains(h.Source)))
        {
            h.Element.SetAttributeValue("managed", "yes");
        }
    }

    private static void SetHypervVendor(DomainDocument domain, string vendor)
    {
        if (vendor == "off")
        {
            RemoveAndPrune(domain.Features?.Element("hyperv")?.Element("vendor_id"));
            return;
        }

        // QEMU's hv-vendor-id is at most 12 characters (libvirt rejects longer values).
        if (vendor.Length is 0 or > 12 || vendor.Any(c => c is '\'' or '"' or '<' or '&' || char.IsControl(c)))
        {
            throw PassthroughException.Input($"--hyperv-vendor-id '{vendor}': must be 1 to 12 plain characters.", "For example --hyperv-vendor-id randomid.");
        }

        if (domain.Features?.Element("hyperv") is { } existing && existing.Attribute("mode")?.Value == "passthrough")
        {
            // libvirt's schema: mode='passthrough' turns every enlightenment on and takes no children.
            throw PassthroughException.Input(
                $"{domain.Source}:{DomainDocument.LineOf(existing)}: <hyperv mode='passthrough'> takes no vendor_id.",
                "Switch it to <hyperv mode='custom'> with the enlightenments you want (see examples/domains/win11-passthrough.xml), then set the vendor id.");
        }

        var hyperv = domain.Ensure(EnsureFeatures(domain), "hyperv", () => new XElement("hyperv", new XAttribute("mode", "custom")));
        var vendorId = domain.Ensure(hyperv, "vendor_id");
        vendorId.SetAttributeValue("state", "on");
        vendorId.SetAttributeValue("value", vendor);
    }

    private static void SetTopoext(DomainDocument domain, bool on)
    {
        var cpu = domain.Cpu;
        if (!on)
        {
            RemoveAndPrune(cpu?.Elements("feature").FirstOrDefault(f => f.Attribute("name")?.Value == "topoext"), pruneParent: false);
            return;
        }

        cpu = EnsureHostPassthrough(domain, "--topoext on");
        var feature = cpu.Elements("feature").FirstOrDefault(f => f.Attribute("name")?.Value == "topoext");
        if (feature is null)
        {
            feature = new XElement("feature", new XAttribute("policy", "require"), new XAttribute("name", "topoext"));
            XmlLayout.Insert(cpu, feature, after: cpu.Elements("feature").LastOrDefault() ?? cpu.Elements().LastOrDefault(e => e.Name.LocalName is "topology" or "cache" or "model" or "vendor"), before: null);
        }

        feature.SetAttributeValue("policy", "require");
    }

    private static void SetTopology(DomainDocument domain, CpuTopology topology)
    {
        var cpu = domain.Cpu ?? domain.EnsureTop("cpu");
        var element = cpu.Element("topology");
        if (element is null)
        {
            element = new XElement("topology");
            var first = cpu.Elements().FirstOrDefault(e => e.Name.LocalName is "cache" or "feature" or "numa");
            var after = first is null ? cpu.Elements().LastOrDefault() : null;
            XmlLayout.Insert(cpu, element, after: after, before: first);
        }

        element.SetAttributeValue("sockets", topology.Sockets.ToString(CultureInfo.InvariantCulture));
        if (element.Attribute("dies") is { } dies && dies.Value != "1")
        {
            dies.Value = "1";
        }

        if (element.Attribute("clusters") is { } clusters && clusters.Value != "1")
        {
            clusters.Value = "1";
        }

        element.SetAttributeValue("cores", topology.Cores.ToString(CultureInfo.InvariantCulture));
        element.SetAttributeValue("threads", topology.Threads.ToString(CultureInfo.InvariantCulture));

        // libvirt requires the topology to match the maximum vCPU count.
        var vcpu = domain.Root.Element("vcpu") ?? domain.EnsureTop("vcpu");
        vcpu.Value = topology.Vcpus.ToString(CultureInfo.InvariantCulture);
        if (DomainDocument.ParseNumber(vcpu.Attribute("current")?.Value) is int current && current > topology.Vcpus)
        {
            vcpu.Attribute("current")!.Remove();
        }
    }

    private static XElement EnsureHostPassthrough(DomainDocument domain, string what)
    {
        var cpu = domain.Cpu;
        if (cpu is null)
        {
            cpu = domain.EnsureTop("cpu");
            cpu.SetAttributeValue("mode", "host-passthrough");
            return cpu;
        }

        var mode = cpu.Attribute("mode")?.Value;
        if (mode is null && !cpu.HasElements)
        {
            cpu.SetAttributeValue("mode", "host-passthrough");
        }
        else if (mode != "host-passthrough")
        {
            throw PassthroughException.Input(
                $"{domain.Source}:{DomainDocument.LineOf(cpu)}: {what} needs <cpu mode='host-passthrough'>, this CPU is mode='{mode ?? "custom"}'.",
                "Change the CPU to host-passthrough first (virt-manager: CPUs, Copy host CPU configuration).");
        }

        return cpu;
    }

    private static XElement EnsureFeatures(DomainDocument domain) => domain.EnsureTop("features");

    private static XElement EnsureDevices(DomainDocument domain) => domain.EnsureTop("devices");

    private static void RemoveAndPrune(XElement? element, bool pruneParent = true)
    {
        if (element is null)
        {
            return;
        }

        var parent = element.Parent;
        XmlLayout.Remove(element);
        if (pruneParent && parent is not null && !parent.HasElements && !parent.HasAttributes && parent.Parent?.Name == "features")
        {
            XmlLayout.Remove(parent);
        }
    }

    private static XElement AddressElement(PciAddress a) =>
        new(
            "address",
            new XAttribute("domain", DomainDocument.Hex(a.Domain, 4)),
            new XAttribute("bus", DomainDocument.Hex(a.Bus, 2)),
            new XAttribute("slot", DomainDocument.Hex(a.Device, 2)),
            new XAttribute("function", DomainDocument.Hex(a.Function, 1)));

    private static void SetGuestAddress(XElement hostdev, (int Domain, int Bus, int Slot) target, int function, bool multifunction)
    {
        var address = hostdev.Elements("address").FirstOrDefault();
        if (address is null)
        {
            address = new XElement("address", new XAttribute("type", "pci"));
            XmlLayout.Insert(hostdev, address, after: hostdev.Elements().LastOrDefault());
        }

        address.SetAttributeValue("type", "pci");
        address.SetAttributeValue("domain", DomainDocument.Hex(target.Domain, 4));
        address.SetAttributeValue("bus", DomainDocument.Hex(target.Bus, 2));
        address.SetAttributeValue("slot", DomainDocument.Hex(target.Slot, 2));
        address.SetAttributeValue("function", DomainDocument.Hex(function, 1));
        address.SetAttributeValue("multifunction", multifunction ? "on" : null);
    }

    /// <summary>Guest buses in use: every PCI address inside &lt;devices&gt; except the given hostdevs'.</summary>
    private static HashSet<int> BusesInUse(XElement devices, HashSet<XElement> ignore) =>
        [.. devices.Descendants("address")
            .Where(a => a.Attribute("type")?.Value == "pci" && !a.Ancestors().Any(ignore.Contains))
            .Select(a => DomainDocument.ParseNumber(a.Attribute("bus")?.Value) ?? 0)];

    /// <summary>
    /// A pcie-root-port with nothing plugged in (a root port has exactly one slot), or a new one
    /// at the next free controller index. Controllers without an index get the next one in order,
    /// as libvirt numbers them.
    /// </summary>
    private static int FreeRootPort(XElement devices, HashSet<XElement> ignore)
    {
        var used = BusesInUse(devices, ignore);
        var pci = devices.Elements("controller").Where(c => c.Attribute("type")?.Value == "pci").ToList();
        var indexes = new List<(XElement Controller, int Index)>();
        var taken = pci.Select(c => DomainDocument.ParseNumber(c.Attribute("index")?.Value)).OfType<int>().ToHashSet();
        var next = 0;
        foreach (var c in pci)
        {
            if (DomainDocument.ParseNumber(c.Attribute("index")?.Value) is int i)
            {
                indexes.Add((c, i));
                continue;
            }

            while (taken.Contains(next))
            {
                next++;
            }

            taken.Add(next);
            indexes.Add((c, next));
        }

        foreach (var (controller, index) in indexes.OrderBy(x => x.Index))
        {
            if (controller.Attribute("model")?.Value == "pcie-root-port" && !used.Contains(index))
            {
                return index;
            }
        }

        var newIndex = taken.Count == 0 ? 1 : Math.Max(1, taken.Max() + 1);
        var port = new XElement("controller", new XAttribute("type", "pci"), new XAttribute("index", newIndex.ToString(CultureInfo.InvariantCulture)), new XAttribute("model", "pcie-root-port"));
        var anchor = pci.LastOrDefault() ?? devices.Elements("controller").LastOrDefault() ?? devices.Elements().LastOrDefault(e => e.Name.LocalName is "emulator" or "disk");
        XmlLayout.Insert(devices, port, after: anchor, before: anchor is null ? devices.Elements().FirstOrDefault() : null);
        return newIndex;
    }

    /// <summary>A free slot on bus 0 of an i440fx machine: 0 is the host bridge, 1 the PIIX3, 2 the primary video.</summary>
    private static int FreeSlotOnRootBus(DomainDocument domain, HashSet<XElement> ignore)
    {
        var devices = domain.Devices!;
        var used = devices.Descendants("address")
            .Where(a => a.Attribute("type")?.Value == "pci" && !a.Ancestors().Any(ignore.Contains) && (DomainDocument.ParseNumber(a.Attribute("bus")?.Value) ?? 0) == 0)
            .Select(a => DomainDocument.ParseNumber(a.Attribute("slot")?.Value) ?? 0)
            .ToHashSet();
        for (var slot = 3; slot <= 0x1f; slot++)
        {
            if (!used.Contains(slot))
            {
                return slot;
            }
        }

        throw PassthroughException.Input($"{domain.Source}: every slot of the guest's PCI bus 0 is in use.", "Remove a device, or move the VM to a q35 machine (`passthrough new`).");
    }
}
