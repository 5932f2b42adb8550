using System.Globalization;
using System.Numerics;
using Passthrough.Errors;

namespace Passthrough.Pci;

/// <summary>
/// One resizable BAR of a function: its index, the size it has now and the sizes the card offers, in
/// bytes. From the Resizable BAR extended capability (ID 0x0015, PCIe Base spec 7.8.6: per BAR a
/// capability dword whose bits 4..31 offer 1 MiB..128 TiB and a control dword with the BAR index in
/// bits 0..2, the number of entries in bits 5..7 of the first one and the current size in bits 8..13,
/// encoded 0 = 1 MiB) or from sysfs `resourceN_resize` (drivers/pci/pci-sysfs.c: the bitmask of
/// offered sizes, bit 0 = 1 MiB; writing the encoded size resizes the BAR while no driver is bound).
/// </summary>
public sealed record ResizableBar(int Index, long? Current, IReadOnlyList<long> Supported)
{
    public const int CapabilityId = 0x0015;

    private const long OneMiB = 1L << 20;

    /// <summary>True when the card offers <paramref name="bytes"/> for this BAR.</summary>
    public bool Offers(long bytes) => Supported.Contains(bytes);

    /// <summary>"BAR 0: 256 MiB now, offers 1 MiB-8 GiB", one line for `list` and for evidence.</summary>
    public string Summary() =>
        string.Create(CultureInfo.InvariantCulture, $"BAR {Index}: {(Current is long current ? Describe(current) + " now" : "size unknown")}, offers {DescribeSizes(Supported)}");

    /// <summary>"256 MiB-32 GiB" when each size doubles the one before (as the capability's bitmask usually runs), else "256 MiB, 8 GiB"; "none" when empty.</summary>
    public static string DescribeSizes(IReadOnlyList<long> sizes)
    {
        if (sizes.Count == 0)
        {
            return "none";
        }

        var doubling = sizes.Count > 2 && sizes.Zip(sizes.Skip(1)).All(p => p.Second == p.First * 2);
        return doubling ? $"{Describe(sizes[0])}-{Describe(sizes[^1])}" : string.Join(", ", sizes.Select(Describe));
    }

    /// <summary>The resizable BARs the capability lists; empty when it has none; null when config space was not readable.</summary>
    public static IReadOnlyList<ResizableBar>? FromConfig(PciConfigSpace config)
    {
        if (config.HasResizableBar is not bool has)
        {
            return null;
        }

        if (!has || config.FindExtendedCapability(CapabilityId) is not int at)
        {
            return [];
        }

        var bars = new List<ResizableBar>();
        var first = config.Dword(at + 8);
        var count = first is uint c ? (int)((c >> 5) & 0x7) : 0;
        for (var i = 0; i < count; i++)
        {
            if (config.Dword(at + 4 + (8 * i)) is not uint capability || config.Dword(at + 8 + (8 * i)) is not uint control)
            {
                break;
            }

            bars.Add(new ResizableBar((int)(control & 0x7), BytesOf((int)((control >> 8) & 0x3f)), SizesOfMask(capability >> 4)));
        }

        return [.. bars.OrderBy(b => b.Index)];
    }

    /// <summary>The sizes of a `resourceN_resize` bitmask ("0000000000003ff0" style hex, bit 0 = 1 MiB).</summary>
    public static IReadOnlyList<long> SizesOfMask(ulong mask) =>
        [.. Enumerable.Range(0, 44).Where(bit => (mask & (1UL << bit)) != 0).Select(BytesOf)];

    /// <summary>Parses `resourceN_resize` text; null when it is not hex.</summary>
    public static IReadOnlyList<long>? SizesOfResizeFile(string text) =>
        ulong.TryParse(text.Trim().Replace("0x", string.Empty, StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask)
            ? SizesOfMask(mask)
            : null;

    /// <summary>Encoded BAR size (0 = 1 MiB) in bytes.</summary>
    public static long BytesOf(int code) => OneMiB << code;

    /// <summary>What `resourceN_resize` takes: the encoded size, log2(bytes) - 20.</summary>
    public static int EncodingOf(long bytes) => BitOperations.Log2((ulong)bytes) - 20;

    /// <summary>"256 MiB", "8 GiB".</summary>
    public static string Describe(long bytes) => bytes >= 1L << 40 && bytes % (1L << 40) == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 40} TiB")
        : bytes >= 1L << 30 && bytes % (1L << 30) == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 30} GiB")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20} MiB");

    /// <summary>
    /// Parses a BAR size as the metadata gives it ("8GiB", "8G", "256MiB", "256M"): a power of two of
    /// at least 1 MiB; anything else is null.
    /// </summary>
    public static long? ParseSize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var t = text.Trim();
        var i = 0;
        while (i < t.Length && char.IsAsciiDigit(t[i]))
        {
            i++;
        }

        if (i == 0 || !long.TryParse(t[..i], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        int shift = t[i..].ToUpperInvariant() switch
        {
            "M" or "MB" or "MIB" => 20,
            "G" or "GB" or "GIB" => 30,
            "T" or "TB" or "TIB" => 40,
            _ => -1,
        };
        if (shift < 0 || number <= 0 || number > (1L << (62 - shift)))
        {
            return null;
        }

        var bytes = number << shift;
        return BitOperations.IsPow2(bytes) && bytes >= OneMiB ? bytes : null;
    }

    /// <summary>The metadata's size or a one-line input error naming it.</summary>
    public static long RequireSize(string? text, string where) =>
        ParseSize(text) ?? throw SizeError(text, where);

    /// <summary>The input error of a size <see cref="ParseSize"/> refuses; <paramref name="where"/> is "FILE:LINE: ".</summary>
    public static PassthroughException SizeError(string? text, string where) =>
        PassthroughException.Input(
            $"{where}<passthrough:bar size=\"{text}\"> is not a BAR size: a power of two such as 256MiB or 8GiB.",
            "Write one of the sizes `passthrough list --all` shows for the BAR (`--json`: resizableBars.supported), e.g. size=\"8GiB\".");
}
