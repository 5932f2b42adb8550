using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>
/// A libvirt domain XML document (https://libvirt.org/formatdomain.html) as a typed view over the
/// parsed <see cref="XDocument"/>. Edits change that document in place and never rebuild it, so
/// comments, processing instructions, unknown elements, foreign metadata namespaces,
/// qemu:commandline, attribute order and the user's layout all survive.
/// </summary>
public sealed partial class DomainDocument
{
    private readonly string? _declaration;
    private readonly char _quote;
    private readonly bool _crlf;

    private DomainDocument(XDocument document, string? declaration, char quote, bool crlf, string source)
    {
        Document = document;
        _declaration = declaration;
        _quote = quote;
        _crlf = crlf;
        Source = source;
    }

    public XDocument Document { get; }

    /// <summary>Where the document came from ("win11.xml", "-"), for messages.</summary>
    public string Source { get; }

    public XElement Root => Document.Root!;

    /// <summary>
    /// Parses domain XML. Malformed XML and documents that are not a &lt;domain&gt; are input
    /// errors naming SOURCE:LINE:COLUMN.
    /// </summary>
    public static DomainDocument Parse(string text, string source)
    {
        XDocument document;
        try
        {
            document = XDocument.Parse(text, LoadOptions.SetLineInfo | LoadOptions.PreserveWhitespace);
        }
        catch (XmlException e)
        {
            var message = LinePositionSuffix().Replace(e.Message, string.Empty);
            throw PassthroughException.Input(
                $"{source}:{e.LineNumber}:{e.LinePosition}: {message}",
                "Fix the XML there (an unclosed tag or a stray '&' or '<' is the usual cause); nothing was written.",
                e);
        }

        if (document.Root is not { } root || root.Name != "domain")
        {
            var line = document.Root is IXmlLineInfo info && info.HasLineInfo() ? info.LineNumber : 1;
            throw PassthroughException.Input(
                $"{source}:{line}:1: the document is a <{document.Root?.Name.LocalName}>, not a libvirt <domain>.",
                "Give a domain definition, such as the output of `virsh dumpxml NAME` or `passthrough new`.");
        }

        string? declaration = null;
        if (document.Declaration is not null)
        {
            var start = text.IndexOf("<?xml", StringComparison.Ordinal);
            var end = text.IndexOf("?>", start, StringComparison.Ordinal);
            declaration = text[start..(end + 2)];
        }

        var quote = XmlLayout.Capture(document, text);
        return new DomainDocument(document, declaration, quote, text.Contains("\r\n", StringComparison.Ordinal), source);
    }

    /// <summary>The document as text, in the user's layout; unedited parts are byte for byte as read.</summary>
    public string Save()
    {
        var text = XmlLayout.Write(Document, _declaration, _quote);
        if (text.Length > 0 && !text.EndsWith('\n') && _declaration is not null)
        {
            // XLinq drops whitespace after the root element; files end with a newline.
            text += "\n";
        }

        return _crlf ? text.Replace("\n", "\r\n", StringComparison.Ordinal) : text;
    }

    /// <summary>The document as saved, parsed again: a deep copy that keeps the layout.</summary>
    public DomainDocument Clone() => Parse(Save(), Source);

    public string? Name => Root.Element("name")?.Value.Trim();

    public XElement? Os => Root.Element("os");

    /// <summary>The machine type (`pc-q35-9.2`, `q35`, `pc-i440fx-9.2`, `pc`); null when not given.</summary>
    public string? Machine => Os?.Element("type")?.Attribute("machine")?.Value;

    /// <summary>q35 (PCIe) machine.</summary>
    public bool IsQ35 => Machine?.Contains("q35", StringComparison.Ordinal) == true;

