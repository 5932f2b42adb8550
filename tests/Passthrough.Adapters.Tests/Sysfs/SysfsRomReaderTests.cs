using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Sysfs;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Sysfs;

public class SysfsRomReaderTests
{
    private static readonly PciAddress Gpu = PciAddress.Parse("0000:03:00.0");

    [Test]
    public void I_get_the_rom_and_it_is_disabled_again_after_reading()
    {
        using var root = Tree(withRom: true);
        var rom = new RecordingRomFileFake(RomImageBuilder.LegacyAndEfi());

        var bytes = new SysfsRomReader(new HostRoot(root.Path), rom, toggle: true).Read(Gpu);

        Assert.That(bytes, Is.EqualTo(RomImageBuilder.LegacyAndEfi()));
        Assert.That(rom.Log, Is.EqualTo(new[] { "write 1", "read", "write 0" }));
        Assert.That(rom.Paths.Distinct().Single(), Does.EndWith("/sys/bus/pci/devices/0000:03:00.0/rom"));
    }

    [Test]
    public void When_the_kernel_returns_an_io_error_I_am_told_why_and_the_rom_is_disabled_again()
    {
        using var root = Tree(withRom: true);
        var rom = new EioRomFileFake();

        var e = Assert.Throws<PassthroughException>(() => new SysfsRomReader(new HostRoot(root.Path), rom, toggle: true).Read(Gpu));

        Assert.That(rom.Log, Is.EqualTo(new[] { "write 1", "read", "write 0" }), "disabled again after the failed read");
        Assert.That(e!.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(e.Message, Does.Contain("I/O error").And.Contain("0000:03:00.0").And.Contain("boot display"));
        Assert.That(e.Remedy, Does.Contain("secondary slot").And.Contain("download the ROM"));
    }

    [Test]
    public void A_captured_trees_rom_file_is_read_without_writing_into_it()
    {
        using var root = Tree(withRom: true);
        var image = RomImageBuilder.LegacyOnly();
        var romPath = root.Combine("sys/bus/pci/devices/0000:03:00.0/rom");
        File.WriteAllBytes(romPath, image);

        var bytes = new SysfsRomReader(new HostRoot(root.Path)).Read(Gpu);

        Assert.That(bytes, Is.EqualTo(image));
        Assert.That(File.ReadAllBytes(romPath), Is.EqualTo(image));
    }

    [Test]
    public void I_get_clear_errors_for_a_missing_device_or_a_device_without_a_rom()
    {
        using var root = Tree(withRom: false);
        var reader = new SysfsRomReader(new HostRoot(root.Path));

        var missing = Assert.Throws<PassthroughException>(() => reader.Read(PciAddress.Parse("0000:09:00.0")));
        var noRom = Assert.Throws<PassthroughException>(() => reader.Read(Gpu));

        Assert.That(missing!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(missing.Message, Does.Contain("No PCI device 0000:09:00.0"));
        Assert.That(noRom!.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(noRom.Message, Does.Contain("has no expansion ROM"));
    }

    private static TempDirectory Tree(bool withRom)
    {
        var root = new TempDirectory("rom-reader");
        var device = root.Combine("sys/bus/pci/devices/0000:03:00.0");
        Directory.CreateDirectory(device);
        if (withRom)
        {
            File.WriteAllBytes(Path.Join(device, "rom"), []);
        }

        return root;
    }

    /// <summary>Serves bytes like the kernel does once the ROM is enabled, and records every access.</summary>
    private class RecordingRomFileFake(byte[] image) : IRomFileAccess
    {
        public List<string> Log { get; } = [];

        public List<string> Paths { get; } = [];

        public void WriteFlag(string path, string flag)
        {
            Log.Add("write " + flag);
            Paths.Add(path);
        }

        public virtual byte[] ReadAll(string path, int max)
        {
            Log.Add("read");
            Paths.Add(path);
            return image;
        }
    }

    /// <summary>The kernel's answer for a shadowed boot-display ROM: read(2) fails with EIO.</summary>
    private sealed class EioRomFileFake() : RecordingRomFileFake([])
    {
        public override byte[] ReadAll(string path, int max)
        {
            base.ReadAll(path, max);
            throw new IOException("Input/output error : '" + path + "'", 5);
        }
    }
}
