using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>rom inspect, fix, dump and install through the native binary, same as in-process.</summary>
[Parallelizable(ParallelScope.All)]
public class RomTests
{
    public static IEnumerable<TestCaseData> Roms()
    {
        yield return new TestCaseData("legacy-and-efi", RomImageBuilder.LegacyAndEfi(0x10de, 0x1e84)).SetArgDisplayNames("legacy and EFI");
        yield return new TestCaseData("legacy-only", RomImageBuilder.LegacyOnly()).SetArgDisplayNames("legacy only");
        yield return new TestCaseData("with-header", RomImageBuilder.WithVendorHeader()).SetArgDisplayNames("behind a vendor header");
        yield return new TestCaseData("junk", Enumerable.Repeat((byte)0xFF, 4096).ToArray()).SetArgDisplayNames("not a ROM");
    }

    [TestCaseSource(nameof(Roms))]
    public void I_get_the_same_rom_inspection_from_the_native_binary(string name, byte[] bytes)
    {
        using var dir = new TempDirectory("passthrough-native-rom");
        var file = dir.Combine(name + ".rom");
        File.WriteAllBytes(file, bytes);

        var text = NativeBinary.AssertSameAsInProcess("rom", "inspect", file);
        var json = NativeBinary.AssertSameAsInProcess("rom", "inspect", file, "--json");
        var slot = NativeBinary.AssertSameAsInProcess("--root", Session.Workstation, "rom", "inspect", file, "--slot", "0000:01:00");

        Assert.That(text.ExitCode, Is.AnyOf(0, 1, 2), text.ToString());
        Assert.That(text.Stdout + text.Stderr, Does.Contain(file));
        Assert.That(json.ExitCode, Is.EqualTo(text.ExitCode));
        Assert.That(slot.ExitCode, Is.AnyOf(0, 1, 2), slot.ToString());
    }

    [Test]
    public void I_can_fix_a_rom_with_the_native_binary_and_get_the_same_bytes_as_in_process()
    {
        using var dir = new TempDirectory("passthrough-native-rom");
        var input = dir.Combine("download.rom");
        File.WriteAllBytes(input, RomImageBuilder.WithVendorHeader(0x21C));

        var native = NativeBinary.Run("rom", "fix", input, "-o", dir.Combine("native.rom"));
        var inProcess = NativeBinary.InProcess(null, "rom", "fix", input, "-o", dir.Combine("in-process.rom"));
        var inspect = NativeBinary.Run("rom", "inspect", dir.Combine("native.rom"));

        Assert.That(native.ExitCode, Is.Zero, native.ToString());
        NativeBinary.AssertSame(native, inProcess with { Stdout = inProcess.Stdout.Replace("in-process.rom", "native.rom", StringComparison.Ordinal) }, "rom fix");
        Assert.That(File.ReadAllBytes(dir.Combine("native.rom")), Is.EqualTo(File.ReadAllBytes(dir.Combine("in-process.rom"))));
        Assert.That(File.ReadAllBytes(dir.Combine("native.rom")), Is.EqualTo(File.ReadAllBytes(input)[0x21C..]), "only the header is gone");
        Assert.That(inspect.ExitCode, Is.Zero, "the fixed ROM inspects clean: " + inspect);
    }

    [Test]
    public void I_can_dump_a_gpus_rom_from_a_host_tree_with_the_native_binary()
    {
        using var dir = new TempDirectory("passthrough-native-rom");
        var image = RomImageBuilder.LegacyAndEfi();
        var root = new HostTreeBuilder()
            .Amd()
            .Function("0000:03:00.0", "1002:744c", 0x030000, group: 19, rom: true)
            .Function("0000:03:00.1", "1002:ab30", 0x040300, group: 20)
            .Bytes("/sys/devices/pci0000:03/0000:03:00.0/rom", image)
            .WriteTo(dir.Combine("host"));

        var result = NativeBinary.Run("--root", root, "rom", "dump", "0000:03:00", "-o", dir.Combine("dumped.rom"));

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(File.ReadAllBytes(dir.Combine("dumped.rom")), Is.EqualTo(image));
        Assert.That(result.Stdout, Does.Contain($"{image.Length} bytes read from 0000:03:00.0").And.Contain("UEFI capable: yes"));
    }

    [Test]
    public void I_can_install_a_rom_under_a_root_with_the_native_binary()
    {
        using var dir = new TempDirectory("passthrough-native-rom");
        var root = dir.Combine("root");
        Directory.CreateDirectory(Path.Join(root, "etc"));
        File.WriteAllText(Path.Join(root, "etc", "os-release"), "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\n");
        var rom = dir.Combine("gpu.rom");
        File.WriteAllBytes(rom, RomImageBuilder.LegacyAndEfi());

        var result = NativeBinary.Run("--root", root, "rom", "install", rom, "--name", "navi31.rom");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(File.ReadAllBytes(Path.Join(root, "usr", "share", "kvm", "navi31.rom")), Is.EqualTo(File.ReadAllBytes(rom)));
        Assert.That(result.Stdout, Does.Contain("<rom file='/usr/share/kvm/navi31.rom'/>"));
    }
}
