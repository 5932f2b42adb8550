using System.Globalization;
using System.Xml.Linq;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>Where a passed-through card goes in the guest: a free pcie-root-port (q35) or a free slot on bus 0 or a pci-bridge (i440fx).</summary>
internal static class GuestSlots
{
    /// <summary>Guest buses in use: every PCI address inside &lt;devices&gt; except the given hostdevs'.</summary>
    private static HashSet<int> BusesInUse(DomainDocument domain, HashSet<XElement> ignore) =>
        [.. GuestAddresses(domain, ignore).Select(a => a.Bus)];

    /// <summary>Every guest PCI address inside &lt;devices&gt; except the given hostdevs', read as libvirt reads them.</summary>
    private static IEnumerable<GuestPciAddress> GuestAddresses(DomainDocument domain, HashSet<XElement> ignore) =>
        domain.Devices!.Descendants("address")
            .Where(a => !a.Ancestors().Any(ignore.Contains))
            .Select(a => GuestPciAddress.From(a, domain.Source))
            .OfType<GuestPciAddress>();

    /// <summary>
    /// A pcie-root-port with nothing plugged in (a root port has exactly one slot), or a new one
    /// at the next free controller index. Controllers without an index get the next one in order,
    /// as libvirt numbers them.
    /// </summary>
    internal static int FreeRootPort(DomainDocument domain, HashSet<XElement> ignore)
    {
        var devices = domain.Devices!;
        var used = BusesInUse(domain, ignore);
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

        // A bus that devices use without a declared controller still exists: libvirt adds its
        // controller itself (a pcie-root-port on q35), so a new port must not take that index, or the
        // card lands on a device's address ("Attempted double use of PCI Address", virDomainPCIAddressReserveAddr).
        var newIndex = Math.Max(1, taken.Concat(used).DefaultIfEmpty(0).Max() + 1);
        var port = new XElement("controller", new XAttribute("type", "pci"), new XAttribute("index", newIndex.ToString(CultureInfo.InvariantCulture)), new XAttribute("model", "pcie-root-port"));
        var anchor = pci.LastOrDefault() ?? devices.Elements("controller").LastOrDefault() ?? devices.Elements().LastOrDefault(e => e.Name.LocalName is "emulator" or "disk");
        XmlLayout.Insert(devices, port, after: anchor, before: anchor is null ? devices.Elements().FirstOrDefault() : null);
        return newIndex;
    }

    /// <summary>
    /// A free slot on an i440fx machine: bus 0 first (0 is the host bridge, 1 the PIIX3, 2 the primary
    /// video), then slots 1 to 31 of each pci-bridge in index order (slot 0 of a pci-bridge is not
    /// usable, as libvirt's address sets have it: virDomainPCIAddressBusSetModel). A new pci-bridge
    /// would need a free slot itself, which the card can take directly, so none is added.
    /// </summary>
    internal static (int Bus, int Slot) FreeSlotOnPciBus(DomainDocument domain, HashSet<XElement> ignore)
    {
        var used = GuestAddresses(domain, ignore).Select(a => (a.Bus, a.Slot)).ToHashSet();
        for (var slot = 3; slot <= 0x1f; slot++)
        {
            if (!used.Contains((0, slot)))
            {
                return (0, slot);
            }
        }

        var bridges = domain.Devices!.Elements("controller")
            .Where(c => c.Attribute("type")?.Value == "pci" && c.Attribute("model")?.Value == "pci-bridge")
            .Select(c => DomainDocument.ParseNumber(c.Attribute("index")?.Value))
            .OfType<int>()
            .Order();
        foreach (var bus in bridges)
        {
            for (var slot = 1; slot <= 0x1f; slot++)
            {
                if (!used.Contains((bus, slot)))
                {
                    return (bus, slot);
                }
            }
        }

        throw PassthroughException.Input(
            $"{domain.Source}: every slot of the guest's PCI bus 0 and of its pci-bridges is in use.",
            "Remove a device, or add <controller type='pci' model='pci-bridge'/> after freeing a slot for it on bus 0; better, move the VM to a q35 machine (`passthrough new`).");
    }
}
