using System.Globalization;
using Passthrough.Diagnostics;
using Passthrough.Pci;

namespace Passthrough.Rom;

/// <summary>The PCIR code type (PCI Firmware Specification 3.0, 5.1.3): what the image runs on.</summary>
public enum RomCodeType
{
    /// <summary>Intel x86, PC-AT compatible: the legacy VGA BIOS SeaBIOS runs.</summary>
    X86 = 0,

    /// <summary>Open Firmware standard for PCI.</summary>
    OpenFirmware = 1,

    /// <summary>Hewlett-Packard PA RISC.</summary>
    PaRisc = 2,

    /// <summary>Extensible Firmware Interface: the GOP driver OVMF needs for a picture during boot.</summary>
    Efi = 3,
}

/// <summary>
/// The EFI part of an EFI image's ROM header (UEFI specification, "PCI Option ROMs" section, EFI PCI
/// expansion ROM header: InitializationSize at 0x02 in 512-byte units, EfiSignature 0x0EF1 at 0x04,
/// EfiSubsystem at 0x08, EfiMachineType at 0x0A, CompressionType at 0x0C, EfiImageHeaderOffset at 0x16).
/// </summary>
public sealed record EfiImageHeader(bool SignatureValid, int Subsystem, int MachineType, int Compression, int ImageOffset, int InitializationBlocks = 0)
{
    public const int ApplicationSubsystem = 0x0A;

    public const int BootServiceDriverSubsystem = 0x0B;

    public const int RuntimeDriverSubsystem = 0x0C;

    public const int X64Machine = 0x8664;

    public const int EbcMachine = 0x0EBC;

    /// <summary>The image is compressed (CompressionType 1, EFI compression).</summary>
    public bool Compressed => Compression == 1;

    /// <summary>
    /// Why OVMF on an x86-64 host will not load this image, or null when it will. The checks are the
    /// ones EDK2's PCI bus driver makes before it loads an option ROM image (tianocore/edk2,
    /// MdeModulePkg/Bus/Pci/PciBusDxe/PciOptionRomSupport.c): ProcessOpRomImage skips EFI
    /// applications; LocalLoadFile2 hands out only images with the 0x0EF1 signature, subsystem boot
    /// service or runtime driver, CompressionType 0 or 1, and an initialization size within the image
    /// with the PE image offset inside it. The machine type is checked by LoadImage (DXE core): x64 is
    /// native, EBC runs on the EBC interpreter OVMF includes (EbcDxe); anything else is refused.
    /// </summary>
    public string? Refusal(int imageLength)
    {
        if (!SignatureValid)
        {
            return "it lacks the 0x0EF1 EFI signature: OVMF will not load it";
        }

        if (Subsystem == ApplicationSubsystem)
        {
            return "it is an EFI application (subsystem 10), not a driver: OVMF does not load applications from an option ROM";
        }

        if (Subsystem is not (BootServiceDriverSubsystem or RuntimeDriverSubsystem))
        {
            return Invariant($"its subsystem ({Subsystem}) is neither a boot service driver (11) nor a runtime driver (12): OVMF will not load it");
        }

        if (MachineType is not (X64Machine or EbcMachine))
        {
            return Invariant($"it is an EFI image for {MachineName} (0x{MachineType:X4}): OVMF on x86-64 will not load it");
        }

        if (Compression > 1)
        {
            return $"its compression type ({Hex(Compression)}) is unknown (0 is none, 1 EFI compression): OVMF will not load it";
        }

        var initialization = InitializationBlocks * 512;
        if (initialization > imageLength || ImageOffset >= initialization)
        {
            return Invariant($"its initialization size ({initialization} bytes) does not fit the image ({imageLength} bytes) or does not hold the EFI driver at 0x{ImageOffset:x}: OVMF will not load it");
        }

        return null;
    }

    /// <summary>EFI_IMAGE_SUBSYSTEM_* names (PE/COFF subsystem values).</summary>
    public string SubsystemName => Subsystem switch
    {
        0x0A => "Application",
        0x0B => "Boot Service Driver",
        0x0C => "Runtime Driver",
        _ => Hex(Subsystem),
    };

    /// <summary>PE/COFF machine types the UEFI specification names.</summary>
    public string MachineName => MachineType switch
    {
        0x014C => "IA-32",
        0x0200 => "Itanium",
        0x0EBC => "EFI Byte Code",
        0x8664 => "x64",
        0x01C2 => "ARM",
        0xAA64 => "AArch64",
        0x5064 => "RISC-V 64",
        _ => Hex(MachineType),
    };

    public string CompressionName => Compression switch
    {
        0 => "none",
        1 => "EFI compression",
        _ => Hex(Compression),
    };

