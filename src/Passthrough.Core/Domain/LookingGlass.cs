using System.Globalization;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>A display resolution, WIDTHxHEIGHT in pixels.</summary>
public readonly record struct DisplayResolution(int Width, int Height)
{
    /// <summary>What Looking Glass's own size table starts from when nothing better is known.</summary>
    public static DisplayResolution FullHd { get; } = new(1920, 1080);

    public long Pixels => (long)Width * Height;

    /// <summary>Parses "2560x1440" (also "2560X1440"); anything else is bad input naming the option.</summary>
    public static DisplayResolution Parse(string text, string option = "--resolution") =>
        TryParse(text, out var r)
            ? r
            : throw PassthroughException.Input(
                $"{option} {text}: not a resolution; expected WIDTHxHEIGHT such as 2560x1440.",
                "Give the guest's largest resolution in pixels, e.g. --resolution 3840x2160.");

    /// <summary>Parses "WIDTHxHEIGHT" with sizes from 1 to 16384 pixels.</summary>
    public static bool TryParse(string? text, out DisplayResolution resolution)
    {
        resolution = default;
        var parts = text?.Trim().Split('x', 'X');
        if (parts is not { Length: 2 }
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h)
            || w is < 1 or > 16384 || h is < 1 or > 16384)
        {
            return false;
        }

        resolution = new DisplayResolution(w, h);
        return true;
    }

    /// <summary>The largest of a connector's `modes` lines ("1920x1080", "1920x1080i"), by pixel count; null when none parse.</summary>
    public static DisplayResolution? Largest(IEnumerable<string> modeLines)
    {
        DisplayResolution? best = null;
        foreach (var line in modeLines)
        {
            // The kernel marks interlaced modes with a trailing 'i' (drm_mode_set_name).
            if (TryParse(line.Trim().TrimEnd('i'), out var r) && (best is null || r.Pixels > best.Value.Pixels))
            {
                best = r;
            }
        }

        return best;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Width}x{Height}");
}

/// <summary>
/// The shared memory Looking Glass needs, by its documentation ("Determining memory",
/// doc/install_libvirt.rst): WIDTH x HEIGHT x 4 bytes (32-bit SDR) x 2 frames, plus 10 MiB,
/// rounded up to the next power of two in MiB. 1920x1080 gives 32, 2560x1440 64, 3840x2160 128.
/// </summary>
public static class LookingGlassMemory
{
    /// <summary>The device name Looking Glass's documentation uses (&lt;shmem name&gt;, the QEMU memdev id).</summary>
    public const string DeviceName = "looking-glass";

    /// <summary>The kvmfr module's first device node (module parameter static_size_mb creates it).</summary>
    public const string KvmfrDevice = "/dev/kvmfr0";

    /// <summary>The shared memory file of the ivshmem-plain method (doc/ivshmem_shm.rst).</summary>
    public const string ShmFile = "/dev/shm/looking-glass";

    private const long MiB = 1024 * 1024;

    /// <summary>The size in MiB Looking Glass documents for a resolution (SDR).</summary>
    public static int SizeMiB(DisplayResolution resolution)
    {
        var required = (resolution.Pixels * 4 * 2) + (10 * MiB);
        var size = 1L;
        while (size * MiB < required)
        {
            size *= 2;
        }

        return (int)size;
    }

    public static bool IsPowerOfTwo(long n) => n > 0 && (n & (n - 1)) == 0;

    /// <summary>
    /// Parses an explicit size: "64", "64M", "64MiB" (MiB) or "1G"/"1GiB". It must be a power of two
    /// (QEMU's ivshmem rounds the BAR to one; the kvmfr module and Looking Glass expect it) and at
    /// least <paramref name="minimumMiB"/>, the size the resolution needs.
    /// </summary>
    public static int ParseSize(string text, int minimumMiB, DisplayResolution resolution, string option = "--size")
    {
        var t = text.Trim();
        var digits = 0;
        while (digits < t.Length && char.IsAsciiDigit(t[digits]))
        {
            digits++;
        }

        var unit = t[digits..].ToUpperInvariant();
        long factor = unit switch
        {
            "" or "M" or "MB" or "MIB" => 1,
            "G" or "GB" or "GIB" => 1024,
            _ => 0,
        };
        if (digits == 0 || factor == 0 || !long.TryParse(t.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n * factor > 65536)
        {
            throw PassthroughException.Input(
                $"{option} {text}: not a size; expected MiB such as 64 or 64M (or auto).",
                $"Give a power of two in MiB; {resolution} needs {minimumMiB}.");
        }

        var mib = n * factor;
        if (!IsPowerOfTwo(mib))
        {
            throw PassthroughException.Input(
                $"{option} {text}: {mib} MiB is not a power of two.",
                $"Give a power of two such as {minimumMiB} (what Looking Glass documents for {resolution}), or --size auto.");
        }

        if (mib < minimumMiB)
        {
            throw PassthroughException.Input(
                $"{option} {text}: {mib} MiB is too small for {resolution} (Looking Glass needs {minimumMiB} MiB: width x height x 4 x 2 bytes + 10 MiB, rounded up to a power of two).",
                $"Give --size {minimumMiB} or more, or a smaller --resolution.");
        }

        return (int)mib;
    }
}

/// <summary>How the Looking Glass shared memory reaches QEMU.</summary>
public enum LookingGlassStyle
{
    /// <summary>`&lt;shmem&gt;` with ivshmem-plain: a file in /dev/shm (doc/ivshmem_shm.rst).</summary>
    Ivshmem,

    /// <summary>The kvmfr module's /dev/kvmfr0 through QEMU arguments (doc/ivshmem_kvmfr.rst), so the GPU can DMA.</summary>
    Kvmfr,
}

/// <summary>What `xml add-looking-glass` adds.</summary>
public sealed record LookingGlassDevice(int SizeMiB, LookingGlassStyle Style);
