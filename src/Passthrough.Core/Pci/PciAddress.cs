using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Passthrough.Errors;

namespace Passthrough.Pci;

/// <summary>A PCI function address, domain:bus:device.function, as sysfs names it ("0000:03:00.0").</summary>
public readonly record struct PciAddress(int Domain, int Bus, int Device, int Function) : IComparable<PciAddress>
{
    public PciSlot Slot => new(Domain, Bus, Device);

    // Spelled out rather than a ValueTuple comparison: this runs in every sort of the inventory, and
    // tuple comparers are generic code the runtime compiles at startup.
    public int CompareTo(PciAddress other) =>
        Domain != other.Domain ? Domain.CompareTo(other.Domain)
        : Bus != other.Bus ? Bus.CompareTo(other.Bus)
        : Device != other.Device ? Device.CompareTo(other.Device)
        : Function.CompareTo(other.Function);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}");

    /// <summary>Parses "0000:03:00.0" or "03:00.0" (domain 0).</summary>
    public static PciAddress Parse(string text) =>
        TryParse(text, out var address)
            ? address
            : throw PassthroughException.Input(
                $"'{text}' is not a PCI address.",
                "Write it as DDDD:BB:SS.F, for example 0000:03:00.0 (see `passthrough list --all`).");

    public static bool TryParse([NotNullWhen(true)] string? text, out PciAddress address)
    {
        address = default;
        if (text is null)
        {
            return false;
        }

        var dot = text.LastIndexOf('.');
        if (dot < 0 || !PciSlot.TryParse(text[..dot], out var slot))
        {
            return false;
        }

        var fn = text[(dot + 1)..];
        if (fn.Length != 1 || !int.TryParse(fn, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var function) || function > 7)
        {
            return false;
        }

        address = new PciAddress(slot.Domain, slot.Bus, slot.Device, function);
        return true;
    }

    public static bool operator <(PciAddress left, PciAddress right) => left.CompareTo(right) < 0;

    public static bool operator >(PciAddress left, PciAddress right) => left.CompareTo(right) > 0;

    public static bool operator <=(PciAddress left, PciAddress right) => left.CompareTo(right) <= 0;

    public static bool operator >=(PciAddress left, PciAddress right) => left.CompareTo(right) >= 0;
}

/// <summary>A PCI slot, domain:bus:device: every function of one physical card ("0000:03:00").</summary>
public readonly record struct PciSlot(int Domain, int Bus, int Device) : IComparable<PciSlot>
{
    public PciAddress Function(int function) => new(Domain, Bus, Device, function);

    public int CompareTo(PciSlot other) =>
        Domain != other.Domain ? Domain.CompareTo(other.Domain)
        : Bus != other.Bus ? Bus.CompareTo(other.Bus)
        : Device.CompareTo(other.Device);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}");

    /// <summary>Parses "0000:03:00" or "03:00"; a trailing ".F" is not accepted here.</summary>
    public static PciSlot Parse(string text) =>
        TryParse(text, out var slot)
            ? slot
            : throw PassthroughException.Input(
                $"'{text}' is not a PCI slot.",
                "Write it as DDDD:BB:SS, for example 0000:03:00 (see `passthrough list`).");

    /// <summary>Parses a slot, or the slot of a full address ("0000:03:00.0").</summary>
    public static PciSlot ParseLenient(string text) =>
        PciAddress.TryParse(text, out var address) ? address.Slot : Parse(text);

    public static bool TryParse([NotNullWhen(true)] string? text, out PciSlot slot)
    {
        slot = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var parts = text.Split(':');
        string domain, bus, device;
        switch (parts.Length)
        {
            case 2:
                (domain, bus, device) = ("0", parts[0], parts[1]);
                break;
            case 3:
                (domain, bus, device) = (parts[0], parts[1], parts[2]);
                break;
            default:
                return false;
        }

        if (domain.Length is 0 or > 4 || bus.Length is 0 or > 2 || device.Length is 0 or > 2)
        {
            return false;
        }

        if (!int.TryParse(domain, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var d)
            || !int.TryParse(bus, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b)
            || !int.TryParse(device, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var s)
            || s > 0x1f)
        {
            return false;
        }

        slot = new PciSlot(d, b, s);
        return true;
    }

    public static bool operator <(PciSlot left, PciSlot right) => left.CompareTo(right) < 0;

    public static bool operator >(PciSlot left, PciSlot right) => left.CompareTo(right) > 0;

    public static bool operator <=(PciSlot left, PciSlot right) => left.CompareTo(right) <= 0;

    public static bool operator >=(PciSlot left, PciSlot right) => left.CompareTo(right) >= 0;
}
