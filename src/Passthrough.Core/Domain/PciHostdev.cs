using System.Globalization;
using System.Xml.Linq;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>A guest PCI address (`&lt;address type='pci' .../&gt;` inside a device).</summary>
public readonly record struct GuestPciAddress(int Domain, int Bus, int Slot, int Function, bool Multifunction)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Slot:x2}.{Function:x1}");

    /// <summary>The address of a type='pci' &lt;address&gt;; null for none or another type. Numbers as libvirt reads them.</summary>
    public static GuestPciAddress? From(XElement? address, string source)
    {
        if (address is null || address.Attribute("type")?.Value != "pci")
        {
            return null;
        }

        var (domain, bus, slot, function) = LibvirtPciAddress.Read(address, source, "guest address");
        return new GuestPciAddress(domain, bus, slot, function, address.Attribute("multifunction")?.Value == "on");
    }
}

/// <summary>
/// One `&lt;hostdev mode='subsystem' type='pci'&gt;` of the domain, as a typed view over the live
/// element (formatdomain.html#pci-devices): every getter reads the element and every setter changes
/// it in place, so nothing else in the document moves (like virtinst's XMLProperty).
/// </summary>
public sealed class PciHostdev
{
    private readonly string _source;

    private PciHostdev(XElement element, string source)
    {
        Element = element;
        _source = source;
    }

    public XElement Element { get; }

    public int? Line => DomainDocument.LineOf(Element);

    /// <summary>The host function passed: `&lt;source&gt;&lt;address domain= bus= slot= function=/&gt;`.</summary>
    public PciAddress Source
    {
        get
        {
            var (domain, bus, slot, function) = LibvirtPciAddress.Read(SourceAddress, _source, "hostdev address");
            return new PciAddress(domain, bus, slot, function);
        }

        set => LibvirtPciAddress.Write(SourceAddress, value.Domain, value.Bus, value.Device, value.Function);
    }

    /// <summary>Where the guest sees it; null when libvirt picks (no &lt;address type='pci'&gt;). Setting null removes the address.</summary>
    public GuestPciAddress? Guest
    {
        get => GuestPciAddress.From(Element.Elements("address").FirstOrDefault(), _source);
        set
        {
            var address = Element.Elements("address").FirstOrDefault();
            if (value is not { } guest)
            {
                if (address is not null)
                {
                    XmlLayout.Remove(address);
                }

                return;
            }

            if (address is null)
            {
                address = new XElement("address", new XAttribute("type", "pci"));
                XmlLayout.Insert(Element, address, after: Element.Elements().LastOrDefault());
            }

            address.SetAttributeValue("type", "pci");
            LibvirtPciAddress.Write(address, guest.Domain, guest.Bus, guest.Slot, guest.Function);
            address.SetAttributeValue("multifunction", guest.Multifunction ? "on" : null);
        }
    }

    /// <summary>`managed='yes'`: libvirt binds the device to vfio-pci itself (default no).</summary>
    public bool Managed
    {
        get => Element.Attribute("managed")?.Value == "yes";
        set => Element.SetAttributeValue("managed", value ? "yes" : "no");
    }

    public XElement? Rom => Element.Element("rom");

    /// <summary>
    /// `&lt;driver model='NAME'/&gt;`: the VFIO variant driver to bind (libvirt 10.0+, formatdomain.html#host-device-assignment,
    /// e.g. mlx5_vfio_pci, or vfio-pci to force the generic one); null when not given. Setting null removes the attribute.
    /// </summary>
    public string? DriverModel
    {
        get => Element.Element("driver")?.Attribute("model")?.Value;
        set
        {
            var driver = Element.Element("driver");
            if (driver is null)
            {
                if (value is null)
                {
                    return;
                }

                // libvirt writes <driver> first, before <source>.
                driver = XmlLayout.Insert(Element, new XElement("driver"), before: Element.Element("source"));
            }

            driver.SetAttributeValue("model", value);
            if (value is null && !driver.HasAttributes && !driver.HasElements)
            {
                XmlLayout.Remove(driver);
            }
        }
    }

    /// <summary>`&lt;rom bar='on|off'&gt;`; null when not given (QEMU's default: on). Setting null removes it.</summary>
    public bool? RomBar
    {
        get => Rom?.Attribute("bar")?.Value switch { "on" => true, "off" => false, _ => null };
        set => SetRom("bar", value is bool bar ? (bar ? "on" : "off") : null);
    }

    /// <summary>`&lt;rom file&gt;`: the ROM image QEMU shows the guest instead of the card's own.</summary>
    public string? RomFile
    {
        get => Rom?.Attribute("file")?.Value;
        set => SetRom("file", value);
    }

    /// <summary>The PCI hostdev an element is, or null for other elements and hostdevs without a source address.</summary>
    public static PciHostdev? From(XElement hostdev, string source)
    {
        // libvirt's default hostdev mode is subsystem; type='pci' with a <source><address>.
        if (hostdev.Name != "hostdev" || hostdev.Attribute("mode")?.Value is not (null or "subsystem") || hostdev.Attribute("type")?.Value != "pci")
        {
            return null;
        }

        return hostdev.Element("source")?.Element("address") is null ? null : new PciHostdev(hostdev, source);
    }

    /// <summary>Every PCI hostdev under the domain's &lt;devices&gt;, in document order.</summary>
    public static IReadOnlyList<PciHostdev> In(XElement domain, string source) =>
        domain.Element("devices") is { } devices
            ? [.. devices.Elements("hostdev").Select(h => From(h, source)).OfType<PciHostdev>()]
            : [];

    /// <summary>A new hostdev element for a host function (not yet in a document).</summary>
    public static XElement Create(PciAddress source, bool managed) =>
        new(
            "hostdev",
            new XAttribute("mode", "subsystem"),
            new XAttribute("type", "pci"),
            new XAttribute("managed", managed ? "yes" : "no"),
            new XElement("source", LibvirtPciAddress.Element(source.Domain, source.Bus, source.Device, source.Function)));

    private XElement SourceAddress => Element.Element("source")!.Element("address")!;

    private void SetRom(string attribute, string? value)
    {
        var rom = Rom;
        if (rom is null)
        {
            if (value is null)
            {
                return;
            }

            // libvirt's order: <source>, <rom>, then the guest <address>.
            var address = Element.Element("address");
            rom = XmlLayout.Insert(Element, new XElement("rom"), before: address, after: address is null ? Element.Element("source") : null);
        }

        rom.SetAttributeValue(attribute, value);
    }
}
