using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using NUnit.Framework;
using Passthrough.Rom;
using Passthrough.Testing;

namespace Passthrough.Tests.Rom;

/// <summary>
/// Our ROM parser compared with a MODEL of awilliam/rom-parser (the tool the Proxmox wiki and the
/// Arch wiki tell users to run), not with the tool itself: no distribution packages it, so
/// <see cref="RomParserBehaviour"/> models what its rom-parser.c prints, written from reading that
/// source: scan from offset 0 in 512-byte steps for 0x55AA, print the PCIR fields,
/// step another 512 bytes after every image that is not marked last, and give up with
/// "Error, ran off the end" at the end of the file. We must print the same facts where it is right,
/// and find the images it cannot (a header before the first image, not 512-aligned). The model itself
/// is checked against the one transcript of the real tool we have (the wiki's).
/// </summary>
public class RomParserModelComparisonTests
{
    /// <summary>The image the Proxmox wiki (seed 002) shows rom-parser's output for.</summary>
    private static byte[] WikiExample() => new RomImageBuilder()
        .Add(RomImageSpec.Legacy with { VendorId = 0x10de, DeviceId = 0x1280, Blocks = 0xF400 / 512, PcirRevision = 0, CodeRevision = 1 })
        .Add(RomImageSpec.Efi with { VendorId = 0x10de, DeviceId = 0x1280, PcirOffset = 0x1C, PcirRevision = 3, CodeRevision = 0 })
        .Build();

    [Test]
    public void The_model_prints_what_the_wiki_shows_rom_parser_printing()
    {
        // Seed 002's transcript, in the format of rom-parser's current source (it adds the code type
        // name, and the EFI subsystem and machine, to the lines the wiki quotes).
        var expected = """
            Valid ROM signature found @0h, PCIR offset 190h
            	PCIR: type 0 (x86 PC-AT), vendor: 10de, device: 1280, class: 030000
            	PCIR: revision 0, vendor revision: 1
            Valid ROM signature found @f400h, PCIR offset 1ch
            	PCIR: type 3 (EFI), vendor: 10de, device: 1280, class: 030000
            	PCIR: revision 3, vendor revision: 0
            		EFI: Signature Valid, Subsystem: Boot, Machine: X64
            	Last image
            """;

        Assert.That(RomParserBehaviour.Run(WikiExample()), Is.EqualTo(expected));
    }

    public static IEnumerable<TestCaseData> RomsBothRead()
    {
        yield return new TestCaseData(WikiExample()).SetArgDisplayNames("wiki example (legacy + EFI)");
        yield return new TestCaseData(RomImageBuilder.LegacyOnly()).SetArgDisplayNames("legacy only");
        yield return new TestCaseData(RomImageBuilder.LegacyAndEfi()).SetArgDisplayNames("legacy + EFI");
        yield return new TestCaseData(RomImageBuilder.LegacyAndEfi(0x10de, 0x2204)).SetArgDisplayNames("other ids");
        yield return new TestCaseData(new RomImageBuilder().Add(RomImageSpec.Legacy with { GoodChecksum = false }).Add(RomImageSpec.Efi).Build()).SetArgDisplayNames("bad checksum");
        yield return new TestCaseData(new RomImageBuilder().Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi with { EfiSignature = false }).Build()).SetArgDisplayNames("EFI without signature");
        yield return new TestCaseData(new RomImageBuilder().Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi with { EfiMachine = 0xAA64, EfiSubsystem = 0x0C }).Build()).SetArgDisplayNames("AArch64 runtime driver");
        yield return new TestCaseData(new RomImageBuilder().Add(RomImageSpec.Legacy with { ClassCode = 0x038000 }).Add(RomImageSpec.Efi with { ClassCode = 0x038000 }).Build()).SetArgDisplayNames("display controller class");
    }

    [TestCaseSource(nameof(RomsBothRead))]
    public void We_report_the_same_images_as_the_rom_parser_model(byte[] bytes)
    {
        var ours = RomParserBehaviour.Render(RomParser.Parse(bytes));

        Assert.That(ours, Is.EqualTo(RomParserBehaviour.Run(bytes)));
    }

    [TestCase(0x21C)]
    [TestCase(0x400 + 0x1C)]
    public void We_find_the_images_after_a_header_where_the_rom_parser_model_runs_off_the_end(int header)
    {
        var bytes = RomImageBuilder.WithVendorHeader(header);

        var theirs = RomParserBehaviour.Run(bytes);
        var rom = RomParser.Parse(bytes);

        Assert.That(theirs, Is.EqualTo("Error, ran off the end"), "rom-parser only looks at 512-byte boundaries");
        Assert.That(rom.HeaderBytes, Is.EqualTo(header));
        Assert.That(rom.Images.Select(i => i.CodeType), Is.EqualTo(new[] { RomCodeType.X86, RomCodeType.Efi }));
        Assert.That(rom.UefiCapable, Is.True);

        // Once the header is cut off (what `rom fix` writes), both agree.
        var fixedBytes = bytes[header..];
        Assert.That(RomParserBehaviour.Render(RomParser.Parse(fixedBytes)), Is.EqualTo(RomParserBehaviour.Run(fixedBytes)));
    }

    [TestCase(0x400)]
    [TestCase(200 * 1024)]
    public void The_rom_parser_model_reads_a_headered_rom_when_the_header_is_a_multiple_of_512_bytes(int header)
    {
        // Issue 18: rom-parser runs off the end only when the header is not a multiple of 512 bytes;
        // the header must still go, as OVMF reads an option ROM only with 0x55AA at offset 0.
        var bytes = RomImageBuilder.WithVendorHeader(header);

        var theirs = RomParserBehaviour.Run(bytes);
        var rom = RomParser.Parse(bytes);

        Assert.That(theirs, Does.StartWith(string.Create(CultureInfo.InvariantCulture, $"Valid ROM signature found @{header:x}h")));
        Assert.That(RomParserBehaviour.Render(rom), Is.EqualTo(theirs));
        Assert.That(rom.Findings.Single(f => f.Id == "header").Remedy, Does.Contain("rom fix"));
    }

    [Test]
    public void We_are_not_fooled_by_a_signature_at_a_512_byte_boundary_inside_an_image_where_the_model_is()
    {
        var bytes = RomImageBuilder.LegacyAndEfi();
        var delta = 0x55 - bytes[0x200] + 0xAA - bytes[0x201];
        bytes[0x200] = 0x55;
        bytes[0x201] = 0xAA;
        bytes[32767] = (byte)(bytes[32767] - delta); // keep the legacy checksum right

        var rom = RomParser.Parse(bytes);

        Assert.That(rom.Images.Select(i => i.Offset), Is.EqualTo(new[] { 0, 32768 }));
        Assert.That(rom.Images[0].ChecksumOk, Is.True);
        Assert.That(RomParserBehaviour.Run(bytes), Does.Contain("Valid ROM signature found @200h").And.Contain("Invalid PCIR signature"), "rom-parser steps 512 bytes, not the image length");
    }
}

