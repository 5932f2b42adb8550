using System.Globalization;
using System.Xml.Linq;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>
/// The attributes of a PCI &lt;address domain= bus= slot= function=/&gt;, read and written as libvirt
/// does. libvirt's virPCIDeviceAddressParseXML (src/conf/device_conf.c) zeroes the address, then reads
/// each attribute with virXMLPropUInt(node, NAME, 0, ...), i.e. virStrToLong_uip with base 0: C's
/// strtoul rules (`0x0a` hex, `012` octal, `10` decimal), no sign '-', nothing after the digits; a
/// missing attribute stays 0. A non-empty address must then pass virPCIDeviceAddressIsValid (bus at
/// most 0xff, slot 0x1f, function 7). The same parser serves the guest &lt;address type='pci'&gt;
/// (virDomainDeviceInfoParseXML). virPCIDeviceAddressFormat writes domain='0x%04x' bus='0x%02x'
/// slot='0x%02x' function='0x%x'.
/// </summary>
public static class LibvirtPciAddress
{
    /// <summary>Reads domain, bus, slot and function; <paramref name="what"/> names the address in errors ("hostdev address").</summary>
    public static (int Domain, int Bus, int Slot, int Function) Read(XElement address, string source, string what)
    {
        int Part(string name, int max)
        {
            var text = (string?)address.Attribute(name);
            if (text is null)
            {
                return 0;
            }

            if (!TryParseNumber(text, out var value))
            {
                throw PassthroughException.Input(
                    $"{source}:{DomainDocument.LineOf(address)?.ToString(CultureInfo.InvariantCulture) ?? "?"}: {what} {name}='{text}' is not a number.",
                    "Write it in libvirt's form: domain='0x0000' bus='0x03' slot='0x00' function='0x0'.");
            }

            return value <= max
                ? (int)value
                : throw PassthroughException.Input(
                    $"{source}:{DomainDocument.LineOf(address)?.ToString(CultureInfo.InvariantCulture) ?? "?"}: {what} {name}='{text}' is out of range (libvirt allows at most 0x{max:x}).",
                    "Copy the address from `passthrough list --all` (DDDD:BB:SS.F) in libvirt's form: domain='0x0000' bus='0x03' slot='0x00' function='0x0'.");
        }

        return (Part("domain", 0xffff), Part("bus", 0xff), Part("slot", 0x1f), Part("function", 7));
    }

    /// <summary>Sets the four attributes in libvirt's own format; existing attributes keep their place.</summary>
    public static void Write(XElement address, int domain, int bus, int slot, int function)
    {
        address.SetAttributeValue("domain", Hex(domain, 4));
        address.SetAttributeValue("bus", Hex(bus, 2));
        address.SetAttributeValue("slot", Hex(slot, 2));
        address.SetAttributeValue("function", Hex(function, 1));
    }

    /// <summary>A new &lt;address&gt; element with the four attributes in libvirt's order.</summary>
    public static XElement Element(int domain, int bus, int slot, int function)
    {
        var address = new XElement("address");
        Write(address, domain, bus, slot, function);
        return address;
    }

    /// <summary>"0x" and at least <paramref name="digits"/> lower-case hex digits.</summary>
    public static string Hex(int value, int digits) =>
        "0x" + value.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>
    /// virStrToLong_uip(text, NULL, 0): leading white space, an optional '+', then hex after
    /// 0x/0X, octal after a leading 0, else decimal; the digits must run to the end and fit 32 bits.
    /// </summary>
    public static bool TryParseNumber(string? text, out uint value)
    {
        value = 0;
        if (text is null)
        {
            return false;
        }

        var i = 0;
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }

        if (i < text.Length && text[i] == '+')
        {
            i++;
        }

        var radix = 10u;
        if (i + 1 < text.Length && text[i] == '0' && text[i + 1] is 'x' or 'X' && i + 2 < text.Length && Uri.IsHexDigit(text[i + 2]))
        {
            radix = 16;
            i += 2;
        }
        else if (i < text.Length && text[i] == '0')
        {
            radix = 8;
        }

        var start = i;
        ulong result = 0;
        for (; i < text.Length; i++)
        {
            var c = text[i];
            var digit = c is >= '0' and <= '9' ? (uint)(c - '0') : c is >= 'a' and <= 'f' ? (uint)(c - 'a' + 10) : c is >= 'A' and <= 'F' ? (uint)(c - 'A' + 10) : uint.MaxValue;
            if (digit >= radix)
            {
                return false;
            }

            result = (result * radix) + digit;
            if (result > uint.MaxValue)
            {
                return false;
            }
        }

        if (i == start)
        {
            return false;
        }

        value = (uint)result;
        return true;
    }
}
