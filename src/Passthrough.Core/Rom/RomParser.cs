using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Passthrough.Diagnostics;
using Passthrough.Errors;

namespace Passthrough.Rom;

/// <summary>
/// Parses PCI expansion ROM files (VBIOS) over bytes. Layout: PCI Firmware Specification 3.0, 5.1
/// (ROM header 0x55AA with the PCIR pointer at 0x18; PCI data structure "PCIR") and the UEFI
/// specification's "PCI Option ROM" section (EFI image header). Files from flash tools and
/// download sites may carry a header before the first image: the first image is searched at any
/// offset, not only at 512-byte boundaries as rom-parser does.
/// Malformed input raises only <see cref="PassthroughException"/> (InvalidInput), naming the offset.
/// </summary>
public static class RomParser
{
    /// <summary>ROM header: signature, then the PCIR pointer at 0x18 (2 bytes).</summary>
    private const int RomHeaderLength = 0x1A;

    /// <summary>PCIR fields up to and including the indicator byte (PCI 2.2 layout; 3.0 adds 6 bytes).</summary>
    private const int PcirMinimumLength = 0x18;

    private const int BlockSize = 512;

    /// <summary>A device list longer than this is garbage, not a list (real ones hold a few ids).</summary>
    private const int MaxDeviceList = 256;

    private static ReadOnlySpan<byte> RomSignature => [0x55, 0xAA];

    private static ReadOnlySpan<byte> PcirSignature => "PCIR"u8;

