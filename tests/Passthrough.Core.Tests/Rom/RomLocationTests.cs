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
}
