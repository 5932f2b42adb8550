using System.Globalization;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>
/// The size of a new disk image, as `--disk PATH,SIZE` gives it ("120G", "120GiB", "512MiB").
/// qemu-img takes binary suffixes without "iB" (K, M, G, T are powers of 1024, qemu-img(1)), so
/// <see cref="QemuImgArgument"/> is the same size in the form it accepts.
/// </summary>
public sealed record DiskSize
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("K", 1L << 10),
        ("M", 1L << 20),
        ("G", 1L << 30),
        ("T", 1L << 40),
    ];

    private DiskSize(long count, string unit, long bytes)
    {
        Count = count;
        Unit = unit;
        Bytes = bytes;
    }

    /// <summary>The number as given (120 in 120GiB).</summary>
    public long Count { get; }

    /// <summary>K, M, G or T (binary).</summary>
    public string Unit { get; }

    public long Bytes { get; }

    /// <summary>The size for `qemu-img create`: 120G.</summary>
    public string QemuImgArgument => Count.ToString(CultureInfo.InvariantCulture) + Unit;

    /// <summary>Parses 120G, 120GB, 120GiB, 512M (case-insensitive); a unit is required.</summary>
    public static DiskSize Parse(string text)
    {
        var t = text.Trim();
        var i = 0;
        while (i < t.Length && char.IsAsciiDigit(t[i]))
        {
            i++;
        }

        if (i == 0 || !long.TryParse(t.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n == 0)
        {
            throw PassthroughException.Input($"--disk ...,{text}: expected a disk size such as 120G or 64GiB.", "Give the size after the comma: --disk /var/lib/libvirt/images/win11.qcow2,120G.");
        }

        var suffix = t[i..].ToUpperInvariant();
        var unit = suffix.Length == 0 ? null : suffix[..1];
        var factor = Units.FirstOrDefault(u => u.Suffix == unit).Factor;
        if (factor == 0 || suffix is not { Length: 1 } && suffix[1..] is not ("B" or "IB"))
        {
            throw PassthroughException.Input(
                $"--disk ...,{text}: {(suffix.Length == 0 ? "the size needs a unit" : $"unknown unit '{t[i..]}'")}.",
                "Use K, M, G or T (KiB, MiB, GiB, TiB), e.g. 120G.");
        }

        try
        {
            return new DiskSize(n, unit!, checked(n * factor));
        }
        catch (OverflowException e)
        {
            throw PassthroughException.Input($"--disk ...,{text}: too large.", "Give a size qemu-img can create, e.g. 2T.", e);
        }
    }

    public override string ToString() => QemuImgArgument;
}
