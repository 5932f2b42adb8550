using System.Globalization;
using System.Text;

namespace Passthrough.Pci;

/// <summary>
/// Vendor and device names from the pci.ids database (format, from the file's own header: vendor
/// lines "vvvv  name" at column 0, devices after one tab, subsystems after two, then the "C" class
/// list). The file is 1.4 MB and `list` names only a few vendors, so nothing is parsed up front:
/// a vendor's line is found by a vectorised search for "\nvvvv " in the raw bytes, and a device
/// inside that vendor's block the same way.
/// </summary>
public sealed class PciIdsDatabase
{
    private readonly ReadOnlyMemory<byte> _text;
    private readonly List<VendorBlock> _blocks = [];

    // A host has many functions of few models (256 functions, 7 models on the generated one): each
    // model's block is searched once.
    private readonly Dictionary<int, string?> _devices = [];

    private PciIdsDatabase(ReadOnlyMemory<byte> text)
    {
        _text = text;
    }

    public static PciIdsDatabase Empty { get; } = new(ReadOnlyMemory<byte>.Empty);

    /// <summary>The database over the file's bytes (UTF-8, as the file is), searched in place: the caller keeps
    /// them (a heap array, or a mapping of the file) alive and unchanged while the database is used.</summary>
    public static PciIdsDatabase FromBytes(ReadOnlyMemory<byte> text) => new(text);

    /// <summary>The database over a file's text.</summary>
    public static PciIdsDatabase Parse(TextReader reader) => new(Encoding.UTF8.GetBytes(reader.ReadToEnd()));

    public string? Vendor(int vendorId) => Block(vendorId)?.Name;

    public string? Device(int vendorId, int deviceId)
    {
        if (Block(vendorId) is not { } block || deviceId is < 0 or > 0xffff)
        {
            return null;
        }

        var id = (vendorId << 16) | deviceId;
        if (!_devices.TryGetValue(id, out var name))
        {
            name = FindDevice(block, deviceId);
            _devices[id] = name;
        }

        return name;
    }

    private string? FindDevice(VendorBlock block, int deviceId)
    {
        Span<byte> key = stackalloc byte[7];
        key[0] = (byte)'\n';
        key[1] = (byte)'\t';
        WriteHex4(key[2..], deviceId);
        key[6] = (byte)' ';
        var body = _text.Span.Slice(block.Start, block.End - block.Start);
        var at = body.IndexOf(key);
        return at < 0 ? null : NameAfter(block.Start + at + key.Length);
    }

    private VendorBlock? Block(int vendorId)
    {
        if (vendorId is < 0 or > 0xffff || _text.Length == 0)
        {
            return null;
        }

        foreach (var known in _blocks)
        {
            if (known.Id == vendorId)
            {
                return known.Name is null ? null : known;
            }
        }

        var block = FindBlock(vendorId);
        _blocks.Add(block);
        return block.Name is null ? null : block;
    }

    private VendorBlock FindBlock(int vendorId)
    {
        Span<byte> key = stackalloc byte[6];
        key[0] = (byte)'\n';
        WriteHex4(key[1..], vendorId);
        key[5] = (byte)' ';
        var text = _text.Span;
        var at = text.IndexOf(key);
        if (at < 0)
        {
            return new VendorBlock(vendorId, null, 0, 0);
        }

        var nameStart = at + key.Length;
        var name = NameAfter(nameStart);

        // The block runs to the next line that starts at column 0 (another vendor, or the class list).
        var end = text.Length;
        var lineStart = LineEnd(nameStart);
        while (lineStart < text.Length)
        {
            if (text[lineStart] is not (byte)'\t' and not (byte)'#' and not (byte)'\n')
            {
                end = lineStart - 1;
                break;
            }

            lineStart = LineEnd(lineStart);
        }

        // Start at the newline that ends the vendor line, so a device search can anchor on "\n\t".
        var start = Math.Min(LineEnd(nameStart) - 1, end);
        return new VendorBlock(vendorId, name, start, end);
    }

    /// <summary>The index just past the newline ending the line that holds <paramref name="from"/>.</summary>
    private int LineEnd(int from)
    {
        var newline = _text.Span[from..].IndexOf((byte)'\n');
        return newline < 0 ? _text.Length : from + newline + 1;
    }

    private string NameAfter(int from)
    {
        var end = LineEnd(from);
        return Encoding.UTF8.GetString(_text.Span[from..end].Trim(" \t\r\n"u8));
    }

    private static void WriteHex4(Span<byte> destination, int value) =>
        value.TryFormat(destination, out _, "x4", CultureInfo.InvariantCulture);

    private sealed record VendorBlock(int Id, string? Name, int Start, int End);
}
