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

    /// <summary>
    /// --system-bus ADDRESS: the D-Bus address systemd is reached at, for tests and captured hosts. Given
    /// explicitly, it is used under any --root (a fixture tree plus a private bus); without it only the live
    /// root (/) talks to systemd, on the system bus. Hidden: users never need it.
    /// </summary>
    public static readonly Option<string?> SystemBus = new("--system-bus")
    {
        Description = "Talk to systemd on this D-Bus address (for tests and captured hosts), under any --root.",
        HelpName = "ADDRESS",
        Recursive = true,
        Hidden = true,
    };

    /// <summary>Global options that take a value, as the verb finder must skip them.</summary>
    public static IReadOnlyList<string> WithValue { get; } = [Root.Name, SystemBus.Name];

    /// <summary>--json on verbs that report: machine-readable output with a stable shape.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Print JSON instead of text." };

    public static HostRoot HostRoot(ParseResult result) => Passthrough.Adapters.HostRoot.Open(result.GetValue(Root) ?? "/");

    /// <summary>The address given with --system-bus, or null.</summary>
    public static string? SystemBusAddress(ParseResult result) => result.GetValue(SystemBus) is { Length: > 0 } address ? address : null;
}
