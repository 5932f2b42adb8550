using System.Globalization;

namespace Passthrough.Pci;

/// <summary>
/// Vendor and device names from the pci.ids database (format: vendor lines at column 0,
/// devices after one tab, subsystems after two; see the file's own header). Parsed lazily and
/// only for the ids asked for, because the file is 1.4 MB and `list` must stay fast.
/// </summary>
public sealed class PciIdsDatabase
{
    private readonly Dictionary<int, string> _vendors = [];
    private readonly Dictionary<(int Vendor, int Device), string> _devices = [];

    private PciIdsDatabase()
    {
    }

    public static PciIdsDatabase Empty { get; } = new();

    /// <summary>Parses the entries for the wanted vendors only; other vendors' blocks are skipped.</summary>
    public static PciIdsDatabase Parse(TextReader reader, IReadOnlySet<int>? wantedVendors = null)
    {
        var db = new PciIdsDatabase();
        int? vendor = null;
        var keep = false;
        var maxWanted = wantedVendors is null || wantedVendors.Count == 0 ? int.MaxValue : wantedVendors.Max();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (line.Length < 6 || line[0] == '#')
            {
                continue;
            }

            if (line[0] == 'C' && line[1] == ' ')
            {
                // Class list: the end of the vendor section.
                break;
            }

            if (line[0] != '\t')
            {
                if (TryHex(line.AsSpan(0, 4), out var v) && line[4] == ' ')
                {
                    if (wantedVendors is not null && v > maxWanted)
                    {
                        break; // vendors are sorted by id: nothing we want follows
                    }

                    vendor = v;
                    keep = wantedVendors is null || wantedVendors.Contains(v);
                    if (keep)
                    {
                        db._vendors[v] = line[4..].Trim();
                    }
                }

                continue;
            }

            if (!keep || vendor is null || line.Length < 7 || line[1] == '\t')
            {
                continue;
            }

            if (TryHex(line.AsSpan(1, 4), out var d))
            {
                db._devices[(vendor.Value, d)] = line[5..].Trim();
            }
        }

        return db;
    }

    public string? Vendor(int vendorId) => _vendors.GetValueOrDefault(vendorId);

    public string? Device(int vendorId, int deviceId) => _devices.GetValueOrDefault((vendorId, deviceId));

    private static bool TryHex(ReadOnlySpan<char> text, out int value) =>
        int.TryParse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
}
