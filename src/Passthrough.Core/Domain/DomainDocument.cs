using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>The encoding a domain file was read in, and whether it began with a byte-order mark.</summary>
public sealed record XmlFileEncoding(Encoding Encoding, bool ByteOrderMark)
{
    public static XmlFileEncoding Utf8 { get; } = new(new UTF8Encoding(false), false);

    public byte[] GetBytes(string text) =>
        ByteOrderMark ? [.. Encoding.GetPreamble(), .. Encoding.GetBytes(text)] : Encoding.GetBytes(text);
}

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
    public static DomainDocument Parse(string text, string source) => Parse(text, source, XmlFileEncoding.Utf8);

    /// <summary>Parses text decoded by <see cref="Decode"/>; <see cref="SaveBytes"/> encodes it back the same way.</summary>
    public static DomainDocument Parse(string text, string source, XmlFileEncoding encoding)
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

        if (document.DocumentType is { } doctype && text.IndexOf("<!DOCTYPE", StringComparison.Ordinal) is var at and >= 0)
        {
            // Keep the DOCTYPE as written: XLinq would respace it.
            var bracket = text.IndexOf('[', at);
            var close = text.IndexOf('>', at);
            var end = bracket >= 0 && bracket < close ? text.IndexOf('>', text.IndexOf(']', bracket)) : close;
            doctype.AddAnnotation(new RawSpelling(text[at..(end + 1)].Replace("\r\n", "\n", StringComparison.Ordinal), string.Empty));
        }

        var quote = XmlLayout.Capture(document, text);
        return new DomainDocument(document, declaration, quote, text.Contains("\r\n", StringComparison.Ordinal), source) { Encoding = encoding };
    }

    /// <summary>How the file was encoded; <see cref="SaveBytes"/> writes it back the same way.</summary>
    public XmlFileEncoding Encoding { get; private init; } = XmlFileEncoding.Utf8;

    /// <summary>
    /// Decodes a file's bytes as an XML parser does: a UTF-8 byte-order mark, else the encoding of the
    /// XML declaration, else UTF-8. Bytes that are not proper UTF-8 are bad input, as libvirt (libxml2)
    /// has it: "Input is not proper UTF-8"; nothing is guessed or replaced.
    /// </summary>
    public static (string Text, XmlFileEncoding Encoding) Decode(byte[] bytes, string source)
    {
        var bom = bytes.AsSpan().StartsWith(System.Text.Encoding.UTF8.Preamble);
        var body = bom ? bytes.AsSpan(3) : bytes.AsSpan();
        var head = System.Text.Encoding.ASCII.GetString(body[..Math.Min(body.Length, 200)]);
        var declared = head.StartsWith("<?xml", StringComparison.Ordinal) ? DeclaredEncoding().Match(head) : null;
        var name = declared is { Success: true } ? declared.Groups[1].Value : null;
        if (bom || name is null || name.Equals("UTF-8", StringComparison.OrdinalIgnoreCase) || name.Equals("UTF8", StringComparison.OrdinalIgnoreCase))
        {
            var at = 0;
            while (at < body.Length)
            {
                if (Rune.DecodeFromUtf8(body[at..], out _, out var used) != System.Buffers.OperationStatus.Done)
                {
                    var line = 1 + body[..at].Count((byte)'\n');
                    throw PassthroughException.Input(
                        $"{source}:{line}: Input is not proper UTF-8: byte 0x{body[at]:X2} at offset {at + (bom ? 3 : 0)}.",
                        "Convert the file to UTF-8 (e.g. `iconv -f ISO-8859-1 -t UTF-8`) or declare its encoding in <?xml version='1.0' encoding='...'?>; nothing was written.");
                }

                at += used;
            }

            return (System.Text.Encoding.UTF8.GetString(body), new XmlFileEncoding(new UTF8Encoding(bom), bom));
        }

        System.Text.Encoding encoding;
        try
        {
            encoding = System.Text.Encoding.GetEncoding(name);
        }
        catch (ArgumentException e)
        {
            throw PassthroughException.Input(
                $"{source}:1: the declared encoding '{name}' is not one this program reads (UTF-8, UTF-16, ISO-8859-1, US-ASCII).",
                "Convert the file to UTF-8 with iconv and change the declaration to encoding='UTF-8'; nothing was written.",
                e);
        }

        return (encoding.GetString(body), new XmlFileEncoding(encoding, false));
    }

    /// <summary>The document as saved, in the file's own encoding (with its byte-order mark, if it had one).</summary>
    public byte[] SaveBytes() => Encoding.GetBytes(Save());

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
    public DomainDocument Clone() => Parse(Save(), Source, Encoding);

    public string? Name => Root.Element("name")?.Value.Trim();

    public XElement? Os => Root.Element("os");

    /// <summary>The machine type (`pc-q35-9.2`, `q35`, `pc-i440fx-9.2`, `pc`); null when not given.</summary>
    public string? Machine => Os?.Element("type")?.Attribute("machine")?.Value;

    /// <summary>The guest architecture of `&lt;os&gt;&lt;type arch&gt;`; null when not given (libvirt then takes the host's).</summary>
    public string? Arch => Os?.Element("type")?.Attribute("arch")?.Value;

    /// <summary>An x86 guest (x86_64, i686), or no arch given (then libvirt takes the host's, and we run on x86).</summary>
    public bool IsX86 => Arch is null or "x86_64" or "i686";

    /// <summary>
    /// The hypervisor of `&lt;domain type&gt;`: qemu, kvm and hvf run under libvirt's QEMU driver; bhyve,
    /// lxc, xen, vz, vmware and others do not have QEMU's machine types.
    /// </summary>
    public bool IsQemu => Root.Attribute("type")?.Value is "qemu" or "kvm" or "hvf";

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

    [GeneratedRegex(@"^<\?xml[^>]*?\sencoding\s*=\s*[""']([A-Za-z0-9._:-]+)[""']")]
    private static partial Regex DeclaredEncoding();

    [GeneratedRegex(@"\s*Line \d+, position \d+\.\s*$")]
    private static partial Regex LinePositionSuffix();
}
