using Passthrough.Adapters;
using Passthrough.Adapters.Devices;
using Passthrough.Domain;

namespace Passthrough.Cli.Verbs;

/// <summary>The resolution Looking Glass is sized for, and where it came from (shown to the user).</summary>
internal sealed record LookingGlassTarget(DisplayResolution Resolution, string From)
{
    public int NeededMiB => LookingGlassMemory.SizeMiB(Resolution);

    /// <summary>--resolution when given; else the host's largest display mode; else 1920x1080, saying so.</summary>
    public static LookingGlassTarget Resolve(HostRoot root, string? resolution)
    {
        if (resolution is not null)
        {
            return new(DisplayResolution.Parse(resolution), "--resolution");
        }

        return new DisplayModes(root).Largest() is { } largest
            ? new(largest.Resolution, $"the host's largest display mode, {largest.File}")
            : new(DisplayResolution.FullHd, "no display mode was readable under /sys/class/drm, so 1920x1080 was assumed; give --resolution for a larger guest display");
    }

    /// <summary>--size auto (or none): the documented size; else the given size, checked against the resolution.</summary>
    public int Size(string? size, string option = "--size") =>
        size is null or "auto" ? NeededMiB : LookingGlassMemory.ParseSize(size, NeededMiB, Resolution, option);
}
