using NUnit.Framework;
using Passthrough.Diagnostics;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Rom;
using Passthrough.Testing;

namespace Passthrough.Tests.Rom;

public class RomParserTests
{
    [Test]
    public void I_can_read_every_field_of_a_legacy_only_rom()
    {
        var rom = RomParser.Parse(RomImageBuilder.LegacyOnly());

        Assert.That(rom.HeaderBytes, Is.Zero);
        Assert.That(rom.Size, Is.EqualTo(32768));
        var image = rom.Images.Single();
        Assert.That(image.Offset, Is.Zero);
        Assert.That(image.PcirOffset, Is.EqualTo(0x190));
        Assert.That(image.CodeType, Is.EqualTo(RomCodeType.X86));
        Assert.That(image.CodeTypeName, Is.EqualTo("x86 PC-AT"));
        Assert.That(image.VendorIdText, Is.EqualTo("1002"));
        Assert.That(image.DeviceIdText, Is.EqualTo("744c"));
        Assert.That(image.ClassCodeText, Is.EqualTo("030000"));
        Assert.That(image.Length, Is.EqualTo(32768));
        Assert.That(image.CodeRevision, Is.EqualTo(1));
        Assert.That(image.PcirRevision, Is.EqualTo(3));
        Assert.That(image.Last, Is.True);
        Assert.That(image.ChecksumOk, Is.True);
        Assert.That(image.Efi, Is.Null);
        Assert.That(rom.UefiCapable, Is.False);
        Assert.That(rom.Findings.Select(f => f.Id), Is.EqualTo(new[] { "no-uefi" }));
        Assert.That(rom.Findings[0].Message, Does.Contain("OVMF"));
    }

    [Test]
    public void I_can_see_that_a_legacy_plus_efi_rom_is_uefi_capable()
    {
        var rom = RomParser.Parse(RomImageBuilder.LegacyAndEfi());

        Assert.That(rom.Images.Select(i => (i.Offset, i.CodeType, i.Last)), Is.EqualTo(new[]
        {
            (0, RomCodeType.X86, false),
            (32768, RomCodeType.Efi, true),
        }));
        var efi = rom.Images[1].Efi!;
        Assert.That(efi.SignatureValid, Is.True);
        Assert.That(efi.SubsystemName, Is.EqualTo("Boot Service Driver"));
        Assert.That(efi.MachineName, Is.EqualTo("x64"));
        Assert.That(efi.CompressionName, Is.EqualTo("EFI compression"));
        Assert.That(rom.Images[1].ChecksumOk, Is.Null, "EFI images carry no legacy checksum");
        Assert.That(rom.UefiCapable, Is.True);
        Assert.That(rom.Findings, Is.Empty);
        Assert.That(rom.HasWarnings, Is.False);
    }

