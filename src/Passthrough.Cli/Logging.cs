using NLog;

namespace Passthrough.Cli;

/// <summary>NLog for diagnostics the user did not ask to see; user-facing output goes through CliContext.</summary>
internal static class Logging
{
    public static Logger Log { get; } = LogManager.GetLogger("passthrough");
}
