using NUnit.Framework;
using Passthrough.Errors;
using Passthrough.Rom;
using Passthrough.Testing;

namespace Passthrough.Tests.Rom;

/// <summary>The rules of `rom install`, without a file system: where it goes and whether it may.</summary>
public class RomInstallPlanTests
{
    private static readonly RomLocation Debian = RomLocation.ForOsRelease("ID=debian\n");

    [Test]
    public void I_get_the_rom_under_the_distributions_directory_by_its_own_name_or_mine()
    {
        var rom = RomParser.Parse(RomImageBuilder.LegacyAndEfi());

        Assert.That(RomInstallPlan.TargetPath("/home/me/gpu.rom", rom, Debian, null, null), Is.EqualTo(Path.Join(Debian.Directory, "gpu.rom")));
        Assert.That(RomInstallPlan.TargetPath("/home/me/gpu.rom", rom, Debian, "/usr/share/qemu", "rx7900.rom"), Is.EqualTo("/usr/share/qemu/rx7900.rom"));
    }

    [TestCase("sub/dir.rom")]
    [TestCase("..")]
    [TestCase("it's.rom")]
    public void I_get_an_input_error_for_a_name_that_is_not_a_plain_file_name(string name)
    {
        var rom = RomParser.Parse(RomImageBuilder.LegacyAndEfi());

        var error = Assert.Throws<PassthroughException>(() => RomInstallPlan.TargetPath("/home/me/gpu.rom", rom, Debian, null, name))!;

        Assert.That(error.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.Contain("cannot be a ROM file name"));
    }

    [Test]
    public void I_get_a_rom_with_a_header_or_a_relative_directory_refused()
    {
        var withHeader = RomParser.Parse(RomImageBuilder.WithVendorHeader());
        var rom = RomParser.Parse(RomImageBuilder.LegacyAndEfi());

        Assert.That(() => RomInstallPlan.TargetPath("gpu.rom", withHeader, Debian, null, null), Throws.TypeOf<PassthroughException>().With.Message.Contains("-byte header before the first image"));
        Assert.That(() => RomInstallPlan.TargetPath("gpu.rom", rom, Debian, "roms", null), Throws.TypeOf<PassthroughException>().With.Message.Contains("give an absolute directory"));
    }

    [Test]
    public void I_replace_a_different_rom_only_with_force_and_keep_the_old_one()
    {
        Assert.That(RomInstallPlan.For("/usr/share/kvm/a.rom", InstalledRom.None, force: false), Is.EqualTo(new RomInstallPlan("/usr/share/kvm/a.rom", RomInstallAction.Write, KeepBackup: false)));
        Assert.That(RomInstallPlan.For("/usr/share/kvm/a.rom", InstalledRom.SameContent, force: false).Action, Is.EqualTo(RomInstallAction.AlreadyInstalled));
        Assert.That(RomInstallPlan.For("/usr/share/kvm/a.rom", InstalledRom.DifferentContent, force: true), Is.EqualTo(new RomInstallPlan("/usr/share/kvm/a.rom", RomInstallAction.Write, KeepBackup: true)));
        Assert.That(() => RomInstallPlan.For("/usr/share/kvm/a.rom", InstalledRom.DifferentContent, force: false), Throws.TypeOf<PassthroughException>().With.Message.EqualTo("/usr/share/kvm/a.rom exists with different content."));
    }
}
