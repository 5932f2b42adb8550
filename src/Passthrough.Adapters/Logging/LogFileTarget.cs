using System.Text;
using NLog;
using NLog.Targets;
using Passthrough.Adapters.Native;

namespace Passthrough.Adapters.Logging;

/// <summary>
/// NLog target appending each entry to the log file: open with O_APPEND, one write(2), close, so lines
/// of hooks running at once never interleave or overwrite each other, and nothing is held open between
/// entries (logrotate can move the file any time). The hook starts on every VM start and stop and logs a
/// few lines; NLog's general FileTarget (archiving, caches of open files, timers) was most of the time
/// logging took to set up, and a tenth of a second of the hook's under emulation.
/// </summary>
[Target("LogFile")]
public sealed class LogFileTarget : TargetWithLayout
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    private bool _directoryMade;

    public LogFileTarget(string path)
    {
        Name = "file";
        Path = path;
    }

    /// <summary>The log file (its directory is made at the first entry).</summary>
    public string Path { get; }

    protected override void Write(LogEventInfo logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        if (!_directoryMade)
        {
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return; // logging must never fail the hook: the journal and stderr still say what happened
            }

            _directoryMade = true;
        }

        var fd = LibC.Open(Path, LibC.OWrOnly | LibC.OCreat | LibC.OAppend, 0x1a4); // 0644
        if (fd < 0)
        {
            return;
        }

        try
        {
            _ = LibC.WriteAll(fd, Utf8.GetBytes(RenderLogEvent(Layout, logEvent) + "\n"));
        }
        finally
        {
            LibC.Close(fd);
        }
    }
}
