using System.Buffers.Binary;
using System.Text;
using NLog;
using NLog.Layouts;
using NLog.Targets;
using Passthrough.Adapters.Native;

namespace Passthrough.Adapters.Logging;

/// <summary>
/// NLog target writing to the systemd journal (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER fields) in journald's
/// native protocol: one datagram per entry to /run/systemd/journal/socket
/// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), which is what sd_journal_sendv(3) sends. Spoken
/// directly, not through libsystemd: loading libsystemd and its six libraries on every hook start cost
/// more than the hook's own work on a slow machine. On a host without journald nothing is written: the
/// log file still has everything.
/// </summary>
[Target("Journal")]
public sealed class JournalTarget : TargetWithLayout
{
    /// <summary>journald's native socket (systemd-journald.service(8)).</summary>
    public const string Socket = "/run/systemd/journal/socket";

    private int _socket = -1;

    public JournalTarget()
    {
        Name = "journal";
        // The layout as code, not a "${message}${onexception:...}" string NLog would parse and bind at run
        // time: the message, then the exception with its stack, if any.
        Layout = Layout.FromMethod(static e => e.Exception is null ? e.FormattedMessage : e.FormattedMessage + Environment.NewLine + e.Exception, LayoutRenderOptions.None);
    }

    /// <summary>SYSLOG_IDENTIFIER, what `journalctl -t` selects.</summary>
    public string Identifier { get; set; } = "passthrough";

    /// <summary>The protocol needs no library: every Linux host can send; whether journald listens shows when it does.</summary>
    public static bool IsAvailable => OperatingSystem.IsLinux();

    /// <summary>syslog(3) priority for an NLog level.</summary>
    public static int PriorityOf(LogLevel level)
    {
        ArgumentNullException.ThrowIfNull(level);
        return level.Ordinal switch
        {
            >= 5 => 2, // Fatal: crit
            4 => 3, // Error: err
            3 => 4, // Warn: warning
            2 => 6, // Info: info
            _ => 7, // Debug, Trace: debug
        };
    }

    /// <summary>One journal entry as the native protocol frames it: KEY=VALUE lines, and a value with a newline as
    /// KEY, newline, its length as 64-bit little endian, the value, newline.</summary>
    public static byte[] Entry(IReadOnlyList<(string Key, string Value)> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var entry = new List<byte>(256);
        Span<byte> length = stackalloc byte[8];
        foreach (var (key, value) in fields)
        {
            entry.AddRange(Encoding.UTF8.GetBytes(key));
            var bytes = Encoding.UTF8.GetBytes(value);
            if (value.Contains('\n', StringComparison.Ordinal))
            {
                entry.Add((byte)'\n');
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)bytes.Length);
                entry.AddRange(length);
            }
            else
            {
                entry.Add((byte)'=');
            }

            entry.AddRange(bytes);
            entry.Add((byte)'\n');
        }

        return [.. entry];
    }

    protected override void Write(LogEventInfo logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        if (_socket < 0)
        {
            _socket = LibC.DatagramSocket();
            if (_socket < 0)
            {
                return;
            }
        }

        var entry = Entry(
        [
            ("MESSAGE", RenderLogEvent(Layout, logEvent)),
            ("PRIORITY", PriorityOf(logEvent.Level).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("SYSLOG_IDENTIFIER", Identifier),
            ("PASSTHROUGH_LOGGER", logEvent.LoggerName ?? string.Empty),
        ]);

        // A failure (no journald, an entry too large for one datagram) is ignored: logging must never fail the hook.
        _ = LibC.SendTo(_socket, entry, Socket);
    }

    protected override void CloseTarget()
    {
        if (_socket >= 0)
        {
            LibC.Close(_socket);
            _socket = -1;
        }

        base.CloseTarget();
    }
}
