using System.Runtime.InteropServices;
using System.Text;
using NLog;
using NLog.Layouts;
using NLog.Targets;

namespace Passthrough.Adapters.Logging;

/// <summary>
/// NLog target writing to the systemd journal through sd_journal_sendv(3) (MESSAGE, PRIORITY,
/// SYSLOG_IDENTIFIER fields). On a host without libsystemd or journald it writes nothing: the log
/// file still has everything.
/// </summary>
[Target("Journal")]
public sealed unsafe class JournalTarget : TargetWithLayout
{
    private static readonly nint SendV = FindSendV();

    public JournalTarget()
    {
        Name = "journal";
        // The layout as code, not a "${message}${onexception:...}" string NLog would parse and bind at run
        // time: the message, then the exception with its stack, if any.
        Layout = Layout.FromMethod(static e => e.Exception is null ? e.FormattedMessage : e.FormattedMessage + Environment.NewLine + e.Exception, LayoutRenderOptions.None);
    }

    /// <summary>SYSLOG_IDENTIFIER, what `journalctl -t` selects.</summary>
    public string Identifier { get; set; } = "passthrough";

    /// <summary>libsystemd with sd_journal_sendv was found.</summary>
    public static bool IsAvailable => SendV != 0;

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

    protected override void Write(LogEventInfo logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        if (SendV == 0)
        {
            return;
        }

        string[] fields =
        [
            "MESSAGE=" + RenderLogEvent(Layout, logEvent),
            "PRIORITY=" + PriorityOf(logEvent.Level).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "SYSLOG_IDENTIFIER=" + Identifier,
            "PASSTHROUGH_LOGGER=" + logEvent.LoggerName,
        ];
        var buffers = fields.Select(f => Encoding.UTF8.GetBytes(f)).ToArray();
        var handles = buffers.Select(b => GCHandle.Alloc(b, GCHandleType.Pinned)).ToArray();
        try
        {
            var vectors = stackalloc IoVector[buffers.Length];
            for (var i = 0; i < buffers.Length; i++)
            {
                vectors[i] = new IoVector { Base = handles[i].AddrOfPinnedObject(), Length = (nuint)buffers[i].Length };
            }

            // A negative result (journald not running) is ignored: logging must never fail the hook.
            _ = ((delegate* unmanaged<IoVector*, int, int>)SendV)(vectors, buffers.Length);
        }
        finally
        {
            foreach (var handle in handles)
            {
                handle.Free();
            }
        }
    }

    private static nint FindSendV() =>
        NativeLibrary.TryLoad("libsystemd.so.0", out var library) && NativeLibrary.TryGetExport(library, "sd_journal_sendv", out var export)
            ? export
            : 0;

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public nint Base;
        public nuint Length;
    }
}
