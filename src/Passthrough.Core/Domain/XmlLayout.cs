using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;

namespace Passthrough.Domain;

/// <summary>
/// The user's formatting of one start tag, remembered at parse time: the whitespace before each
/// attribute, its quote character, and the whitespace before `>` or `/>`. XLinq forgets these, so
/// saving without them would rewrite every line of a libvirt file (which uses single quotes).
/// </summary>
internal sealed class StartTagLayout
{
    public Dictionary<XAttribute, AttributeLayout> Attributes { get; } = [];

    public string Trailing { get; set; } = string.Empty;
}

/// <summary>
/// One attribute as written: the whitespace before it, its quote, and its value as spelled in the
/// source (`&amp;gt;`, `&amp;#65;`, an entity) with the value that spelling decodes to; the spelling is
/// reused while the attribute still has that value.
/// </summary>
internal readonly record struct AttributeLayout(string Leading, char Quote, string? Raw, string Value);

/// <summary>
/// A text node as spelled in the source (`qemu&amp;apos;s`, `&amp;#x42;`, an internal DTD entity) and the
/// value it decodes to. XLinq keeps only the value; the spelling is reused while the value is unchanged,
/// so everything not edited comes out byte for byte.
/// </summary>
internal sealed record RawSpelling(string Raw, string Value);

