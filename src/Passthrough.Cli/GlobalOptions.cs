using System.CommandLine;

using Passthrough.Adapters;

namespace Passthrough.Cli;

/// <summary>Options shared by every verb.</summary>
internal static class GlobalOptions
{
    /// <summary>--root DIR: treat DIR as / for every host path.</summary>
    public static readonly Option<string> Root = new("--root")
    {
        Description = "Treat DIR as / for every host path (/sys, /proc, /dev/kmsg, /etc, /boot, /run).",
        HelpName = "DIR",
        Recursive = true,
        DefaultValueFactory = _ => "/",
    };

    /// <summary>--json on verbs that report: machine-readable output with a stable shape.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Print JSON instead of text." };

    public static HostRoot HostRoot(ParseResult result) => Passthrough.Adapters.HostRoot.Open(result.GetValue(Root) ?? "/");
}
