using System.Globalization;
using Passthrough.Pci;

namespace Passthrough.Cli.Rendering;

/// <summary>The DEVICE shape of `list --json` (ids: 4 lowercase hex digits; class: 6).</summary>
internal sealed record DeviceJson(
    string Address,
    string? VendorId,
    string? DeviceId,
    string? SubsystemVendorId,
    string? SubsystemDeviceId,
    string? ClassCode,
    string? VendorName,
    string? DeviceName,
    string? Driver,
    string? DriverOverride,
    int? IommuGroup,
    IReadOnlyList<string>? ResetMethods,
    bool? Flr,
    bool BootVga,
    bool HasRom)
{
    public static DeviceJson From(PciFunction f) => new(
        f.Address.ToString(),
        Hex4(f.VendorId),
        Hex4(f.DeviceId),
        Hex4(f.SubsystemVendorId),
        Hex4(f.SubsystemDeviceId),
        f.Class?.Hex,
        f.VendorName,
        f.DeviceName,
        f.Driver,
        f.DriverOverride,
        f.IommuGroup,
        f.ResetMethods,
        f.Flr,
        f.BootVga == true,
        f.HasRom);

    public static string? Hex4(int? value) => value?.ToString("x4", CultureInfo.InvariantCulture);
}
