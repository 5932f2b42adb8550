using NLog;
using NLog.Config;
using NLog.Targets;

namespace Passthrough.Logging;

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
        var file = new FileTarget("file")
        {
            FileName = path,
            Layout = "${longdate} ${processid} ${level:uppercase=true} ${logger} ${message}${onexception:${newline}${exception:format=tostring}}",
            CreateDirs = true,
            KeepFileOpen = false,
            Encoding = System.Text.Encoding.UTF8,
        };
        configuration.AddRule(minimum ?? LogLevel.Info, LogLevel.Fatal, file);
        if (journal && JournalTarget.IsAvailable)
        {
            configuration.AddRule(minimum ?? LogLevel.Info, LogLevel.Fatal, new JournalTarget());
        }

        LogManager.Configuration = configuration;
        return path;
    }
}