/// <summary>What rom-parser.c prints, modelled from its source; and our parse rendered the same way.</summary>
internal static class RomParserBehaviour
{
    public static string Run(byte[] rom)
    {
        var lines = new List<string>();
        var offset = 0;
        while (true)
        {
            if (offset >= rom.Length)
            {
                lines.Add("Error, ran off the end");
                break;
            }

            if (rom[offset] != 0x55 || offset + 1 >= rom.Length || rom[offset + 1] != 0xAA)
            {
                offset += 512;
                continue;
            }

            var pcirOffset = U16(rom, offset + 0x18);
            lines.Add(Format($"Valid ROM signature found @{offset:x}h, PCIR offset {pcirOffset:x}h"));
            var p = offset + pcirOffset;
            if (Encoding.ASCII.GetString(rom, p, 4) != "PCIR")
            {
                lines.Add("Invalid PCIR signature: " + Encoding.ASCII.GetString(rom, p, 4));
                break;
            }

            var type = rom[p + 0x14];
            var efi = type == 3 ? (U32(rom, offset + 4) == 0x0EF1, U16(rom, offset + 8), U16(rom, offset + 10)) : ((bool, int, int)?)null;
            lines.AddRange(ImageLines(type, U16(rom, p + 4), U16(rom, p + 6), rom[p + 0x0F], rom[p + 0x0E], rom[p + 0x0D], rom[p + 0x0C], U16(rom, p + 0x12), efi));
            if (rom[p + 0x15] == 0)
            {
                offset += 512;
                continue;
            }

            lines.Add("\tLast image");
            break;
        }

        return string.Join('\n', lines);
    }

    /// <summary>Our parse, printed in rom-parser's words.</summary>
    public static string Render(VbiosImage rom)
    {
        var lines = new List<string>();
        foreach (var image in rom.Images)
        {
            lines.Add(Format($"Valid ROM signature found @{image.Offset:x}h, PCIR offset {image.PcirOffset:x}h"));
            var efi = image.Efi is { } e ? (e.SignatureValid, e.Subsystem, e.MachineType) : ((bool, int, int)?)null;
            lines.AddRange(ImageLines((int)image.CodeType, image.VendorId, image.DeviceId, image.ClassCode >> 16, (image.ClassCode >> 8) & 0xFF, image.ClassCode & 0xFF, image.PcirRevision, image.CodeRevision, efi));
            if (image.Last)
            {
                lines.Add("\tLast image");
            }
        }

        return string.Join('\n', lines);
    }

    private static IEnumerable<string> ImageLines(int type, int vendor, int device, int baseClass, int subClass, int progIf, int revision, int codeRevision, (bool Valid, int Subsystem, int Machine)? efi)
    {
        var name = type == 0 ? " (x86 PC-AT)" : type == 3 ? " (EFI)" : string.Empty;
        yield return Format($"\tPCIR: type {type:x}{name}, vendor: {vendor:x4}, device: {device:x4}, class: {baseClass:x2}{subClass:x2}{progIf:x2}");
        yield return Format($"\tPCIR: revision {revision:x}, vendor revision: {codeRevision:x}");
        if (efi is { } e)
        {
            var line = "\t\tEFI: Signature " + (e.Valid ? "Valid" : "NOT Valid");
            if (e.Valid)
            {
                var subsystem = e.Subsystem switch { 0xB => "Boot", 0xC => "Runtime", _ => Format($"Unknown ({e.Subsystem:x})") };
                var machine = e.Machine switch
                {
                    0x014C => "IA-32",
                    0x0200 => "Itanium",
                    0x0EBC => "EFI Byte Code",
                    0x8664 => "X64",
                    0x01C2 => "ARM",
                    0xAA64 => "ARM 64-bit",
                    _ => Format($"Unknown ({e.Machine:x})"),
                };
                line += $", Subsystem: {subsystem}, Machine: {machine}";
            }

            yield return line;
        }
    }

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static int U16(byte[] rom, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(rom.AsSpan(offset));

    private static uint U32(byte[] rom, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(rom.AsSpan(offset));
}
