using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Diagnostics;

/// <summary>Reads what the doctor needs from a libvirt domain XML: PCI hostdevs, ROM files, the passthrough mode.</summary>
public static class VmDefinition
{
    private static readonly XNamespace Config = "urn:passthrough:1";

    /// <param name="xml">The domain XML.</param>
    /// <param name="source">Where it came from, for error messages (a file name or "virsh dumpxml NAME").</param>
    public static VmFacts Parse(string xml, string source)
    {
        XDocument doc;
        try
        {
            doc = XDocument.Parse(xml, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            throw PassthroughException.Input($"{source}:{e.LineNumber}: not well-formed XML: {e.Message}", "Give a libvirt domain XML (`virsh dumpxml NAME > vm.xml`).", e);
        }

        var domain = doc.Root;
        if (domain is null || domain.Name.LocalName != "domain")
        {
            throw PassthroughException.Input($"{source}: the root element is <{domain?.Name.LocalName}>, not <domain>.", "Give a libvirt domain XML (`virsh dumpxml NAME > vm.xml`).");
        }

        var name = domain.Element("name")?.Value.Trim() ?? Path.GetFileNameWithoutExtension(source);
        var devices = new List<PciAddress>();
        var roms = new List<string>();
        foreach (var hostdev in domain.Element("devices")?.Elements("hostdev") ?? [])
        {
            if ((string?)hostdev.Attribute("type") != "pci")
            {
                continue;
            }

            var address = hostdev.Element("source")?.Element("address");
            if (address is not null && TryAddress(address, out var a))
            {
                devices.Add(a);
            }

            if ((string?)hostdev.Element("rom")?.Attribute("file") is { Length: > 0 } file)
            {
                roms.Add(file);
            }
        }

        var mode = (string?)domain.Element("metadata")?.Element(Config + "config")?.Attribute("mode") switch
        {
            "static" => PassthroughMode.Static,
            "dynamic" => PassthroughMode.Dynamic,
            "single-gpu" => PassthroughMode.SingleGpu,
            _ => (PassthroughMode?)null,
        };
        return new VmFacts(name, devices, roms, mode);
    }

    private static bool TryAddress(XElement e, out PciAddress address)
    {
        address = default;
        static int? Hex(XAttribute? a)
        {
            var text = a?.Value.Trim();
            if (text is null)
            {
                return null;
            }

            var hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
            return int.TryParse(hex ? text[2..] : text, hex ? NumberStyles.HexNumber : NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
        }

        if (Hex(e.Attribute("bus")) is not int bus || Hex(e.Attribute("slot")) is not int slot || Hex(e.Attribute("function")) is not int function)
        {
            return false;
        }

        address = new PciAddress(Hex(e.Attribute("domain")) ?? 0, bus, slot, function);
        return true;
    }
}
