using System.Globalization;
using Passthrough.Host;

namespace Passthrough.Pci;

/// <summary>
/// What identifies a PCI function when its address changes: bus numbers are handed out at boot in
/// enumeration order (an added NVMe drive or a firmware update shifts them), but the ids and the
/// device.function numbers on the way down from the root port stay. <see cref="Ids"/> is
/// "vendor:device", <see cref="Subsystem"/> "vendor:device" of the subsystem (null when the function
/// has none), <see cref="Path"/> the root port's address then each hop's device.function below it,
/// e.g. "0000:00:01.1/00.0/00.0/00.0" (root port, switch up, switch down, GPU).
/// </summary>
public sealed record DeviceIdentity(string Ids, string? Subsystem, string Path)
{
    /// <summary>The identity of a function as read from the host; null when its ids are unknown.</summary>
    public static DeviceIdentity? Of(PciFunction function)
    {
        if (function.VendorId is null || function.DeviceId is null)
        {
            return null;
        }

        var subsystem = function.SubsystemVendorId is int sv && function.SubsystemDeviceId is int sd && (sv, sd) != (0, 0)
            ? Hex(sv, sd)
            : null;
        return new DeviceIdentity(Hex(function.VendorId.Value, function.DeviceId.Value), subsystem, PathOf(function));
    }

    /// <summary>Same vendor, device and (when recorded) subsystem: the same kind of card, maybe another one of it.</summary>
    public bool SameKind(PciFunction function) =>
        Of(function) is { } other && other.Ids == Ids && (Subsystem is null || other.Subsystem == Subsystem);

    /// <summary>Same kind and in the same place below the same root port: this very function.</summary>
    public bool SameFunction(PciFunction function) => SameKind(function) && PathOf(function) == Path;

    private static string PathOf(PciFunction function)
    {
        var bridges = function.UpstreamBridges;
        if (bridges.Count == 0)
        {
            return function.Address.ToString();
        }

        return string.Join('/', [bridges[0].Address.ToString(), .. bridges.Skip(1).Select(b => DevFn(b.Address)), DevFn(function.Address)]);
    }

    private static string DevFn(PciAddress address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address.Device:x2}.{address.Function:x1}");

    private static string Hex(int vendor, int device) =>
        string.Create(CultureInfo.InvariantCulture, $"{vendor:x4}:{device:x4}");
}

/// <summary>Where a recorded function is now (<see cref="DeviceLocator.Locate"/>).</summary>
public enum DeviceWhereabouts
{
    /// <summary>At the recorded address.</summary>
    InPlace,

    /// <summary>At another address, the only function with the identity.</summary>
    Moved,

    /// <summary>Not at the recorded address, and several functions have the identity.</summary>
    Ambiguous,

    /// <summary>No function has the identity.</summary>
    Gone,
}

/// <summary>The answer for one recorded function: where it is, and the candidates when it is ambiguous.</summary>
public sealed record DeviceLocation(PciAddress Recorded, DeviceIdentity Identity, DeviceWhereabouts Whereabouts, PciAddress? Found, IReadOnlyList<PciAddress> Candidates, PciFunction? AtRecorded)
{
    /// <summary>One line for the user: what the recorded address holds now and where the function is.</summary>
    public string Describe()
    {
        var now = AtRecorded is null ? "nothing" : $"{AtRecorded.IdsText}";
        return Whereabouts switch
        {
            DeviceWhereabouts.InPlace => $"{Recorded} ({Identity.Ids}) is in place",
            DeviceWhereabouts.Moved => $"{Recorded} ({Identity.Ids}) moved to {Found} ({Recorded} now holds {now})",
            DeviceWhereabouts.Ambiguous => $"{Recorded} ({Identity.Ids}) moved ({Recorded} now holds {now}), and {Candidates.Count} functions match it: {string.Join(", ", Candidates)}",
            _ => $"{Recorded} ({Identity.Ids}) is gone ({Recorded} now holds {now}): no function has its ids",
        };
    }
}

/// <summary>Finds recorded functions on a host whose bus numbers may have changed since they were recorded.</summary>
public static class DeviceLocator
{
    public static DeviceLocation Locate(PciAddress recorded, DeviceIdentity identity, HostInventory host)
    {
        var at = host.Find(recorded);
        if (at is not null && identity.SameFunction(at))
        {
            return new(recorded, identity, DeviceWhereabouts.InPlace, recorded, [], at);
        }

        // The same place below the same root port wins over ids alone: two identical cards stay told apart.
        var exact = host.Functions.Where(identity.SameFunction).Select(f => f.Address).ToList();
        if (exact.Count == 1)
        {
            return new(recorded, identity, DeviceWhereabouts.Moved, exact[0], [], at);
        }

        if (at is not null && identity.SameKind(at))
        {
            // The card is where it was; only the path above it changed (a firmware update renamed a port).
            return new(recorded, identity, DeviceWhereabouts.InPlace, recorded, [], at);
        }

        var kind = host.Functions.Where(identity.SameKind).Select(f => f.Address).ToList();
        return kind.Count switch
        {
            0 => new(recorded, identity, DeviceWhereabouts.Gone, null, [], at),
            1 => new(recorded, identity, DeviceWhereabouts.Moved, kind[0], [], at),
            _ => new(recorded, identity, DeviceWhereabouts.Ambiguous, null, kind, at),
        };
    }
}
