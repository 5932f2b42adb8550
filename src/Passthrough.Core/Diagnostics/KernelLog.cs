using System.Globalization;
using System.Text;

namespace Passthrough.Diagnostics;

/// <summary>One kernel log message; Seconds since boot when the source had a timestamp.</summary>
public sealed record KernelLogLine(double? Seconds, string Message)
{
    public override string ToString() =>
        Seconds is double s ? string.Create(CultureInfo.InvariantCulture, $"[{s,12:F6}] {Message}") : Message;
}

/// <summary>
/// The kernel log, parsed from /dev/kmsg records ("PRI,SEQ,TS_USEC,FLAGS[,..];message" with
/// continuation lines starting with a space, Documentation/ABI/testing/dev-kmsg) or from plain
/// `dmesg` text ("[    0.000000] message"), or `journalctl -k` lines ("... kernel: message").
/// </summary>
public sealed class KernelLog
{
    public KernelLog(IEnumerable<KernelLogLine> lines)
    {
        Lines = [.. lines];
    }

    public static KernelLog Empty { get; } = new([]);

    public IReadOnlyList<KernelLogLine> Lines { get; }

    /// <summary>
    /// Whether the log still holds the early boot messages: the ring buffer is finite and a
    /// long-running host may have lost them, so "line missing" only means something when this holds.
    /// </summary>
    public bool ReachesBoot => Lines.Any(l => l.Message.StartsWith("Linux version", StringComparison.Ordinal)
        || l.Message.StartsWith("Command line:", StringComparison.Ordinal)
        || l.Message.StartsWith("Kernel command line:", StringComparison.Ordinal));

    public IEnumerable<KernelLogLine> Containing(string text) =>
        Lines.Where(l => l.Message.Contains(text, StringComparison.OrdinalIgnoreCase));

    public static KernelLog Parse(string text) => Parse(text.Split('\n'));

    public static KernelLog Parse(IEnumerable<string> rawLines)
    {
        var lines = new List<KernelLogLine>();
        foreach (var raw in rawLines)
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == ' ')
            {
                // Empty, or a kmsg dictionary continuation (" SUBSYSTEM=pci").
                continue;
            }

            lines.Add(ParseLine(line));
        }

        return new KernelLog(lines);
    }

    /// <summary>Parses one kmsg record or one dmesg line.</summary>
    public static KernelLogLine ParseLine(string line)
    {
        if (TryParseKmsg(line, out var record))
        {
            return record;
        }

        if (line.StartsWith('[') && line.IndexOf(']', StringComparison.Ordinal) is var close and > 0
            && double.TryParse(line.AsSpan(1, close - 1).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return new KernelLogLine(seconds, line[(close + 1)..].TrimStart());
        }

        // journalctl -k: "Jan 21 12:35:40 host kernel: message"
        var kernel = line.IndexOf(" kernel: ", StringComparison.Ordinal);
        if (kernel > 0)
        {
            return new KernelLogLine(null, line[(kernel + 9)..]);
        }

        return new KernelLogLine(null, line);
    }

    private static bool TryParseKmsg(string line, out KernelLogLine record)
    {
        record = null!;
        var semicolon = line.IndexOf(';', StringComparison.Ordinal);
        if (semicolon < 5)
        {
            return false;
        }

        var header = line.AsSpan(0, semicolon);
        Span<Range> fields = stackalloc Range[5];
        var count = header.Split(fields, ',');
        if (count < 4
            || !int.TryParse(header[fields[0]], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            || !long.TryParse(header[fields[1]], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            || !long.TryParse(header[fields[2]], NumberStyles.None, CultureInfo.InvariantCulture, out var usec))
        {
            return false;
        }

        record = new KernelLogLine(usec / 1_000_000.0, Unescape(line[(semicolon + 1)..]));
        return true;
    }

    /// <summary>kmsg escapes non-printable bytes as \xNN.</summary>
    private static string Unescape(string message)
    {
        if (!message.Contains("\\x", StringComparison.Ordinal))
        {
            return message;
        }

        var sb = new StringBuilder(message.Length);
        for (var i = 0; i < message.Length; i++)
        {
            if (message[i] == '\\' && i + 3 < message.Length && message[i + 1] == 'x'
                && int.TryParse(message.AsSpan(i + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                sb.Append((char)b);
                i += 3;
            }
            else
            {
                sb.Append(message[i]);
            }
        }

        return sb.ToString();
    }
}