    private static string Hex(int value) => string.Create(CultureInfo.InvariantCulture, $"0x{value:x4}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One image of a PCI expansion ROM: its ROM header and PCI data structure (PCIR).</summary>
public sealed record RomImage
{
    /// <summary>Where the image starts, counted from the start of the file (header included).</summary>
    public required int Offset { get; init; }

    /// <summary>Where the PCIR structure starts, relative to <see cref="Offset"/>.</summary>
    public required int PcirOffset { get; init; }

    public required RomCodeType CodeType { get; init; }

    public required int VendorId { get; init; }

    public required int DeviceId { get; init; }

    /// <summary>Further device ids the image supports (PCIR 3.0 device list), empty when there is none.</summary>
    public required IReadOnlyList<int> DeviceList { get; init; }

    /// <summary>Base class, subclass and interface as one number (0x030000 = VGA).</summary>
    public required int ClassCode { get; init; }

    /// <summary>Image length in bytes (PCIR image length × 512).</summary>
    public required int Length { get; init; }

    /// <summary>Revision level of the code/data (the "vendor revision" rom-parser prints).</summary>
    public required int CodeRevision { get; init; }

    /// <summary>PCIR structure revision (0 for PCI 2.x, 3 for PCI 3.0).</summary>
    public required int PcirRevision { get; init; }

    /// <summary>Bit 7 of the indicator byte: no image follows.</summary>
    public required bool Last { get; init; }

    /// <summary>Legacy (x86) images must sum to zero; null for images the rule does not apply to.</summary>
    public required bool? ChecksumOk { get; init; }

    /// <summary>The EFI header fields, for EFI images only.</summary>
    public EfiImageHeader? Efi { get; init; }

    public string CodeTypeName => CodeType switch
    {
        RomCodeType.X86 => "x86 PC-AT",
        RomCodeType.OpenFirmware => "Open Firmware",
        RomCodeType.PaRisc => "PA-RISC",
        RomCodeType.Efi => "EFI",
        _ => string.Create(CultureInfo.InvariantCulture, $"type {(int)CodeType}"),
    };

    /// <summary>Why OVMF will not load this EFI image (see <see cref="EfiImageHeader.Refusal"/>); null for
    /// an image it loads and for images that are not EFI images.</summary>
    public string? EfiRefusal => CodeType == RomCodeType.Efi && Efi is { } efi ? efi.Refusal(Length) : null;

    /// <summary>An EFI image OVMF on x86-64 loads as a driver (the GOP that shows the boot screen).</summary>
    public bool UefiLoadable => CodeType == RomCodeType.Efi && Efi is not null && EfiRefusal is null;

    public string VendorIdText => VendorId.ToString("x4", CultureInfo.InvariantCulture);

    public string DeviceIdText => DeviceId.ToString("x4", CultureInfo.InvariantCulture);

    public string ClassCodeText => ClassCode.ToString("x6", CultureInfo.InvariantCulture);

    /// <summary>The image is for this vendor and device (its own id or one in the device list).</summary>
    public bool Matches(int vendorId, int deviceId) =>
        VendorId == vendorId && (DeviceId == deviceId || DeviceList.Contains(deviceId));
}

/// <summary>A parsed VBIOS file: the bytes before the first image (if any), every image, verdicts.</summary>
public sealed record VbiosImage
{
    /// <summary>Size of the whole file in bytes.</summary>
    public required int Size { get; init; }

    /// <summary>Bytes before the first image (a flash tool's header); 0 for a plain ROM.</summary>
    public required int HeaderBytes { get; init; }

    /// <summary>An image start inside the header (on the 512-byte grid of the first image, with a PCIR
    /// structure where its pointer says) whose length is broken: maybe a damaged image, so the header
    /// must not be cut off blindly. Null when there is none.</summary>
    public int? DamagedSignatureOffset { get; init; }

    public required IReadOnlyList<RomImage> Images { get; init; }

    /// <summary>The verdicts about the file, on the doctor's scale: <see cref="Severity.Warning"/> when the
    /// ROM will not work as it is (or not with OVMF), <see cref="Severity.Info"/> when it is only worth knowing.</summary>
    public required IReadOnlyList<Finding> Findings { get; init; }

    /// <summary>An EFI image OVMF on x86-64 loads is present: OVMF can show output during boot.</summary>
    public bool UefiCapable => Images.Any(i => i.UefiLoadable);

    /// <summary>Why the ROM is not UEFI capable (null when it is): no EFI image, or why OVMF refuses the first one.</summary>
    public string? UefiRefusal => UefiCapable
        ? null
        : Images.FirstOrDefault(i => i.CodeType == RomCodeType.Efi) is { } efi
            ? string.Create(CultureInfo.InvariantCulture, $"the EFI image at 0x{efi.Offset:x}: {efi.EfiRefusal}")
            : "no EFI image";

    /// <summary>Bytes from the first image to the end of the last one.</summary>
    public int ImagesLength => Images.Count == 0 ? 0 : Images[^1].Offset + Images[^1].Length - HeaderBytes;

    /// <summary>Some image is for this vendor and device id (OVMF and SeaBIOS pick the image by these ids).</summary>
    public bool MatchesDevice(int vendorId, int deviceId) => Images.Any(i => i.Matches(vendorId, deviceId));

    /// <summary>
    /// The verdict on this ROM for one GPU function with these ids (`rom inspect --slot`): a note when
    /// some image is for it, else a warning, as the VM firmware runs only an image whose ids match.
    /// </summary>
    public Finding DeviceIdsFinding(PciAddress address, int vendorId, int deviceId)
    {
        var ids = string.Create(CultureInfo.InvariantCulture, $"{vendorId:x4}:{deviceId:x4}");
        if (MatchesDevice(vendorId, deviceId))
        {
            return new Finding("device-ids", Severity.Info, address.ToString(), $"The ROM is for {address} ({ids}).", [], null);
        }

        var romIds = string.Join(", ", Images.Select(i => $"{i.VendorIdText}:{i.DeviceIdText}").Distinct());
        return new Finding(
            "device-ids",
            Severity.Warning,
            address.ToString(),
            $"The ROM is for {romIds}, but {address} is {ids}: the VM firmware will not run it for this GPU.",
            [],
            "Use the ROM of this exact card model (dump it with `passthrough rom dump`).");
    }

    /// <summary>Any finding that means the ROM will not work as it is.</summary>
    public bool HasWarnings => Findings.Any(f => f.Severity <= Severity.Warning);
}