    /// <summary>
    /// i440fx (conventional PCI) machine: `pc`, `pc-i440fx-*`, `pc-1.x`; libvirt's default for x86
    /// when no machine is given.
    /// </summary>
    public bool IsI440fx
    {
        get
        {
            var arch = Os?.Element("type")?.Attribute("arch")?.Value;
            if (arch is not null && arch is not ("x86_64" or "i686"))
            {
                return false;
            }

            var machine = Machine;
            return machine is null or "pc" || machine.StartsWith("pc-i440fx", StringComparison.Ordinal)
                || (machine.StartsWith("pc-", StringComparison.Ordinal) && !machine.Contains("q35", StringComparison.Ordinal));
        }
    }

    /// <summary>UEFI firmware: `&lt;os firmware='efi'&gt;` or an OVMF/edk2 pflash loader.</summary>
    public bool HasUefi
    {
        get
        {
            if (Os is not { } os)
            {
                return false;
            }

            if (os.Attribute("firmware")?.Value == "efi")
            {
                return true;
            }

            var loader = os.Element("loader");
            if (loader is null)
            {
                return false;
            }

            var path = loader.Value;
            return loader.Attribute("type")?.Value == "pflash"
                || path.Contains("OVMF", StringComparison.OrdinalIgnoreCase)
                || path.Contains("edk2", StringComparison.OrdinalIgnoreCase)
                || path.Contains("ovmf", StringComparison.OrdinalIgnoreCase);
        }
    }

    public XElement? Devices => Root.Element("devices");

    public XElement? Features => Root.Element("features");

    public XElement? Cpu => Root.Element("cpu");

    /// <summary>Every `&lt;hostdev mode='subsystem' type='pci'&gt;` with a source address.</summary>
    public IReadOnlyList<PciHostdev> PciHostdevs => PciHostdev.In(Root, Source);

    /// <summary>The memory balloon's model; null when the domain has no &lt;memballoon&gt; (libvirt then adds virtio).</summary>
    public string? MemballoonModel => Devices?.Element("memballoon")?.Attribute("model")?.Value;

    /// <summary>Our per-VM configuration in &lt;metadata&gt;, or null.</summary>
    public PassthroughConfig? PassthroughConfig => Domain.PassthroughConfig.In(Root, Source);

    /// <summary>The 1-based line an element was read from, or null for elements we added.</summary>
    public static int? LineOf(XObject node) => node is IXmlLineInfo info && info.HasLineInfo() ? info.LineNumber : null;

    /// <summary>Returns the child named <paramref name="name"/>, creating it (indented) when missing.</summary>
    internal XElement Ensure(XElement parent, string name, Func<XElement>? create = null, XElement? after = null, XElement? before = null)
    {
        var existing = parent.Element(name);
        if (existing is not null)
        {
            return existing;
        }

        return XmlLayout.Insert(parent, create?.Invoke() ?? new XElement(name), after, before);
    }

    /// <summary>The top-level element, created in libvirt's order when missing.</summary>
    internal XElement EnsureTop(string name)
    {
        if (Root.Element(name) is { } existing)
        {
            return existing;
        }

        // libvirt's own order (virDomainDefFormat); position does not matter to the parser.
        string[] order = ["name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory", "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads", "cputune", "numatune", "resource", "sysinfo", "bootloader", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot", "on_crash", "pm", "perf", "devices"];
        var index = Array.IndexOf(order, name);
        XElement? after = null;
        for (var i = index - 1; i >= 0 && after is null; i--)
        {
            after = Root.Elements(order[i]).LastOrDefault();
        }

        return XmlLayout.Insert(Root, new XElement(name), after: after, before: after is null ? Root.Elements().FirstOrDefault() : null);
    }

    /// <summary>Parses a controller index or vCPU count: "3" or "0x03" (PCI addresses: <see cref="LibvirtPciAddress"/>).</summary>
    internal static int? ParseNumber(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return int.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex) ? hex : null;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var dec) ? dec : null;
    }

    [GeneratedRegex(@"\s*Line \d+, position \d+\.\s*$")]
    private static partial Regex LinePositionSuffix();
}
