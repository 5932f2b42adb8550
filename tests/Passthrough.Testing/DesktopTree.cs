namespace Passthrough.Testing;

/// <summary>
/// The desktop side of a host tree: input devices as udev lays them out (/dev/input/eventN, the
/// by-id symlinks to them, /sys/class/input/eventN) and display connectors with their modes
/// (/sys/class/drm/cardN-CONNECTOR/modes). Fixture files stand in for device nodes.
/// </summary>
public sealed class DesktopTree
{
    private readonly List<(string ById, int Event)> _inputs = [];
    private readonly List<(string Connector, string[] Modes)> _connectors = [];

    /// <summary>A keyboard: /dev/input/by-id/NAME-event-kbd -> ../eventN.</summary>
    public DesktopTree Keyboard(string name, int eventNumber)
    {
        _inputs.Add((name + "-event-kbd", eventNumber));
        return this;
    }

    /// <summary>A mouse: /dev/input/by-id/NAME-event-mouse -> ../eventN.</summary>
    public DesktopTree Mouse(string name, int eventNumber)
    {
        _inputs.Add((name + "-event-mouse", eventNumber));
        return this;
    }

    /// <summary>A connector (card1-DP-1) and its modes, best first as the kernel lists them; none for a disconnected one.</summary>
    public DesktopTree Connector(string name, params string[] modes)
    {
        _connectors.Add((name, modes));
        return this;
    }

    public void WriteTo(string root)
    {
        var byId = Path.Join(root, "dev", "input", "by-id");
        Directory.CreateDirectory(byId);
        foreach (var (name, n) in _inputs)
        {
            File.WriteAllText(Path.Join(root, "dev", "input", $"event{n}"), string.Empty);
            Directory.CreateDirectory(Path.Join(root, "sys", "class", "input", $"event{n}"));
            File.CreateSymbolicLink(Path.Join(byId, name), $"../event{n}");
        }

        foreach (var (connector, modes) in _connectors)
        {
            var dir = Path.Join(root, "sys", "class", "drm", connector);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Join(dir, "modes"), string.Concat(modes.Select(m => m + "\n")));
        }
    }

    /// <summary>A desk with a Logitech keyboard (event3) and mouse (event7) and a 2560x1440 monitor beside a 3840x2160 one.</summary>
    public static DesktopTree Typical() => new DesktopTree()
        .Keyboard("usb-Logitech_G815", 3)
        .Mouse("usb-Logitech_G502", 7)
        .Connector("card1-DP-1", "2560x1440", "1920x1080", "1920x1080i")
        .Connector("card1-HDMI-A-1", "3840x2160", "2560x1440")
        .Connector("card1-DP-2");
}
