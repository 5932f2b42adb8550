using System.Globalization;
using System.Text;
using Passthrough.Errors;

namespace Passthrough.Capture;

/// <summary>
/// The host capture text format: the parts of /sys and /proc Passthrough reads, as one reviewable
/// text file (in the spirit of prometheus/procfs' ttar fixtures). One directive per line, paths
/// relative to the root, never absolute and never containing "..":
/// <code>
/// # passthrough host capture 1          first line; other "#" lines and blank lines are ignored
/// dir PATH                              an (empty) directory
/// file PATH = TEXT                      a file holding TEXT and a newline (the usual sysfs one-liner)
/// file PATH                             a file; each following "| text" line adds "text\n"; none: empty
/// bytes PATH                            a binary file; following ": 86 80 57 0d ..." lines give hex bytes,
///                                       16 a line; "00*240" stands for 240 zero bytes
/// link PATH -> TARGET                   a symbolic link (TARGET as the kernel writes it, usually relative)
/// </code>
/// Parsing and formatting only: laying a capture out on disk and collecting one from a host are the
/// adapter's (<c>HostCapture</c>).
/// </summary>
public static class CaptureText
{
    public const string Header = "# passthrough host capture 1";

    private const string Remedy = "Fix that line of the capture (the format is in the README, section `capture`), or record it again with `passthrough capture save`.";

    /// <summary>Parses a capture; bad input is a <see cref="PassthroughException"/> naming FILE:LINE.</summary>
    public static IReadOnlyList<CaptureEntry> Parse(TextReader reader, string sourceName)
    {
        var entries = new List<CaptureEntry>();
        var kinds = new Dictionary<string, (string Kind, int Line)>(StringComparer.Ordinal);
        var lineNumber = 0;
        string? line;
        CaptureEntry? open = null; // a "file PATH" or "bytes PATH" still taking continuation lines
        var openText = false;
        var content = new List<byte>();

        PassthroughException Bad(int at, string what) => PassthroughException.Input($"{sourceName}:{at}: {what}", Remedy);

        void Close()
        {
            if (open is CaptureFile f)
            {
                entries.Add(f with { Content = [.. content] });
            }

            open = null;
            content.Clear();
        }

        void Claim(string path, string kind, int at)
        {
            // A path is defined once; nothing may live under a file or a link (a link could lead out of the tree).
            if (kinds.TryGetValue(path, out var existing) && !(kind == "dir" && existing.Kind == "dir"))
            {
                throw Bad(at, $"{path} is already defined at line {existing.Line}.");
            }

            for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = path.IndexOf('/', slash + 1))
            {
                var parent = path[..slash];
                if (kinds.TryGetValue(parent, out var p))
                {
                    if (p.Kind != "dir")
                    {
                        throw Bad(at, $"{path} lies under {parent}, which is a {p.Kind} (line {p.Line}).");
                    }
                }
                else
                {
                    kinds[parent] = ("dir", at);
                }
            }

            if (kinds.TryGetValue(path, out var implied) && kind != "dir")
            {
                throw Bad(at, $"{path} is a directory (line {implied.Line} puts something in it), not a {kind}.");
            }

            kinds[path] = (kind, at);
        }

        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (lineNumber == 1)
            {
                if (line.TrimEnd() != Header)
                {
                    throw Bad(1, $"not a passthrough host capture (the first line must be \"{Header}\").");
                }

                continue;
            }

            if (open is not null && openText && line.StartsWith('|'))
            {
                var text = line.Length > 1 && line[1] == ' ' ? line[2..] : line[1..];
                content.AddRange(Encoding.UTF8.GetBytes(text + "\n"));
                continue;
            }

            if (open is not null && !openText && line.StartsWith(':'))
            {
                ParseHex(line.AsSpan(1), content, message => Bad(lineNumber, message));
                continue;
            }

            Close();
            if (line.Length == 0 || line.StartsWith('#') || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var directive = space < 0 ? line : line[..space];
            var rest = space < 0 ? string.Empty : line[(space + 1)..];
            var pathEnd = rest.IndexOf(' ', StringComparison.Ordinal);
            var path = pathEnd < 0 ? rest : rest[..pathEnd];
            var tail = pathEnd < 0 ? string.Empty : rest[(pathEnd + 1)..];
            switch (directive)
            {
                case "dir":
                    CheckPath(path, lineNumber, Bad);
                    ExpectNothing(tail, lineNumber, Bad);
                    Claim(path, "dir", lineNumber);
                    entries.Add(new CaptureDirectory(path));
                    break;
                case "file":
                    CheckPath(path, lineNumber, Bad);
                    Claim(path, "file", lineNumber);
                    if (tail.Length == 0)
                    {
                        open = new CaptureFile(path, []);
                        openText = true;
                    }
                    else if (tail == "=")
                    {
                        entries.Add(CaptureFile.Text(path, "\n"));
                    }
                    else if (tail.StartsWith("= ", StringComparison.Ordinal))
                    {
                        entries.Add(CaptureFile.Text(path, tail[2..] + "\n"));
                    }
                    else
                    {
                        throw Bad(lineNumber, $"expected \"file {path} = TEXT\" or \"file {path}\" followed by \"| text\" lines, not \"{line}\".");
                    }

                    break;
                case "bytes":
                    CheckPath(path, lineNumber, Bad);
                    ExpectNothing(tail, lineNumber, Bad);
                    Claim(path, "file", lineNumber);
                    open = new CaptureFile(path, []);
                    openText = false;
                    break;
                case "link":
                    CheckPath(path, lineNumber, Bad);
                    if (!tail.StartsWith("-> ", StringComparison.Ordinal) || tail.Length == 3)
                    {
                        throw Bad(lineNumber, $"expected \"link {path} -> TARGET\", not \"{line}\".");
                    }

                    Claim(path, "link", lineNumber);
                    entries.Add(new CaptureLink(path, tail[3..]));
                    break;
                default:
                    throw Bad(lineNumber, $"unknown directive \"{directive}\" (expected dir, file, bytes or link).");
            }
        }

