using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Adapters.Binding;

/// <summary>
/// Processes hold the device nodes of functions about to leave their driver; nothing was changed.
/// Carries the holders so the hook's log, `bind` and tests can name them.
/// </summary>
public sealed class DevicesHeldException : PassthroughException
{
    public const string KeepDesktopOff =
        "Close those programs (log out of a desktop running on that GPU, stop a monitoring tool), or keep the desktop off it: `passthrough setup --mode dynamic` writes a udev rule for GNOME; KWin and wlroots/Hyprland: README \"Keeping the desktop off the passed GPU\".";

    public DevicesHeldException(string owner, IReadOnlyList<PciFunction> functions, IReadOnlyList<DeviceHolder> holders)
        : base(FailureKind.Failed, Describe(owner, functions, holders), KeepDesktopOff)
    {
        Holders = holders;
    }

    public DevicesHeldException()
        : this("?", [], [])
    {
    }

    public DevicesHeldException(string message)
        : base(message)
    {
        Holders = [];
    }

    public DevicesHeldException(string message, Exception inner)
        : base(message, inner)
    {
        Holders = [];
    }

    public IReadOnlyList<DeviceHolder> Holders { get; }

    private static string Describe(string owner, IReadOnlyList<PciFunction> functions, IReadOnlyList<DeviceHolder> holders) =>
        $"Cannot give {owner} {string.Join(", ", functions.Select(f => f.Address))}: in use by the host, nothing was changed: {string.Join("; ", holders)}.";
}
