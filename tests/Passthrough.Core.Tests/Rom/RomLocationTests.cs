using NUnit.Framework;
using Passthrough.Rom;

namespace Passthrough.Tests.Rom;

public class RomLocationTests
{
    [TestCase("NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=44\n", DistributionFamily.Fedora, "/usr/share/qemu")]
    [TestCase("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", DistributionFamily.Fedora, "/usr/share/qemu")]
    [TestCase("ID=debian\nVERSION_CODENAME=bookworm\n", DistributionFamily.Debian, "/usr/share/kvm")]
    [TestCase("ID=ubuntu\nID_LIKE=debian\n", DistributionFamily.Debian, "/usr/share/kvm")]
    [TestCase("ID=arch\n", DistributionFamily.Arch, "/usr/share/qemu")]
    [TestCase("ID=endeavouros\nID_LIKE=arch\n", DistributionFamily.Arch, "/usr/share/qemu")]
    [TestCase("ID=nixos\n", DistributionFamily.Other, "/usr/share/qemu")]
    [TestCase(null, DistributionFamily.Other, "/usr/share/qemu")]
    public void I_get_a_directory_qemu_may_read_on_my_distribution(string? osRelease, DistributionFamily family, string directory)
    {
        var location = RomLocation.ForOsRelease(osRelease);

        Assert.That(location.Family, Is.EqualTo(family));
        Assert.That(location.Directory, Is.EqualTo(directory));
    }

    [TestCase("NAME=\"Fedora Linux\"\nID=fedora\nVARIANT_ID=silverblue\n")]
    [TestCase("NAME=\"Bazzite\"\nID=bazzite\nID_LIKE=\"fedora\"\nVARIANT_ID=bazzite-deck\n")]
    public void On_an_ostree_system_I_get_var_lib_libvirt_boot_because_usr_is_read_only(string osRelease)
    {
        var location = RomLocation.ForOsRelease(osRelease, ostreeBooted: true);

        Assert.That(location.Family, Is.EqualTo(DistributionFamily.Fedora));
        Assert.That(location.Directory, Is.EqualTo("/var/lib/libvirt/boot"));
        Assert.That(location.Why, Does.Contain("read-only").And.Contain("virt_content_t"));
        Assert.That(RomLocation.ForOsRelease(osRelease).Directory, Is.EqualTo("/usr/share/qemu"), "without /run/ostree-booted it is a classic install");
    }
}
