using System.Globalization;
using System.Xml.Linq;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>Where a passed-through card goes in the guest: a free pcie-root-port (q35) or a free slot on bus 0 (i440fx).</summary>
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

        var newIndex = taken.Count == 0 ? 1 : Math.Max(1, taken.Max() + 1);
        var port = new XElement("controller", new XAttribute("type", "pci"), new XAttribute("index", newIndex.ToString(CultureInfo.InvariantCulture)), new XAttribute("model", "pcie-root-port"));
        var anchor = pci.LastOrDefault() ?? devices.Elements("controller").LastOrDefault() ?? devices.Elements().LastOrDefault(e => e.Name.LocalName is "emulator" or "disk");
        XmlLayout.Insert(devices, port, after: anchor, before: anchor is null ? devices.Elements().FirstOrDefault() : null);
        return newIndex;
    }

    /// <summary>A free slot on bus 0 of an i440fx machine: 0 is the host bridge, 1 the PIIX3, 2 the primary video.</summary>
    internal static int FreeSlotOnRootBus(DomainDocument domain, HashSet<XElement> ignore)
    {
        var used = GuestAddresses(domain, ignore).Where(a => a.Bus == 0).Select(a => a.Slot).ToHashSet();
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
