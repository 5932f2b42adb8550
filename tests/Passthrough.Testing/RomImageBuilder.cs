using System.Buffers.Binary;
using System.Text;

namespace Passthrough.Testing;

/// <summary>One image to put into a test ROM (PCI Firmware Specification 3.0 layout).</summary>
public sealed record RomImageSpec
{
    /// <summary>PCIR code type: 0 x86, 3 EFI, anything else by number.</summary>
    public int CodeType { get; init; }

    public int VendorId { get; init; } = 0x1002;

    public int DeviceId { get; init; } = 0x744c;

    public int ClassCode { get; init; } = 0x030000;

    /// <summary>Image length in 512-byte blocks.</summary>
    public int Blocks { get; init; } = 64;

    /// <summary>Where the PCIR structure goes inside the image.</summary>
    public int PcirOffset { get; init; } = 0x190;

    public int PcirRevision { get; init; } = 3;

    public int CodeRevision { get; init; } = 1;

    /// <summary>Extra device ids (PCIR 3.0 device list); none when empty.</summary>
    public IReadOnlyList<int> DeviceList { get; init; } = [];

    /// <summary>Null: the builder marks the final image as last.</summary>
    public bool? Last { get; init; }

    /// <summary>Legacy images: make the bytes sum to zero.</summary>
    public bool GoodChecksum { get; init; } = true;

    public bool EfiSignature { get; init; } = true;

    public int EfiSubsystem { get; init; } = 0x0B;

    public int EfiMachine { get; init; } = 0x8664;

    public int EfiCompression { get; init; } = 1;

    /// <summary>EFI InitializationSize in 512-byte blocks; null: the whole image.</summary>
    public int? EfiInitializationBlocks { get; init; }

    /// <summary>EfiImageHeaderOffset: where the PE/COFF driver starts inside the image.</summary>
    public int EfiImageOffset { get; init; } = 0x60;

    public static RomImageSpec Legacy { get; } = new();

    public static RomImageSpec Efi { get; } = new() { CodeType = 3, Blocks = 32, PcirOffset = 0x1C, CodeRevision = 0 };
}

/// <summary>
/// Builds VBIOS files for tests: legacy only, legacy + EFI, with a vendor header in front, with
/// broken checksums, wrong ids and so on. Filler bytes never contain 0x55, so no stray signature
/// appears where a 512-byte scan (rom-parser) would look.
/// </summary>
public sealed class RomImageBuilder
{
    private readonly List<RomImageSpec> _images = [];
    private byte[] _header = [];
    private int _trailing;

    /// <summary>A 32 KiB legacy x86 image only (1002:744c, VGA class).</summary>
    public static byte[] LegacyOnly(int vendorId = 0x1002, int deviceId = 0x744c) =>
        new RomImageBuilder().Add(RomImageSpec.Legacy with { VendorId = vendorId, DeviceId = deviceId }).Build();

    /// <summary>A legacy image followed by an EFI (GOP) image, as on current AMD and NVIDIA cards.</summary>
    public static byte[] LegacyAndEfi(int vendorId = 0x1002, int deviceId = 0x744c) =>
        new RomImageBuilder()
            .Add(RomImageSpec.Legacy with { VendorId = vendorId, DeviceId = deviceId })
            .Add(RomImageSpec.Efi with { VendorId = vendorId, DeviceId = deviceId })
            .Build();

