using System.Globalization;
using System.Runtime.InteropServices;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// Vendor and device names from udev's hardware database (hwdb.bin, built from
/// /usr/lib/udev/hwdb.d/20-pci-vendor-model.hwdb), read through libsystemd's sd-hwdb (sd_hwdb_get(3)).
/// Asked only for ids pci.ids lacks: lspci does the same (pciutils' names.c tries pci.ids, then
/// hwdb), and a distribution's hwdb is often newer than its pci.ids (Debian 12: GPUs from 2024 on).
/// </summary>
internal sealed partial class HwdbNames : IDisposable
{
    /// <summary>Where systemd-hwdb writes the database (hwdb(7)), /etc first.</summary>
    internal static readonly string[] Paths = ["/etc/udev/hwdb.bin", "/usr/lib/udev/hwdb.bin"];

    private const string Library = "libsystemd.so.0";

    private nint _hwdb;

    // Each model once: a host has many functions of few models, and every lookup walks the trie and fnmatch()es patterns.
    private readonly Dictionary<(string Modalias, string Key), string?> _found = [];

    private HwdbNames(nint hwdb)
    {
        _hwdb = hwdb;
    }

    /// <summary>Opens the database file, or null when it is missing or libsystemd cannot read it.</summary>
    public static HwdbNames? Open(string path)
    {
        try
        {
            if (!File.Exists(path) || sd_hwdb_new_from_path(path, out var hwdb) < 0)
            {
                return null;
            }

            return new HwdbNames(hwdb);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null; // no libsystemd, or one older than 252: names stay pci.ids' alone
        }
    }

    /// <summary>ID_VENDOR_FROM_DATABASE for "pci:vVVVVVVVV".</summary>
    public string? Vendor(int vendorId) =>
        Get(string.Create(CultureInfo.InvariantCulture, $"pci:v{vendorId:X8}"), "ID_VENDOR_FROM_DATABASE");

    /// <summary>ID_MODEL_FROM_DATABASE for "pci:vVVVVVVVVdDDDDDDDD" (the patterns end in '*').</summary>
    public string? Device(int vendorId, int deviceId) =>
        Get(string.Create(CultureInfo.InvariantCulture, $"pci:v{vendorId:X8}d{deviceId:X8}"), "ID_MODEL_FROM_DATABASE");

    public void Dispose()
    {
        if (_hwdb != 0)
        {
            _ = sd_hwdb_unref(_hwdb);
            _hwdb = 0;
        }
    }

    private unsafe string? Get(string modalias, string key)
    {
        ObjectDisposedException.ThrowIf(_hwdb == 0, this);
        if (_found.TryGetValue((modalias, key), out var found))
        {
            return found;
        }

        byte* value;
        found = sd_hwdb_get(_hwdb, modalias, key, &value) < 0 || value is null
            ? null
            : Marshal.PtrToStringUTF8((nint)value);
        _found[(modalias, key)] = found;
        return found;
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int sd_hwdb_new_from_path(string path, out nint hwdb);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int sd_hwdb_get(nint hwdb, string modalias, string key, byte** value);

    [LibraryImport(Library)]
    private static partial nint sd_hwdb_unref(nint hwdb);
}