    [TestCase(0x21C)]
    [TestCase(0x600)]
    [TestCase(7)]
    public void I_get_the_header_size_when_a_flash_tool_header_comes_before_the_first_image(int header)
    {
        var rom = RomParser.Parse(RomImageBuilder.WithVendorHeader(header));

        Assert.That(rom.HeaderBytes, Is.EqualTo(header));
        Assert.That(rom.Images.Select(i => i.Offset), Is.EqualTo(new[] { header, header + 32768 }));
        Assert.That(rom.UefiCapable, Is.True);
        var finding = rom.Findings.Single(f => f.Id == "header");
        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Remedy, Does.Contain("rom fix"));
        Assert.That(rom.ImagesLength, Is.EqualTo(32768 + 16384));
    }

    [Test]
    public void I_get_a_checksum_warning_for_a_damaged_legacy_image()
    {
        var bytes = new RomImageBuilder()
            .Add(RomImageSpec.Legacy with { GoodChecksum = false })
            .Add(RomImageSpec.Efi)
            .Build();

        var rom = RomParser.Parse(bytes);

        Assert.That(rom.Images[0].ChecksumOk, Is.False);
        var finding = rom.Findings.Single(f => f.Id == "checksum");
        Assert.That(finding.Message, Does.Contain("0x0").And.Contain("checksum"));
        Assert.That(rom.HasWarnings, Is.True);
    }

    [Test]
    public void I_can_tell_whether_a_rom_is_for_my_card()
    {
        var rom = RomParser.Parse(RomImageBuilder.LegacyAndEfi(0x10de, 0x2204));

        Assert.That(rom.MatchesDevice(0x10de, 0x2204), Is.True);
        Assert.That(rom.MatchesDevice(0x1002, 0x744c), Is.False, "wrong vendor and device");
        Assert.That(rom.MatchesDevice(0x10de, 0x2206), Is.False, "same vendor, other device");
    }

    [Test]
    public void A_rom_matches_a_device_named_in_its_device_list()
    {
        var bytes = new RomImageBuilder()
            .Add(RomImageSpec.Legacy with { DeviceList = [0x744c, 0x7448] })
            .Add(RomImageSpec.Efi)
            .Build();

        var rom = RomParser.Parse(bytes);

        Assert.That(rom.Images[0].DeviceList, Is.EqualTo(new[] { 0x744c, 0x7448 }));
        Assert.That(rom.MatchesDevice(0x1002, 0x7448), Is.True);
    }

    [Test]
    public void I_get_told_when_no_image_is_marked_last()
    {
        var bytes = new RomImageBuilder().Add(RomImageSpec.Legacy with { Last = false }).Build();

        var rom = RomParser.Parse(bytes);

        Assert.That(rom.Findings.Select(f => f.Id), Does.Contain("no-last-image"));
    }

    [Test]
    public void I_get_told_about_bytes_after_the_last_image()
    {
        var rom = RomParser.Parse(new RomImageBuilder().Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi).Trailing(1000).Build());

        var finding = rom.Findings.Single(f => f.Id == "trailing-data");
        Assert.That(finding.Severity, Is.EqualTo(Severity.Info));
        Assert.That(finding.Message, Does.Contain("1000 bytes").And.Contain("0xc000"));
    }

    [Test]
    public void I_get_a_warning_for_an_efi_image_without_the_efi_signature()
    {
        var rom = RomParser.Parse(new RomImageBuilder().Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi with { EfiSignature = false }).Build());

        Assert.That(rom.UefiCapable, Is.False);
        Assert.That(rom.Findings.Select(f => f.Id), Does.Contain("efi-signature").And.Contain("no-uefi"));
    }

    [Test]
    public void Code_types_without_a_name_are_named_by_number()
    {
        var rom = RomParser.Parse(new RomImageBuilder().Add(RomImageSpec.Legacy with { CodeType = 0x70 }).Build());

        Assert.That(rom.Images[0].CodeTypeName, Is.EqualTo("type 112"));
        Assert.That(rom.Images[0].ChecksumOk, Is.Null);
    }

    [Test]
    public void I_get_an_error_for_an_empty_file()
    {
        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse([]));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("empty").And.Contain("offset 0x0"));
    }

    [Test]
    public void I_get_an_error_for_random_bytes()
    {
        var random = new byte[4096];
        new Random(42).NextBytes(random);
        random[0] = 0;

        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse(random));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("offset 0x"));
    }

    [Test]
    public void I_get_an_error_naming_the_offset_when_an_image_runs_past_the_end_of_the_file()
    {
        var whole = RomImageBuilder.LegacyAndEfi();
        var truncated = whole[..(32768 + 4096)];

        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse(truncated));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("offset 0x8000").And.Contain("past the end"));
        Assert.That(e.Remedy, Does.Contain("truncated"));
    }

    [Test]
    public void I_get_an_error_naming_the_offset_when_the_image_length_is_too_large()
    {
        var bytes = RomBytes.WithU16(RomImageBuilder.LegacyOnly(), 0x190 + 0x10, 0x400);

        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse(bytes));

        Assert.That(e!.Message, Does.Contain("offset 0x0").And.Contain("524288 bytes").And.Contain("past the end"));
    }

    [Test]
    public void I_get_an_error_naming_the_offset_when_the_pcir_pointer_points_outside_the_file()
    {
        var bytes = RomBytes.WithU16(RomImageBuilder.LegacyOnly(), 0x18, 0xFFF0);

        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse(bytes));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("PCIR pointer").And.Contain("offset 0x0").And.Contain("outside the file"));
    }

    [Test]
    public void I_get_an_error_naming_the_offset_when_the_pcir_structure_lies_outside_its_image()
    {
        // A 2-block image with its PCIR across the first block's end, then told it is 1 block long.
        var built = new RomImageBuilder().Add(RomImageSpec.Legacy with { Blocks = 2, PcirOffset = 0x1F0 }).Build();
        var bytes = RomBytes.WithU16(built, 0x1F0 + 0x10, 1);

        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse(bytes));

        Assert.That(e!.Message, Does.Contain("offset 0x0").And.Contain("outside the image"));
    }

    [Test]
    public void I_get_an_error_naming_the_offset_when_a_second_image_is_damaged()
    {
        var bytes = RomBytes.WithU16(RomImageBuilder.LegacyAndEfi(), 32768 + 0x18, 0x3000);

        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse(bytes));

        Assert.That(e!.Message, Does.Contain("offset 0x8000").And.Contain("no PCIR structure"));
    }

    [Test]
    public void I_am_warned_when_what_looks_like_a_header_holds_a_damaged_image()
    {
        // The legacy image at 0x21C keeps its PCIR structure but declares a length of 0: only the EFI
        // image after it (32768 bytes, a multiple of 512, further on) is valid.
        var bytes = RomBytes.WithU16(RomImageBuilder.WithVendorHeader(0x21C), 0x21C + 0x190 + 0x10, 0);

        var rom = RomParser.Parse(bytes);

        Assert.That(rom.HeaderBytes, Is.EqualTo(0x21C + 32768), "only the EFI image is valid");
        Assert.That(rom.DamagedSignatureOffset, Is.EqualTo(0x21C));
        var damaged = rom.Findings.Single(f => f.Id == "damaged-image");
        Assert.That(damaged.Message, Does.Contain("0x21c").And.Contain("length of 0"));
        Assert.That(damaged.Remedy, Does.Contain("Dump or download the ROM again"));
        var header = rom.Findings.Single(f => f.Id == "header");
        Assert.That(header.Remedy, Does.StartWith("Get an intact copy first"), "no advice to cut off what may be an image");
    }

    [TestCase(200 * 1024)]
    [TestCase((200 * 1024) + 0x21C)]
    public void A_stray_rom_signature_in_a_big_nvflash_header_is_header_data_not_a_damaged_image(int headerBytes)
    {
        // Stray pairs at offsets that are not a multiple of 512 from the image chain, and one that is
        // (100 blocks before it) but whose PCIR pointer leads to random bytes.
        var aligned = headerBytes - (100 * 512);
        var header = new RomImageBuilder().RandomHeader(headerBytes, seed: 18, 0x1235, 0x10001, 0x2A003, aligned);
        var bytes = RomBytes.WithU16(header.Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi).Build(), aligned + 0x18, 0x1C0);

        var rom = RomParser.Parse(bytes);

        Assert.That(CountSignatures(bytes.AsSpan(0, headerBytes)), Is.GreaterThanOrEqualTo(4));
        Assert.That(rom.HeaderBytes, Is.EqualTo(headerBytes));
        Assert.That(rom.Images.Select(i => i.CodeType), Is.EqualTo(new[] { RomCodeType.X86, RomCodeType.Efi }));
        Assert.That(rom.DamagedSignatureOffset, Is.Null);
        Assert.That(rom.Findings.Select(f => f.Id), Is.EqualTo(new[] { "header" }));
        Assert.That(rom.Findings[0].Remedy, Does.Contain("rom fix"));
        Assert.That(rom.UefiCapable, Is.True);
    }

    [Test]
    public void A_legacy_option_rom_without_a_pci_data_structure_is_named_for_what_it_is()
    {
        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse(RomImageBuilder.LegacyOptionRom()));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("legacy BIOS option ROM without a PCI data structure").And.Contain("not a PCI expansion ROM").And.Contain("not usable as a GPU ROM"));
        Assert.That(e.Message + e.Remedy, Does.Not.Contain("damaged"));
    }

    [Test]
    public void A_file_that_starts_with_a_signature_but_no_pcir_is_searched_for_a_later_image()
    {
        var bytes = new RomImageBuilder().Prefix(RomImageBuilder.LegacyOptionRom(16)).Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi).Build();

        var rom = RomParser.Parse(bytes);

        Assert.That(rom.HeaderBytes, Is.EqualTo(16 * 512));
        Assert.That(rom.Images.Select(i => i.Offset), Is.EqualTo(new[] { 0x2000, 0x2000 + 32768 }));
        Assert.That(rom.DamagedSignatureOffset, Is.Null);
        var header = rom.Findings.Single(f => f.Id == "header");
        Assert.That(header.Message, Does.Contain("legacy BIOS option ROM that has no PCI data structure"));
        Assert.That(header.Remedy, Does.Contain("rom fix"));
    }

    [TestCase(0x192, "not a multiple of 4")]
    [TestCase(0, "is 0")]
    [TestCase(0x180, "not to the 'PCIR' signature")]
    public void A_rom_whose_only_pcir_pointer_is_invalid_is_refused_naming_the_pointer(int pointer, string problem)
    {
        var bytes = RomBytes.WithU16(RomImageBuilder.LegacyOnly(), 0x18, pointer);

        var e = Assert.Throws<PassthroughException>(() => RomParser.Parse(bytes));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("PCIR pointer").And.Contain("offset 0x0").And.Contain(problem).And.Contain("no valid image follows"));
    }

    [TestCase(0x0A, 0x8664, 1, null, "EFI application (subsystem 10)")]
    [TestCase(0x0D, 0x8664, 1, null, "subsystem (13) is neither a boot service driver (11) nor a runtime driver (12)")]
    [TestCase(0x0B, 0xAA64, 1, null, "EFI image for AArch64 (0xAA64): OVMF on x86-64 will not load it")]
    [TestCase(0x0B, 0x014C, 1, null, "EFI image for IA-32 (0x014C)")]
    [TestCase(0x0B, 0x8664, 2, null, "compression type (0x0002) is unknown")]
    [TestCase(0x0B, 0x8664, 1, 64, "initialization size (32768 bytes) does not fit the image (16384 bytes)")]
    public void An_efi_image_ovmf_will_not_load_makes_the_rom_not_uefi_capable_and_says_why(int subsystem, int machine, int compression, int? initializationBlocks, string reason)
    {
        var bytes = new RomImageBuilder()
            .Add(RomImageSpec.Legacy)
            .Add(RomImageSpec.Efi with { EfiSubsystem = subsystem, EfiMachine = machine, EfiCompression = compression, EfiInitializationBlocks = initializationBlocks })
            .Build();

        var rom = RomParser.Parse(bytes);

        Assert.That(rom.UefiCapable, Is.False);
        Assert.That(rom.Images[1].EfiRefusal, Does.Contain(reason));
        Assert.That(rom.UefiRefusal, Does.StartWith("the EFI image at 0x8000: ").And.Contain(reason));
        Assert.That(rom.Findings.Single(f => f.Id == "efi-not-loadable").Message, Does.Contain("0x8000").And.Contain(reason));
        Assert.That(rom.Findings.Single(f => f.Id == "no-uefi").Severity, Is.EqualTo(Severity.Warning));
    }

    [TestCase(0x0B, 0x8664, 1)]
    [TestCase(0x0C, 0x8664, 0)]
    [TestCase(0x0B, 0x0EBC, 1)]
    public void Efi_drivers_ovmf_loads_make_the_rom_uefi_capable(int subsystem, int machine, int compression)
    {
        var bytes = new RomImageBuilder().Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi with { EfiSubsystem = subsystem, EfiMachine = machine, EfiCompression = compression }).Build();

        var rom = RomParser.Parse(bytes);

        Assert.That(rom.UefiCapable, Is.True);
        Assert.That(rom.UefiRefusal, Is.Null);
        Assert.That(rom.Findings, Is.Empty);
    }

    [Test]
    public void I_am_warned_when_a_rom_is_for_another_card_and_told_so_when_it_is_for_mine()
    {
        var rom = RomParser.Parse(RomImageBuilder.LegacyAndEfi(0x10de, 0x2204));
        var gpu = PciAddress.Parse("0000:03:00.0");

        var other = rom.DeviceIdsFinding(gpu, 0x1002, 0x744c);
        var mine = rom.DeviceIdsFinding(gpu, 0x10de, 0x2204);

        Assert.That((other.Id, other.Severity, other.Subject), Is.EqualTo(("device-ids", Severity.Warning, "0000:03:00.0")));
        Assert.That(other.Message, Does.Contain("10de:2204").And.Contain("0000:03:00.0 is 1002:744c"));
        Assert.That(other.Remedy, Does.Contain("passthrough rom dump"));
        Assert.That((mine.Severity, mine.Remedy), Is.EqualTo((Severity.Info, (string?)null)));
    }

    private static int CountSignatures(ReadOnlySpan<byte> bytes)
    {
        var count = 0;
        for (var i = 0; i + 1 < bytes.Length; i++)
        {
            count += bytes[i] == 0x55 && bytes[i + 1] == 0xAA ? 1 : 0;
        }

        return count;
    }
}
