using System.Globalization;
using Passthrough.Pci;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// A function's resizable BARs: from the ReBAR capability in `config` when the whole extended config
/// space was read (root), else from the `resourceN_resize` files (drivers/pci/pci-sysfs.c, created only
/// for BARs the capability lists) with the current size from line N of `resource` (start end flags).
/// </summary>
public static class SysfsResizableBars
{
    private const int StandardBars = 6;

    public static IReadOnlyList<ResizableBar>? Read(string dir, PciConfigSpace? config)
    {
        if (config is not null && ResizableBar.FromConfig(config) is { } fromConfig)
        {
            return fromConfig;
        }

        var bars = new List<ResizableBar>();
        string[]? resource = null;
        for (var n = 0; n < StandardBars; n++)
        {
            if (SysfsFiles.ReadLine(Path.Join(dir, $"resource{n.ToString(CultureInfo.InvariantCulture)}_resize")) is not { } text
                || ResizableBar.SizesOfResizeFile(text) is not { } sizes)
            {
                continue;
            }

            resource ??= SysfsFiles.ReadText(Path.Join(dir, "resource"))?.Split('\n') ?? [];
            bars.Add(new ResizableBar(n, CurrentSize(resource, n), sizes));
        }

        // Without config beyond 64 bytes and without resize files (not root) nothing can be told.
        return bars.Count > 0 ? bars : config?.Length >= 0x104 ? [] : null;
    }

    /// <summary>Line N of `resource`: "0x... 0x... 0x..." start, end, flags; size = end - start + 1.</summary>
    private static long? CurrentSize(string[] resource, int n)
    {
        if (n >= resource.Length)
        {
            return null;
        }

        var parts = resource[n].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2
            && long.TryParse(parts[0].Replace("0x", string.Empty, StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
            && long.TryParse(parts[1].Replace("0x", string.Empty, StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end)
            && end > start
            ? end - start + 1
            : null;
    }
}
