using System.Buffers.Binary;

namespace Passthrough.Pci;

/// <summary>
/// Reads the facts we need from a function's configuration space (sysfs `config`). Layout per the
/// PCI Local Bus and PCI Express Base specifications: header type at 0x0E (bit 7 = multifunction),
/// capability list from 0x34 when status bit 4 is set, extended capabilities from 0x100.
/// Unprivileged readers get only the first 64 bytes; anything beyond what we have is "unknown" (null).
/// </summary>
public sealed class PciConfigSpace
{
    private const int CapabilityPciExpress = 0x10;
    private const int ExtCapAcs = 0x000D;
    private const int ExtCapSriov = 0x0010;
    private const int ExtCapResizableBar = 0x0015;

    private readonly byte[] _bytes;

    public PciConfigSpace(ReadOnlySpan<byte> bytes)
    {
        _bytes = bytes.ToArray();
    }

    public int Length => _bytes.Length;

    /// <summary>Header type bit 7: the device has more than one function.</summary>
    public bool? Multifunction => _bytes.Length > 0x0E ? (_bytes[0x0E] & 0x80) != 0 : null;

    /// <summary>Header layout: 0 endpoint, 1 PCI-to-PCI bridge, 2 CardBus.</summary>
    public int? HeaderLayout => _bytes.Length > 0x0E ? _bytes[0x0E] & 0x7f : null;

    /// <summary>Offset of the PCI Express capability, or null when absent or unreadable.</summary>
    public int? PciExpressCapability => FindCapability(CapabilityPciExpress);

    /// <summary>
    /// Function Level Reset: PCIe Device Capabilities (PCIe cap + 4) bit 28. Null when the
    /// capability list could not be read (the sysfs file was short).
    /// </summary>
    public bool? FunctionLevelReset
    {
        get
        {
            if (!CapabilitiesReadable)
            {
                return null;
            }

            var pcie = PciExpressCapability;
            if (pcie is null)
            {
                return false;
            }

            var devCap = ReadDword(pcie.Value + 4);
            return devCap is null ? null : (devCap.Value & (1u << 28)) != 0;
        }
    }

    /// <summary>Whether the standard capability list is inside the bytes we have.</summary>
    public bool CapabilitiesReadable => _bytes.Length >= 0x100 || (_bytes.Length >= 0x40 && !HasCapabilityList);

    /// <summary>Access Control Services extended capability present (needs 4096 bytes: root).</summary>
    public bool? HasAcs => HasExtendedCapability(ExtCapAcs);

    /// <summary>Resizable BAR extended capability present.</summary>
    public bool? HasResizableBar => HasExtendedCapability(ExtCapResizableBar);

    /// <summary>SR-IOV extended capability present.</summary>
    public bool? HasSriov => HasExtendedCapability(ExtCapSriov);

    private bool HasCapabilityList => _bytes.Length > 0x06 && (_bytes[0x06] & 0x10) != 0;

    /// <summary>Walks the standard capability list; bounded so a corrupt loop cannot spin.</summary>
    public int? FindCapability(int id)
    {
        if (_bytes.Length < 0x40 || !HasCapabilityList)
        {
            return null;
        }

        int pointer = _bytes[0x34] & 0xfc;
        for (var guard = 0; guard < 48 && pointer >= 0x40 && pointer + 1 < _bytes.Length; guard++)
        {
            if (_bytes[pointer] == id)
            {
                return pointer;
            }

            pointer = _bytes[pointer + 1] & 0xfc;
        }

        return null;
    }

    /// <summary>Walks the extended capability list; null when we were not given 4096 bytes.</summary>
    public bool? HasExtendedCapability(int id)
    {
        if (_bytes.Length < 0x104 || PciExpressCapability is null)
        {
            return _bytes.Length >= 0x100 && PciExpressCapability is null ? false : null;
        }

        var offset = 0x100;
        for (var guard = 0; guard < 512 && offset >= 0x100 && offset + 4 <= _bytes.Length; guard++)
        {
            var header = ReadDword(offset)!.Value;
            if (header == 0 || header == 0xffffffff)
            {
                return false;
            }

            if ((header & 0xffff) == id)
            {
                return true;
            }

            offset = (int)((header >> 20) & 0xffc);
        }

        return false;
    }

    /// <summary>Offset of an extended capability (0x100 and up); null when absent or not readable.</summary>
    public int? FindExtendedCapability(int id)
    {
        if (HasExtendedCapability(id) != true)
        {
            return null;
        }

        var offset = 0x100;
        for (var guard = 0; guard < 512 && offset >= 0x100 && offset + 4 <= _bytes.Length; guard++)
        {
            var header = ReadDword(offset)!.Value;
            if ((header & 0xffff) == id)
            {
                return offset;
            }

            offset = (int)((header >> 20) & 0xffc);
        }

        return null;
    }

    /// <summary>The little-endian dword at <paramref name="offset"/>; null beyond the bytes read.</summary>
    public uint? Dword(int offset) => ReadDword(offset);

    private uint? ReadDword(int offset) =>
        offset >= 0 && offset + 4 <= _bytes.Length
            ? BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(offset, 4))
            : null;
}
