using System.Xml;
using System.Xml.Linq;
using Passthrough.Domain;
using Passthrough.Errors;

namespace Passthrough.Diagnostics;

/// <summary>Reads what the doctor needs from a libvirt domain: PCI hostdevs, ROM files, the passthrough mode.</summary>
public static class VmDefinition
{
    /// <param name="xml">The domain XML.</param>
    /// <param name="source">Where it came from, for error messages (a file name or "virsh dumpxml NAME").</param>
    public static VmFacts Parse(string xml, string source) => From(Load(xml, source));

    /// <summary>Parses the domain XML the doctor was given, with the doctor's own words for XML that is broken or not a domain.</summary>
    public static DomainDocument Load(string xml, string source)
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

        if (doc.Root is not { } root || root.Name.LocalName != "domain")
        {
            throw PassthroughException.Input($"{source}: the root element is <{doc.Root?.Name.LocalName}>, not <domain>.", "Give a libvirt domain XML (`virsh dumpxml NAME > vm.xml`).");
        }

        return DomainDocument.Parse(xml, source);
    }

    /// <summary>The doctor's facts of a parsed domain, read through the same model as the hook and the edits.</summary>
    public static VmFacts From(DomainDocument domain)
    {
        var hostdevs = domain.PciHostdevs;
        var config = domain.PassthroughConfig;
        return new VmFacts(
            domain.Name ?? Path.GetFileNameWithoutExtension(domain.Source),
            [.. hostdevs.Select(h => h.Source)],
            [.. hostdevs.Select(h => h.RomFile).OfType<string>().Where(f => f.Length > 0)],
            config?.Mode)
        {
            PinnedCpus = VmTuning.PinnedCpus(domain.Root, domain.Source),
            Tuning = config is null ? VmTuning.None : VmTuning.From(domain.Root, config.Element, domain.Source),
            HugepagePageKiB = VmTuning.PageKiB(domain.Root, domain.Source, out var backed),
            HugepagesBacked = backed,
            MemoryKiB = VmTuning.MemoryKiB(domain.Root, domain.Source),
            KeepOnVfio = config?.KeepOnVfio == true,
            Bars = config is null ? [] : [.. config.BarEntries.Select(b => b.Request).OfType<Binding.BarRequest>()],
        };
    }
}