        if (lineNumber == 0)
        {
            throw Bad(1, $"empty file: not a passthrough host capture (the first line must be \"{Header}\").");
        }

        Close();
        return entries;
    }

    /// <summary>Writes the entries as capture text, in the order given.</summary>
    public static void Format(IEnumerable<CaptureEntry> entries, TextWriter writer, IEnumerable<string>? comments = null)
    {
        writer.Write(Header + "\n");
        foreach (var comment in comments ?? [])
        {
            writer.Write("# " + comment + "\n");
        }

        foreach (var entry in entries)
        {
            switch (entry)
            {
                case CaptureDirectory d:
                    writer.Write($"dir {d.Path}\n");
                    break;
                case CaptureLink l:
                    writer.Write($"link {l.Path} -> {l.Target}\n");
                    break;
                case CaptureFile f:
                    FormatFile(f, writer);
                    break;
                default:
                    throw new ArgumentException($"unknown entry {entry.GetType().Name}", nameof(entries));
            }
        }
    }

    /// <summary>Capture text as a string.</summary>
    public static string Format(IEnumerable<CaptureEntry> entries, IEnumerable<string>? comments = null)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Format(entries, writer, comments);
        return writer.ToString();
    }

    private static void FormatFile(CaptureFile f, TextWriter writer)
    {
        var text = PlainText(f.Content);
        if (f.Content.Length == 0)
        {
            writer.Write($"file {f.Path}\n");
        }
        else if (text is not null && text.IndexOf('\n', StringComparison.Ordinal) == text.Length - 1)
        {
            writer.Write(text.Length == 1 ? $"file {f.Path} =\n" : $"file {f.Path} = {text}");
        }
        else if (text is not null)
        {
            writer.Write($"file {f.Path}\n");
            foreach (var line in text[..^1].Split('\n'))
            {
                writer.Write(line.Length == 0 ? "|\n" : $"| {line}\n");
            }
        }
        else
        {
            writer.Write($"bytes {f.Path}\n");
            FormatHex(f.Content, writer);
        }
    }

    /// <summary>Rows of 16 bytes; runs of whole zero rows become one "00*N" row so offsets stay aligned.</summary>
    private static void FormatHex(byte[] content, TextWriter writer)
    {
        var sb = new StringBuilder();
        for (var offset = 0; offset < content.Length;)
        {
            var zeroRun = 0;
            while (offset + zeroRun + 16 <= content.Length && content.AsSpan(offset + zeroRun, 16).IndexOfAnyExcept((byte)0) < 0)
            {
                zeroRun += 16;
            }

            if (zeroRun >= 32)
            {
                writer.Write($": 00*{zeroRun.ToString(CultureInfo.InvariantCulture)}\n");
                offset += zeroRun;
                continue;
            }

            var count = Math.Min(16, content.Length - offset);
            sb.Clear().Append(':');
            foreach (var b in content.AsSpan(offset, count))
            {
                sb.Append(' ').Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }

            writer.Write(sb.Append('\n').ToString());
            offset += count;
        }
    }

    private static void ParseHex(ReadOnlySpan<char> text, List<byte> content, Func<string, PassthroughException> bad)
    {
        foreach (var range in text.Split(' '))
        {
            var token = text[range];
            if (token.IsEmpty)
            {
                continue;
            }

            var star = token.IndexOf('*');
            var hex = star < 0 ? token : token[..star];
            var count = 1;
            if (hex.Length != 2
                || !byte.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
                || (star >= 0 && (!int.TryParse(token[(star + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > 1 << 24)))
            {
                throw bad($"\"{token}\" is not a hex byte (two hex digits such as 0d, or 00*240 for 240 zero bytes).");
            }

            for (var i = 0; i < count; i++)
            {
                content.Add(value);
            }
        }
    }

    /// <summary>The text when the bytes are UTF-8 lines without control characters (tabs allowed), each ending
    /// in a newline; otherwise null (the file is written as bytes).</summary>
    private static string? PlainText(byte[] content)
    {
        if (content.Length == 0 || content[^1] != (byte)'\n')
        {
            return null;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(content);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        foreach (var c in text)
        {
            if (char.IsControl(c) && c is not '\n' and not '\t')
            {
                return null;
            }
        }

        return text;
    }

    /// <summary>A capture path: relative, no empty/./.. component, no control character.</summary>
    public static void CheckPath(string path, int line, Func<int, string, Exception> bad)
    {
        if (path.Length == 0)
        {
            throw bad(line, "a path is missing after the directive.");
        }

        if (path.StartsWith('/'))
        {
            throw bad(line, $"{path} is absolute: paths in a capture are relative to the root (write {path.TrimStart('/')}).");
        }

        foreach (var part in path.Split('/'))
        {
            if (part is "" or "." or "..")
            {
                throw bad(line, $"{path} has an empty, \".\" or \"..\" component: paths must stay inside the root.");
            }
        }

        if (path.Any(char.IsControl))
        {
            throw bad(line, $"{path} contains a control character.");
        }
    }

    private static void ExpectNothing(string tail, int line, Func<int, string, Exception> bad)
    {
        if (tail.Length > 0)
        {
            throw bad(line, $"unexpected \"{tail}\" after the path.");
        }
    }
}
