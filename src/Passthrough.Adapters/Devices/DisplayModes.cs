using Passthrough.Domain;

namespace Passthrough.Adapters.Devices;

/// <summary>The display modes the host's connected monitors offer, from /sys/class/drm/card*-*/modes.</summary>
public sealed class DisplayModes
{
    private readonly HostRoot _root;

    public DisplayModes(HostRoot root)
    {
        _root = root;
    }

    /// <summary>The largest mode of any connector (by pixels), and the file it came from; null when none is readable.</summary>
    public (DisplayResolution Resolution, string File)? Largest()
    {
        var dir = _root.Path("/sys/class/drm");
        if (!Directory.Exists(dir))
        {
            return null;
        }

        (DisplayResolution Resolution, string File)? best = null;
        try
        {
            // Connectors are card0-HDMI-A-1, card1-DP-2, ...; card0 itself and renderD128 have no modes.
            foreach (var connector in Directory.EnumerateFileSystemEntries(dir, "card*-*").Order(StringComparer.Ordinal))
            {
                var file = Path.Join(connector, "modes");
                if (!File.Exists(file))
                {
                    continue;
                }

                string[] lines;
                try
                {
                    lines = File.ReadAllLines(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }

                if (DisplayResolution.Largest(lines) is { } r && (best is null || r.Pixels > best.Value.Resolution.Pixels))
                {
                    best = (r, "/sys/class/drm/" + Path.GetFileName(connector) + "/modes");
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return best;
        }

        return best;
    }
}
