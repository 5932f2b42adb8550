using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Passthrough.Diagnostics;
using Passthrough.Errors;

namespace Passthrough.Rom;

/// <summary>
/// Parses PCI expansion ROM files (VBIOS) over bytes. Layout: PCI Firmware Specification 3.x,
/// "PCI Expansion ROM" section (ROM header 0x55AA with the PCIR pointer at 0x18; PCI data
/// structure "PCIR", DWORD aligned) and the UEFI specification's "PCI Option ROMs" section (EFI
/// image header). Files from flash tools and download sites may carry a header of any size before
/// the first image, so the first image is searched at any offset, not only at 512-byte boundaries
/// as rom-parser does; inside the ROM, images follow each other on 512-byte boundaries.
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

        var (first, damaged) = FindFirstImage(bytes);
        var images = new List<RomImage>();
        var findings = new List<Finding>();
        if (damaged is int at)
        {
            findings.Add(new Finding(
                "damaged-image",
                Severity.Warning,
                $"The ROM signature at 0x{at:x}, a multiple of 512 bytes before the first valid image at 0x{first:x}, starts what looks like an image (its PCIR structure is where its pointer says) but {Damage(bytes, at)}: it may be a damaged image rather than part of a header.",
                "Dump or download the ROM again; `passthrough rom fix` will not cut off what may be an image."));
        }

        if (first > 0)
        {
            var what = bytes.StartsWith(RomSignature)
                ? (IsLegacyOptionRom(bytes) ? "; they start with a legacy BIOS option ROM that has no PCI data structure, which is not part of the PCI expansion ROM" : "; they start with a 0x55AA signature but hold no PCI data structure where its pointer says, so they are not part of the PCI expansion ROM")
                : string.Empty;
            findings.Add(new Finding(
                "header",
                Severity.Warning,
                $"{first} bytes (0x{first:x}) come before the first image: a flash tool's or download site's header{what}. QEMU expects the 0x55AA signature at offset 0, and OVMF reads an option ROM only when it starts there.",
                damaged is null
                    ? "Write the ROM without it: `passthrough rom fix FILE -o FIXED.rom`."
                    : "Get an intact copy first (see the possibly damaged image above); then `passthrough rom fix FILE -o FIXED.rom` writes it without the header."));
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
            DamagedSignatureOffset = damaged,
            Images = images,
            Findings = findings,
        };
    }

    /// <summary>
    /// The first valid image (see <see cref="Classify"/>) at any offset, and the first possibly damaged
    /// image before it. A damaged image can only sit where an image chain ending at the valid one
    /// would start one: a multiple of 512 bytes before it. A 0x55AA pair anywhere else is header data
    /// (about one in 64 KiB of compressed or random data is one).
    /// </summary>
    private static (int First, int? Damaged) FindFirstImage(ReadOnlySpan<byte> bytes)
    {
        var position = 0;
        int? firstDamaged = null;
        while (position < bytes.Length)
        {
            var found = bytes[position..].IndexOf(RomSignature);
            if (found < 0)
            {
                break;
            }

            var candidate = position + found;
            switch (Classify(bytes, candidate))
            {
                case Candidate.Valid:
                    return (candidate, DamagedBefore(bytes, candidate));
                case Candidate.Damaged:
                    firstDamaged ??= candidate;
                    break;
            }

            position = candidate + 1;
        }

        if (firstDamaged is int damaged)
        {
            // Throws the error that says what is wrong with it.
            ParseImage(bytes, damaged, []);
        }

        if (bytes.StartsWith(RomSignature))
        {
            throw IsLegacyOptionRom(bytes)
                ? Bad(
                    $"The file is a legacy BIOS option ROM without a PCI data structure (0x55AA at offset 0x0, {bytes[2] * BlockSize} bytes by its size byte, checksum right, no PCIR structure): not a PCI expansion ROM; not usable as a GPU ROM.",
                    "Use the GPU's own ROM: dump it with `passthrough rom dump SLOT -o FILE` or download it for this exact card model.")
                : Bad(
                    $"The file starts with the 0x55AA ROM signature, but the PCIR pointer of the image at offset 0x0 (0x{U16OrZero(bytes, 0x18):x}, read at offset 0x18) {PointerProblem(bytes, 0)}, and no valid image follows at any offset.",
                    "The ROM is damaged, or it is an option ROM that is not a PCI expansion ROM: dump or download the GPU's ROM again.");
        }

        var firstSignature = bytes.IndexOf(RomSignature);
        throw firstSignature >= 0
            ? Bad(
                $"No valid ROM image in {bytes.Length} bytes: the first 0x55AA signature (at offset 0x{firstSignature:x}) and every later one lack a PCIR structure where their pointer says.",
                "This is not a PCI option ROM, or it is damaged. Dump or download it again.")
            : Bad(
                $"No ROM image in {bytes.Length} bytes: no 0x55AA signature at any offset (from offset 0x0).",
                "This is not a PCI option ROM (is it a flash tool's container or an archive?). Dump or download it again.");
    }

    private static int? DamagedBefore(ReadOnlySpan<byte> bytes, int first)
    {
        for (var at = first % BlockSize; at < first; at += BlockSize)
        {
            if (Classify(bytes, at) == Candidate.Damaged)
            {
                return at;
            }
        }

        return null;
    }

    private enum Candidate
    {
        /// <summary>No image starts here (a 0x55AA pair in other data).</summary>
        NotAnImage,

        /// <summary>An image starts here, but its PCIR length does not fit it.</summary>
        Damaged,

        Valid,
    }

    /// <summary>
    /// An image starts only with 0x55AA and a non-zero PCIR pointer that is DWORD aligned and leads to the
    /// "PCIR" signature inside the file (PCI Firmware Specification 3.x, "PCI Expansion ROM" section: the
    /// PCI data structure is DWORD aligned; EDK2's PCI bus driver stops at a pointer that is 0, unaligned
    /// or outside the ROM). Such a start whose image length is 0 or runs past the file is damaged.
    /// </summary>
    private static Candidate Classify(ReadOnlySpan<byte> bytes, int offset)
    {
        if (!bytes[offset..].StartsWith(RomSignature) || PointerProblem(bytes, offset) is not null)
        {
            return Candidate.NotAnImage;
        }

        var pointer = U16(bytes, offset + 0x18);
        var length = U16(bytes, offset + pointer + 0x10) * BlockSize;
        return length == 0 || (long)offset + length > bytes.Length || pointer + PcirMinimumLength > length
            ? Candidate.Damaged
            : Candidate.Valid;
    }

    /// <summary>What keeps the PCIR pointer of a 0x55AA at this offset from leading to a PCIR structure; null when nothing does.</summary>
    private static string? PointerProblem(ReadOnlySpan<byte> bytes, int offset)
    {
        if (offset > bytes.Length - RomHeaderLength)
        {
            return Invariant($"is missing (the file ends {bytes.Length - offset} bytes after the signature)");
        }

        var pointer = U16(bytes, offset + 0x18);
        var pcir = (long)offset + pointer;
        return pointer == 0 ? "is 0"
            : pointer % 4 != 0 ? "is not a multiple of 4 (the PCI data structure is DWORD aligned)"
            : pcir + PcirMinimumLength > bytes.Length ? Invariant($"points outside the file ({bytes.Length} bytes)")
            : !bytes.Slice((int)pcir, 4).SequenceEqual(PcirSignature) ? Invariant($"leads to {Printable(bytes.Slice((int)pcir, 4))} at offset 0x{pcir:x}, not to the 'PCIR' signature")
            : null;
    }

    private static string Damage(ReadOnlySpan<byte> bytes, int offset)
    {
        var pointer = U16(bytes, offset + 0x18);
        var length = U16(bytes, offset + pointer + 0x10) * BlockSize;
        return length == 0 ? "declares a length of 0"
            : pointer + PcirMinimumLength > length ? Invariant($"its PCIR structure lies outside its declared {length} bytes")
            : Invariant($"its declared {length} bytes run past the end of the file");
    }

    /// <summary>
    /// A legacy BIOS option ROM (ISA-era layout, also used by serial and network boot ROMs): 0x55AA, a
    /// size in 512-byte units at 0x02, and bytes over that size summing to 0; no PCI data structure.
    /// </summary>
    private static bool IsLegacyOptionRom(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 3 || !bytes.StartsWith(RomSignature) || PointerProblem(bytes, 0) is null)
        {
            return false;
        }

        var size = bytes[2] * BlockSize;
        return size > 0 && size <= bytes.Length && Sum(bytes[..size]) == 0;
    }

    private static int U16OrZero(ReadOnlySpan<byte> bytes, int offset) => offset + 2 <= bytes.Length ? U16(bytes, offset) : 0;

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
        if (pcirPointer == 0 || pcirPointer % 4 != 0)
        {
            throw Bad(
                $"The PCIR pointer of the image at offset 0x{offset:x} (0x{pcirPointer:x}, read at offset 0x{offset + 0x18:x}) {PointerProblem(bytes, offset)}.",
                "The ROM is damaged; dump or download it again.");
        }

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
            ImageOffset: U16(image, 0x16),
            InitializationBlocks: U16(image, 0x02));

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

        foreach (var image in images.Where(i => i.CodeType == RomCodeType.Efi && i.Efi is { SignatureValid: true } && i.EfiRefusal is not null))
        {
            findings.Add(new Finding(
                "efi-not-loadable",
                Severity.Warning,
                $"The EFI image at 0x{image.Offset:x}: {image.EfiRefusal}.",
                "Use the ROM of this card model made for x86-64 PCs (dumped from such a card, or from the vendor)."));
        }

        if (!images.Any(i => i.UefiLoadable))
        {
            findings.Add(new Finding(
                "no-uefi",
                Severity.Warning,
                images.Any(i => i.CodeType == RomCodeType.Efi)
                    ? "No EFI image OVMF loads: with OVMF (UEFI) the VM shows nothing on this GPU until the guest's driver loads."
                    : "No EFI image: with OVMF (UEFI) the VM shows nothing on this GPU until the guest's driver loads.",
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

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