    public static VbiosImage Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            throw Bad("The ROM file is empty (offset 0x0).", "Dump the ROM again (`passthrough rom dump SLOT -o FILE`) or download it again.");
        }

        var (first, straySignature) = FindFirstImage(bytes);
        var images = new List<RomImage>();
        var findings = new List<Finding>();
        if (straySignature is int stray)
        {
            findings.Add(new Finding(
                "damaged-image",
                Severity.Warning,
                $"The ROM signature at 0x{stray:x}, before the first valid image at 0x{first:x}, has no valid PCIR structure: it may be a damaged image rather than part of a header.",
                "Dump or download the ROM again; do not cut this part off."));
        }

        if (first > 0)
        {
            findings.Add(new Finding(
                "header",
                Severity.Warning,
                $"{first} bytes (0x{first:x}) come before the first image: a flash tool's or download site's header. QEMU expects the 0x55AA signature at offset 0.",
                "Write the ROM without it: `passthrough rom fix FILE -o FIXED.rom`."));
        }

        var offset = first;
        while (true)
        {
            var image = ParseImage(bytes, offset, findings);
            images.Add(image);
            var next = offset + image.Length;
            if (image.Last)
            {
                if (next < bytes.Length)
                {
                    findings.Add(new Finding(
                        "trailing-data",
                        Severity.Info,
                        $"{bytes.Length - next} bytes after the last image (from 0x{next:x}) are not part of the ROM."));
                }

                break;
            }

            if (next >= bytes.Length || !bytes[next..].StartsWith(RomSignature))
            {
                findings.Add(new Finding(
                    "no-last-image",
                    Severity.Warning,
                    $"The image at 0x{offset:x} is not marked as the last one, but no image follows at 0x{next:x}.",
                    "The ROM is probably cut short or damaged; dump or download it again."));
                break;
            }

            offset = next;
        }

        AddVerdicts(images, findings);
        return new VbiosImage
        {
            Size = bytes.Length,
            HeaderBytes = first,
            DamagedSignatureOffset = straySignature,
            Images = images,
            Findings = findings,
        };
    }

    /// <summary>
    /// Offset 0 when the file starts with the ROM signature (then it must be a valid image);
    /// otherwise the first offset with the signature and a PCIR structure where its pointer says.
    /// </summary>
    private static (int First, int? StraySignature) FindFirstImage(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith(RomSignature))
        {
            return (0, null);
        }

        var position = 0;
        int? firstSignature = null;
        while (position < bytes.Length)
        {
            var found = bytes[position..].IndexOf(RomSignature);
            if (found < 0)
            {
                break;
            }

            var candidate = position + found;
            firstSignature ??= candidate;
            if (LooksLikeImage(bytes, candidate))
            {
                return (candidate, firstSignature < candidate ? firstSignature : null);
            }

            position = candidate + 1;
        }

        throw firstSignature is int at
            ? Bad(
                $"No valid ROM image in {bytes.Length} bytes: the first 0x55AA signature (at offset 0x{at:x}) and every later one lack a PCIR structure where their pointer says.",
                "This is not a PCI option ROM, or it is damaged. Dump or download it again.")
            : Bad(
                $"No ROM image in {bytes.Length} bytes: no 0x55AA signature at any offset (from offset 0x0).",
                "This is not a PCI option ROM (is it a flash tool's container or an archive?). Dump or download it again.");
    }

    private static bool LooksLikeImage(ReadOnlySpan<byte> bytes, int offset)
    {
        if (offset > bytes.Length - RomHeaderLength)
        {
            return false;
        }

        var pcir = (long)offset + U16(bytes, offset + 0x18);
        return pcir + PcirMinimumLength <= bytes.Length
            && bytes.Slice((int)pcir, 4).SequenceEqual(PcirSignature)
            && U16(bytes, (int)pcir + 0x10) > 0;
    }

    private static RomImage ParseImage(ReadOnlySpan<byte> bytes, int offset, List<Finding> findings)
    {
        if (offset > bytes.Length - RomHeaderLength)
        {
            throw Bad(
                $"The image at offset 0x{offset:x} is cut short: its ROM header needs {RomHeaderLength} bytes, the file has {bytes.Length - offset} from there.",
                "The file is truncated; dump or download it again.");
        }

        var pcirPointer = U16(bytes, offset + 0x18);
        var pcir = offset + pcirPointer;
        if (pcir > bytes.Length - PcirMinimumLength)
        {
            throw Bad(
                $"The PCIR pointer of the image at offset 0x{offset:x} (0x{pcirPointer:x}, read at offset 0x{offset + 0x18:x}) points outside the file ({bytes.Length} bytes).",
                "The ROM is damaged or truncated; dump or download it again.");
        }

        if (!bytes.Slice(pcir, 4).SequenceEqual(PcirSignature))
        {
            throw Bad(
                $"The image at offset 0x{offset:x} has no PCIR structure at offset 0x{pcir:x} (found {Printable(bytes.Slice(pcir, 4))}).",
                "The ROM is damaged; dump or download it again.");
        }

        var blocks = U16(bytes, pcir + 0x10);
        var length = blocks * BlockSize;
        if (length == 0)
        {
            throw Bad(
                $"The image at offset 0x{offset:x} declares a length of 0 (PCIR image length at offset 0x{pcir + 0x10:x}).",
                "The ROM is damaged; dump or download it again.");
        }

        if ((long)offset + length > bytes.Length)
        {
            throw Bad(
                $"The image at offset 0x{offset:x} declares {length} bytes, past the end of the file ({bytes.Length} bytes, {bytes.Length - offset} from that offset).",
                "The file is truncated; dump or download it again.");
        }

        if (pcirPointer + PcirMinimumLength > length)
        {
            throw Bad(
                $"The PCIR structure of the image at offset 0x{offset:x} (at 0x{pcir:x}) lies outside the image ({length} bytes).",
                "The ROM is damaged; dump or download it again.");
        }

        var image = bytes.Slice(offset, length);
        var codeType = (RomCodeType)bytes[pcir + 0x14];
        var pcirRevision = bytes[pcir + 0x0C];
        return new RomImage
        {
            Offset = offset,
            PcirOffset = pcirPointer,
            CodeType = codeType,
            VendorId = U16(bytes, pcir + 0x04),
            DeviceId = U16(bytes, pcir + 0x06),
            DeviceList = pcirRevision >= 3 ? DeviceList(image, offset, pcirPointer, findings) : [],
            ClassCode = bytes[pcir + 0x0D] | (bytes[pcir + 0x0E] << 8) | (bytes[pcir + 0x0F] << 16),
            Length = length,
            CodeRevision = U16(bytes, pcir + 0x12),
            PcirRevision = pcirRevision,
            Last = (bytes[pcir + 0x15] & 0x80) != 0,
            ChecksumOk = codeType == RomCodeType.X86 ? ChecksumOk(image) : null,
            Efi = codeType == RomCodeType.Efi ? EfiHeader(image) : null,
        };
    }

    /// <summary>PCI 3.0: a pointer (from the PCIR start) to 16-bit device ids ending with 0.</summary>
    private static int[] DeviceList(ReadOnlySpan<byte> image, int offset, int pcir, List<Finding> findings)
    {
        var pointer = U16(image, pcir + 0x08);
        if (pointer == 0)
        {
            return [];
        }

        var ids = new List<int>();
        var at = pcir + pointer;
        while (true)
        {
            if (at > image.Length - 2 || ids.Count >= MaxDeviceList)
            {
                findings.Add(new Finding(
                    "device-list",
                    Severity.Info,
                    $"The device list of the image at 0x{offset:x} (from 0x{offset + pcir + pointer:x}) has no end inside the image; it was ignored."));
                return [];
            }

            var id = U16(image, at);
            if (id == 0)
            {
                return [.. ids];
            }

            ids.Add(id);
            at += 2;
        }
    }

    /// <summary>
    /// Legacy images sum to zero over the image (PCI Firmware Specification; SeaBIOS checks the
    /// initialization size at 0x02, which is the same span on every VBIOS seen in practice).
    /// </summary>
    private static bool ChecksumOk(ReadOnlySpan<byte> image)
    {
        if (Sum(image) == 0)
        {
            return true;
        }

        var initialization = image[2] * BlockSize;
        return initialization > 0 && initialization < image.Length && Sum(image[..initialization]) == 0;
    }

    /// <summary>Byte sum modulo 256; byte lanes wrap the same way, so vectors add it 16-64 bytes at a time.</summary>
    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        var lanes = Vector<byte>.Zero;
        var vectors = MemoryMarshal.Cast<byte, Vector<byte>>(bytes);
        foreach (var v in vectors)
        {
            lanes += v;
        }

        byte sum = 0;
        for (var i = 0; i < Vector<byte>.Count; i++)
        {
            sum += lanes[i];
        }

        foreach (var b in bytes[(vectors.Length * Vector<byte>.Count)..])
        {
            sum += b;
        }

        return sum;
    }

    private static EfiImageHeader EfiHeader(ReadOnlySpan<byte> image) =>
        new(
            SignatureValid: BinaryPrimitives.ReadUInt32LittleEndian(image[0x04..]) == 0x0EF1,
            Subsystem: U16(image, 0x08),
            MachineType: U16(image, 0x0A),
            Compression: U16(image, 0x0C),
            ImageOffset: U16(image, 0x16));

    private static void AddVerdicts(List<RomImage> images, List<Finding> findings)
    {
        foreach (var image in images.Where(i => i.ChecksumOk == false))
        {
            findings.Add(new Finding(
                "checksum",
                Severity.Warning,
                $"The legacy image at 0x{image.Offset:x} has a bad checksum (its bytes do not sum to 0): SeaBIOS refuses it, and it may be damaged or edited.",
                "Dump or download the ROM again; if it was edited on purpose, fix the checksum byte."));
        }

        foreach (var image in images.Where(i => i.CodeType == RomCodeType.Efi && i.Efi is { SignatureValid: false }))
        {
            findings.Add(new Finding(
                "efi-signature",
                Severity.Warning,
                $"The EFI image at 0x{image.Offset:x} lacks the 0x0EF1 EFI signature: OVMF will not load it.",
                "Dump or download the ROM again."));
        }

        if (!images.Any(i => i.CodeType == RomCodeType.Efi && i.Efi is { SignatureValid: true }))
        {
            findings.Add(new Finding(
                "no-uefi",
                Severity.Warning,
                "No EFI image: with OVMF (UEFI) the VM shows nothing on this GPU until the guest's driver loads.",
                "Use a UEFI-capable ROM for the same card model (dumped from it, or from the vendor), or boot the VM with SeaBIOS."));
        }

        var ids = images.Select(i => (i.VendorId, i.DeviceId)).Distinct().ToList();
        if (ids.Count > 1)
        {
            findings.Add(new Finding(
                "mixed-ids",
                Severity.Info,
                "The images name different devices: " + string.Join(", ", ids.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.VendorId:x4}:{p.DeviceId:x4}"))) + "."));
        }
    }

    private static int U16(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(bytes[offset..]);

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '.';
        }

        return "'" + new string(chars) + "'";
    }

    private static PassthroughException Bad(string message, string remedy) => PassthroughException.Input(message, remedy);
}