    /// <summary>Legacy + EFI after a vendor header of <paramref name="headerBytes"/> bytes.</summary>
    public static byte[] WithVendorHeader(int headerBytes = 0x21C) =>
        new RomImageBuilder().Header(headerBytes).Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi).Build();

    /// <summary>
    /// A legacy BIOS option ROM that is not a PCI expansion ROM (a serial or network boot ROM of the
    /// ISA era): 0x55AA, its size in 512-byte blocks, an entry jump, a checksum, and no PCIR pointer.
    /// </summary>
    public static byte[] LegacyOptionRom(int blocks = 16)
    {
        var rom = new byte[blocks * 512];
        for (var i = 0; i < rom.Length; i++)
        {
            rom[i] = (byte)((i * 37 + 11) % 0x50);
        }

        rom[0] = 0x55;
        rom[1] = 0xAA;
        rom[2] = (byte)blocks;
        rom[3] = 0xEB;
        rom[4] = 0x4B;
        rom.AsSpan(0x18, 2).Clear();
        rom[^1] = 0;
        byte sum = 0;
        foreach (var b in rom)
        {
            sum += b;
        }

        rom[^1] = (byte)-sum;
        return rom;
    }

    /// <summary>Bytes to put before the first image as they are (another ROM, say).</summary>
    public RomImageBuilder Prefix(byte[] bytes)
    {
        _header = bytes;
        return this;
    }

    public RomImageBuilder Add(RomImageSpec spec)
    {
        _images.Add(spec);
        return this;
    }

    /// <summary>A header like the ones flash tools put in front: a magic, text, then zero padding.</summary>
    public RomImageBuilder Header(int bytes)
    {
        var header = new byte[bytes];
        var text = Encoding.ASCII.GetBytes("NVGI\0\0 VBIOS container written by a flash tool, version 5.792\0");
        text.AsSpan(0, Math.Min(text.Length, bytes)).CopyTo(header);
        _header = header;
        return this;
    }

    /// <summary>
    /// A header like nvflash's on current NVIDIA dumps: <paramref name="bytes"/> of compressed-looking
    /// (random, seeded) data, with a 0x55AA pair written at each of <paramref name="strayAt"/>; random
    /// data also holds such pairs by itself (about one per 64 KiB).
    /// </summary>
    public RomImageBuilder RandomHeader(int bytes, int seed, params int[] strayAt)
    {
        var header = new byte[bytes];
        new Random(seed).NextBytes(header);
        "NVGI"u8.CopyTo(header);
        foreach (var at in strayAt)
        {
            header[at] = 0x55;
            header[at + 1] = 0xAA;
        }

        _header = header;
        return this;
    }

    /// <summary>Padding after the last image (0xFF, like an erased flash chip).</summary>
    public RomImageBuilder Trailing(int bytes)
    {
        _trailing = bytes;
        return this;
    }

    public byte[] Build()
    {
        using var output = new MemoryStream();
        output.Write(_header);
        for (var i = 0; i < _images.Count; i++)
        {
            output.Write(BuildImage(_images[i], _images[i].Last ?? i == _images.Count - 1));
        }

        for (var i = 0; i < _trailing; i++)
        {
            output.WriteByte(0xFF);
        }

        return output.ToArray();
    }

    private static byte[] BuildImage(RomImageSpec spec, bool last)
    {
        var image = new byte[spec.Blocks * 512];
        for (var i = 0; i < image.Length; i++)
        {
            // Deterministic filler without 0x55 (no stray ROM signatures) and without "PCIR".
            image[i] = (byte)((i * 37 + 11) % 0x50);
        }

        image[0] = 0x55;
        image[1] = 0xAA;
        image[2] = (byte)Math.Min(spec.Blocks, 0xFF);
        if (spec.CodeType == 3)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x04), spec.EfiSignature ? 0x0EF1u : 0x1234u);
            U16(image, 0x08, spec.EfiSubsystem);
            U16(image, 0x0A, spec.EfiMachine);
            U16(image, 0x0C, spec.EfiCompression);
            image.AsSpan(0x0E, 8).Clear();
            U16(image, 0x02, spec.EfiInitializationBlocks ?? spec.Blocks);
            U16(image, 0x16, spec.EfiImageOffset);
        }
        else
        {
            // Legacy entry point: a short jump, as real VBIOSes have at 0x03.
            image[3] = 0xEB;
            image[4] = 0x4B;
        }

        U16(image, 0x18, spec.PcirOffset);
        var p = spec.PcirOffset;
        if (p + 0x1C <= image.Length)
        {
            "PCIR"u8.CopyTo(image.AsSpan(p));
            U16(image, p + 0x04, spec.VendorId);
            U16(image, p + 0x06, spec.DeviceId);
            U16(image, p + 0x08, spec.DeviceList.Count > 0 ? 0x20 : 0);
            U16(image, p + 0x0A, spec.PcirRevision >= 3 ? 0x1C : 0x18);
            image[p + 0x0C] = (byte)spec.PcirRevision;
            image[p + 0x0D] = (byte)(spec.ClassCode & 0xFF);
            image[p + 0x0E] = (byte)((spec.ClassCode >> 8) & 0xFF);
            image[p + 0x0F] = (byte)((spec.ClassCode >> 16) & 0xFF);
            U16(image, p + 0x10, spec.Blocks);
            U16(image, p + 0x12, spec.CodeRevision);
            image[p + 0x14] = (byte)spec.CodeType;
            image[p + 0x15] = (byte)(last ? 0x80 : 0x00);
            U16(image, p + 0x16, 0);
            U16(image, p + 0x18, 0);
            U16(image, p + 0x1A, 0);
            for (var i = 0; i < spec.DeviceList.Count; i++)
            {
                U16(image, p + 0x20 + (2 * i), spec.DeviceList[i]);
            }

            if (spec.DeviceList.Count > 0)
            {
                U16(image, p + 0x20 + (2 * spec.DeviceList.Count), 0);
            }
        }

        // The checksum byte is the image's last byte: make the whole image sum to 0 (or to 1).
        image[^1] = 0;
        byte sum = 0;
        foreach (var b in image)
        {
            sum += b;
        }

        image[^1] = (byte)(-sum + (spec.GoodChecksum ? 0 : 1));
        return image;
    }

    private static void U16(byte[] image, int offset, int value) =>
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(offset), (ushort)value);
}

/// <summary>Small edits on built ROM bytes (to break one thing at a time).</summary>
public static class RomBytes
{
    public static byte[] WithU16(byte[] rom, int offset, int value)
    {
        var copy = (byte[])rom.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(offset), (ushort)value);
        return copy;
    }
}
