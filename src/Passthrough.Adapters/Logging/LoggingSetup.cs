using NLog;
using NLog.Config;
using NLog.Layouts;

namespace Passthrough.Adapters.Logging;

/// <summary>
/// NLog configured in code (no NLog.config to lose): Info and above to
/// ROOT/var/log/passthrough/passthrough.log and to the journal. Used by the libvirt hook, which has
/// no terminal: libvirt shows only its stderr, so the full story lives here.
/// </summary>
public static class LoggingSetup
{
    public const string LogFile = "/var/log/passthrough/passthrough.log";

    /// <summary>Configures NLog's global configuration; returns the path of the log file.</summary>
    public static string Configure(HostRoot root, LogLevel? minimum = null, bool journal = true)
    {
        ArgumentNullException.ThrowIfNull(root);
        var path = root.Path(LogFile);
        var configuration = new LoggingConfiguration();
        var file = new LogFileTarget(path)
        {
            // The layout as code, not a "${longdate} ${processid} ..." string: NLog parses such a string
            // and binds each renderer through reflection at every start, and the hook starts often.
            Layout = Layout.FromMethod(Line, LayoutRenderOptions.None),
        };
        configuration.AddRule(minimum ?? LogLevel.Info, LogLevel.Fatal, file);
        if (journal && JournalTarget.IsAvailable)
        {
            configuration.AddRule(minimum ?? LogLevel.Info, LogLevel.Fatal, new JournalTarget());
        }

        LogManager.Configuration = configuration;
        return path;
    }

    /// <summary>"2026-11-22 06:40:01.1234 4711 INFO Passthrough.Hook message", then the exception, if any.</summary>
    private static string Line(LogEventInfo e)
    {
        var line = string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"{e.TimeStamp:yyyy-MM-dd HH:mm:ss.ffff} {Environment.ProcessId} {e.Level.Name.ToUpperInvariant()} {e.LoggerName} {e.FormattedMessage}");
        return e.Exception is null ? line : line + Environment.NewLine + e.Exception;
    }
}