/// <summary>
/// Serializes an <see cref="XDocument"/> loaded with <see cref="LoadOptions.PreserveWhitespace"/>
/// so that an unedited document comes out byte for byte as it went in, and an edited one differs
/// only where it was edited.
/// </summary>
internal static partial class XmlLayout
{
    /// <summary>Reads every start tag's layout from the original text, using the line info XLinq keeps.</summary>
    public static char Capture(XDocument document, string text)
    {
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                lineStarts.Add(i + 1);
            }
        }

        int Offset(IXmlLineInfo info) =>
            info.HasLineInfo() && info.LineNumber - 1 < lineStarts.Count ? lineStarts[info.LineNumber - 1] + info.LinePosition - 1 : -1;

        var entities = InternalEntities(document);
        var single = 0;
        var dbl = 0;
        foreach (var element in document.Descendants())
        {
            var start = Offset(element);
            if (start < 1 || start >= text.Length || text[start - 1] != '<')
            {
                continue;
            }

            var layout = new StartTagLayout();
            var pos = start;
            while (pos < text.Length && !IsSpace(text[pos]) && text[pos] != '>' && text[pos] != '/')
            {
                pos++;
            }

            foreach (var attribute in element.Attributes())
            {
                var at = Offset(attribute);
                if (at < pos || at >= text.Length)
                {
                    layout = null;
                    break;
                }

                var leading = text[pos..at];
                var q = at;
                while (q < text.Length && text[q] != '"' && text[q] != '\'')
                {
                    q++;
                }

                if (q >= text.Length)
                {
                    layout = null;
                    break;
                }

                var quote = text[q];
                _ = quote == '\'' ? single++ : dbl++;
                var close = text.IndexOf(quote, q + 1);
                if (close < 0)
                {
                    layout = null;
                    break;
                }

                var raw = Lf(text[(q + 1)..close]);
                layout.Attributes[attribute] = new AttributeLayout(leading, quote, Decode(raw, entities, attribute: true) == attribute.Value ? raw : null, attribute.Value);

                pos = close + 1;
            }

            if (layout is null)
            {
                continue;
            }

            var end = pos;
            while (end < text.Length && IsSpace(text[end]))
            {
                end++;
            }

            layout.Trailing = text[pos..end];
            element.AddAnnotation(layout);
        }

        if (document.Root is { } root && Offset(root) is var rootAt and > 0)
        {
            try
            {
                var pos = rootAt - 1;
                CaptureText(root, text, ref pos, entities);
            }
            catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The source does not read as we expect: keep the spellings found so far (each was
                // checked against its value) and escape the rest as before.
            }
        }

        return single >= dbl ? '\'' : '"';
    }

    /// <summary>Walks an element's source from its '&lt;' in step with its nodes, remembering how each text was spelled.</summary>
    private static void CaptureText(XElement element, string text, ref int pos, IReadOnlyDictionary<string, string> entities)
    {
        var gt = pos + 1;
        for (var quote = '\0'; quote != '\0' || text[gt] != '>'; gt++)
        {
            if (quote == '\0' && text[gt] is '"' or '\'')
            {
                quote = text[gt];
            }
            else if (text[gt] == quote)
            {
                quote = '\0';
            }
        }

        pos = gt + 1;
        if (text[gt - 1] == '/')
        {
            return;
        }

        var nodes = element.Nodes().ToList();
        var n = 0;
        while (string.CompareOrdinal(text, pos, "</", 0, 2) != 0)
        {
            if (string.CompareOrdinal(text, pos, "<!--", 0, 4) == 0)
            {
                Expect<XComment>(nodes, n++);
                pos = text.IndexOf("-->", pos, StringComparison.Ordinal) + 3;
            }
            else if (string.CompareOrdinal(text, pos, "<![CDATA[", 0, 9) == 0)
            {
                Expect<XCData>(nodes, n++);
                pos = text.IndexOf("]]>", pos, StringComparison.Ordinal) + 3;
            }
            else if (string.CompareOrdinal(text, pos, "<?", 0, 2) == 0)
            {
                Expect<XProcessingInstruction>(nodes, n++);
                pos = text.IndexOf("?>", pos, StringComparison.Ordinal) + 2;
            }
            else if (text[pos] == '<')
            {
                CaptureText(Expect<XElement>(nodes, n++), text, ref pos, entities);
            }
            else
            {
                var end = text.IndexOf('<', pos);
                var raw = Lf(text[pos..end]);
                var node = Expect<XText>(nodes, n++);
                if (node is XCData || Decode(raw, entities, attribute: false) != node.Value)
                {
                    // Entity text with markup, or XLinq split the run: stop here, escape the rest.
                    throw new FormatException();
                }

                // Also when raw equals the value: a literal '>' would otherwise come back as &gt;.
                node.AddAnnotation(new RawSpelling(raw, node.Value));

                pos = end;
            }
        }

        pos = text.IndexOf('>', pos) + 1;
    }

    private static T Expect<T>(List<XNode> nodes, int index)
        where T : XNode =>
        index < nodes.Count && nodes[index] is T node ? node : throw new FormatException();

    /// <summary>The general entities of the internal DTD subset (`&lt;!ENTITY name 'value'&gt;`).</summary>
    private static Dictionary<string, string> InternalEntities(XDocument document)
    {
        var entities = new Dictionary<string, string>(StringComparer.Ordinal);
        if (document.DocumentType?.InternalSubset is { } subset)
        {
            foreach (Match m in EntityDeclaration().Matches(subset))
            {
                entities.TryAdd(m.Groups[1].Value, m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value);
            }
        }

        return entities;
    }

    /// <summary>
    /// What an XML parser makes of a text or attribute value as spelled: the predefined entities,
    /// character references, internal entities, line ends as LF and, in attributes, white space as
    /// spaces (XML 1.0 sections 2.11, 3.3.3, 4.1, 4.4). Null when the spelling is beyond this.
    /// </summary>
    internal static string? Decode(string raw, IReadOnlyDictionary<string, string> entities, bool attribute, int depth = 0)
    {
        if (depth > 8)
        {
            return null;
        }

        var sb = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == '&')
            {
                var semi = raw.IndexOf(';', i);
                if (semi < 0)
                {
                    return null;
                }

                var name = raw[(i + 1)..semi];
                i = semi;
                if (name.StartsWith("#x", StringComparison.Ordinal) && int.TryParse(name.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) && Rune.IsValid(hex))
                {
                    sb.Append(char.ConvertFromUtf32(hex));
                }
                else if (name.StartsWith('#') && int.TryParse(name.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var dec) && Rune.IsValid(dec))
                {
                    sb.Append(char.ConvertFromUtf32(dec));
                }
                else if (name switch { "lt" => "<", "gt" => ">", "amp" => "&", "apos" => "'", "quot" => "\"", _ => null } is { } predefined)
                {
                    sb.Append(predefined);
                }
                else if (entities.TryGetValue(name, out var value) && Decode(value, entities, attribute, depth + 1) is { } expanded)
                {
                    sb.Append(expanded);
                }
                else
                {
                    return null;
                }
            }
            else if (attribute && c is '\n' or '\r' or '\t')
            {
                sb.Append(' ');
            }
            else
            {
                sb.Append(c == '\r' ? '\n' : c);
            }
        }

        return sb.ToString();
    }

    /// <summary>Line ends as the parser sees them; Save turns LF back into CRLF for CRLF files.</summary>
    private static string Lf(string raw) => raw.Replace("\r\n", "\n", StringComparison.Ordinal);

    [GeneratedRegex("""<!ENTITY\s+([^\s%]+)\s+(?:"([^"]*)"|'([^']*)')\s*>""")]
    private static partial Regex EntityDeclaration();

    public static string Write(XDocument document, string? declaration, char quote)
    {
        var sb = new StringBuilder();
        if (declaration is not null)
        {
            sb.Append(declaration);
        }

        foreach (var node in document.Nodes())
        {
            WriteNode(sb, node, quote);
        }

        return sb.ToString();
    }

    private static void WriteNode(StringBuilder sb, XNode node, char quote)
    {
        switch (node)
        {
            case XElement e:
                WriteElement(sb, e, quote);
                break;
            case XCData c:
                sb.Append("<![CDATA[").Append(c.Value).Append("]]>");
                break;
            case XText t when t.Annotation<RawSpelling>() is { } raw && raw.Value == t.Value:
                sb.Append(raw.Raw);
                break;
            case XText t:
                EscapeText(sb, t.Value);
                break;
            case XComment c:
                sb.Append("<!--").Append(c.Value).Append("-->");
                break;
            case XProcessingInstruction p:
                sb.Append("<?").Append(p.Target);
                if (p.Data.Length > 0)
                {
                    sb.Append(' ').Append(p.Data);
                }

                sb.Append("?>");
                break;
            case XDocumentType d when d.Annotation<RawSpelling>() is { } raw:
                sb.Append(raw.Raw);
                break;
            case XDocumentType d:
                sb.Append(d.ToString());
                break;
            default:
                break;
        }
    }

    private static void WriteElement(StringBuilder sb, XElement e, char quote)
    {
        var name = QualifiedName(e);
        var layout = e.Annotation<StartTagLayout>();
        sb.Append('<').Append(name);
        foreach (var a in e.Attributes())
        {
            var l = layout is not null && layout.Attributes.TryGetValue(a, out var known) ? known : new AttributeLayout(" ", quote, null, a.Value);
            sb.Append(l.Leading).Append(AttributeName(e, a)).Append('=').Append(l.Quote);
            if (l.Raw is not null && l.Value == a.Value)
            {
                sb.Append(l.Raw);
            }
            else
            {
                EscapeAttribute(sb, a.Value, l.Quote);
            }

            sb.Append(l.Quote);
        }

        sb.Append(layout?.Trailing ?? string.Empty);
        if (e.IsEmpty)
        {
            sb.Append("/>");
            return;
        }

        sb.Append('>');
        foreach (var child in e.Nodes())
        {
            WriteNode(sb, child, quote);
        }

        sb.Append("</").Append(name).Append('>');
    }

    private static string QualifiedName(XElement e)
    {
        var ns = e.Name.Namespace;
        if (ns == XNamespace.None)
        {
            return e.Name.LocalName;
        }

        // The default namespace in scope wins when it is this namespace (libvirt's own files never
        // use one, but users' hand-written metadata does).
        for (var scope = e; scope is not null; scope = scope.Parent)
        {
            foreach (var a in scope.Attributes())
            {
                if (!a.IsNamespaceDeclaration)
                {
                    continue;
                }

                if (a.Value == ns.NamespaceName)
                {
                    return a.Name.Namespace == XNamespace.None ? e.Name.LocalName : a.Name.LocalName + ":" + e.Name.LocalName;
                }

                if (a.Name.Namespace == XNamespace.None)
                {
                    // A different default namespace shadows outer ones only for unprefixed names.
                    continue;
                }
            }
        }

        return e.GetPrefixOfNamespace(ns) is { } prefix ? prefix + ":" + e.Name.LocalName : e.Name.LocalName;
    }

    private static string AttributeName(XElement owner, XAttribute a)
    {
        if (a.IsNamespaceDeclaration)
        {
            return a.Name.Namespace == XNamespace.None ? "xmlns" : "xmlns:" + a.Name.LocalName;
        }

        var ns = a.Name.Namespace;
        if (ns == XNamespace.None)
        {
            return a.Name.LocalName;
        }

        if (ns == XNamespace.Xml)
        {
            return "xml:" + a.Name.LocalName;
        }

        return owner.GetPrefixOfNamespace(ns) is { } prefix ? prefix + ":" + a.Name.LocalName : a.Name.LocalName;
    }

    private static void EscapeText(StringBuilder sb, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '&':
                    sb.Append("&amp;");
                    break;
                case '<':
                    sb.Append("&lt;");
                    break;
                case '>':
                    // libxml2 (libvirt) and XmlWriter both write &gt; in text.
                    sb.Append("&gt;");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
    }

    private static void EscapeAttribute(StringBuilder sb, string value, char quote)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '&':
                    sb.Append("&amp;");
                    break;
                case '<':
                    sb.Append("&lt;");
                    break;
                case '"' when quote == '"':
                    sb.Append("&quot;");
                    break;
                case '\'' when quote == '\'':
                    sb.Append("&apos;");
                    break;
                case '\n':
                    sb.Append("&#10;");
                    break;
                case '\r':
                    sb.Append("&#13;");
                    break;
                case '\t':
                    sb.Append("&#9;");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r';

    /// <summary>The indentation of the line an element starts on, from the whitespace before it.</summary>
    public static string IndentOf(XElement element)
    {
        if (element.PreviousNode is XText { } t && t is not XCData)
        {
            var nl = t.Value.LastIndexOf('\n');
            if (nl >= 0 && string.IsNullOrWhiteSpace(t.Value))
            {
                return t.Value[(nl + 1)..];
            }
        }

        return element.Parent is { } parent ? IndentOf(parent) + Unit(element.Document) : string.Empty;
    }

    /// <summary>The document's indentation step: the first child element's indent minus its parent's.</summary>
    public static string Unit(XDocument? document)
    {
        var root = document?.Root;
        if (root?.Elements().FirstOrDefault() is { PreviousNode: XText t } && string.IsNullOrWhiteSpace(t.Value))
        {
            var nl = t.Value.LastIndexOf('\n');
            var indent = nl >= 0 ? t.Value[(nl + 1)..] : string.Empty;
            return indent.Length > 0 ? indent : "  ";
        }

        return "  ";
    }

    /// <summary>Whether the document is laid out on lines (false for one-line documents).</summary>
    public static bool IsIndented(XDocument? document) =>
        document?.Root?.Nodes().OfType<XText>().Any(t => t.Value.Contains('\n', StringComparison.Ordinal)) ?? false;

    /// <summary>Gives a newly built element (and its descendants) the layout of its new siblings.</summary>
    public static void Format(XElement element, string indent, string unit)
    {
        var children = element.Elements().ToList();
        if (children.Count == 0)
        {
            return;
        }

        var inner = indent + unit;
        foreach (var child in children)
        {
            child.AddBeforeSelf(new XText("\n" + inner));
            Format(child, inner, unit);
        }

        element.Add(new XText("\n" + indent));
    }

    /// <summary>
    /// Inserts a new element into <paramref name="parent"/> after <paramref name="after"/> (or
    /// before <paramref name="before"/>, or last), indented like its siblings.
    /// </summary>
    public static XElement Insert(XElement parent, XElement element, XElement? after = null, XElement? before = null)
    {
        var doc = parent.Document;
        if (!IsIndented(doc))
        {
            if (after is not null)
            {
                after.AddAfterSelf(element);
            }
            else if (before is not null)
            {
                before.AddBeforeSelf(element);
            }
            else
            {
                parent.Add(element);
            }

            return element;
        }

        var unit = Unit(doc);
        var sibling = after ?? before ?? parent.Elements().LastOrDefault();
        var indent = sibling is not null ? IndentOf(sibling) : IndentOf(parent) + unit;
        Format(element, indent, unit);
        if (after is not null)
        {
            after.AddAfterSelf(new XText("\n" + indent), element);
        }
        else if (before is not null)
        {
            before.AddBeforeSelf(element, new XText("\n" + indent));
        }
        else if (sibling is not null)
        {
            sibling.AddAfterSelf(new XText("\n" + indent), element);
        }
        else
        {
            // An empty parent (`<metadata/>`): open it up onto lines of its own.
            var text = parent.Nodes().OfType<XText>().ToList();
            foreach (var t in text.Where(t => string.IsNullOrWhiteSpace(t.Value)))
            {
                t.Remove();
            }

            parent.AddFirst(new XText("\n" + indent), element, new XText("\n" + IndentOf(parent)));
        }

        return element;
    }

    /// <summary>Removes an element with the whitespace that put it on its own line.</summary>
    public static void Remove(XElement element)
    {
        var parent = element.Parent;
        if (element.PreviousNode is XText t and not XCData && string.IsNullOrWhiteSpace(t.Value))
        {
            t.Remove();
        }

        element.Remove();
        if (parent is not null && !parent.Elements().Any() && parent.Nodes().All(n => n is XText x && string.IsNullOrWhiteSpace(x.Value)))
        {
            // Nothing left but the closing tag's indentation: collapse to `<parent/>` like libvirt writes.
            parent.RemoveNodes();
        }
    }
}
