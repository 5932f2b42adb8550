using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Errors;

namespace Passthrough.Tests.Domain;

public class DiskSizeTests
{
    [TestCase("120G", "120G", 120L << 30)]
    [TestCase("120GiB", "120G", 120L << 30)]
    [TestCase("120gb", "120G", 120L << 30)]
    [TestCase(" 512MiB ", "512M", 512L << 20)]
    [TestCase("2T", "2T", 2L << 40)]
    [TestCase("65536k", "65536K", 64L << 20)]
    public void I_can_give_the_disk_size_the_way_i_give_memory_and_qemu_img_gets_its_own_form(string text, string argument, long bytes)
    {
        var size = DiskSize.Parse(text);

        Assert.That(size.QemuImgArgument, Is.EqualTo(argument));
        Assert.That(size.Bytes, Is.EqualTo(bytes));
    }

    [TestCase("")]
    [TestCase("0G")]
    [TestCase("120")]
    [TestCase("1.5T")]
    [TestCase("120GX")]
    [TestCase("120B")]
    [TestCase("99999999999T")]
    public void I_get_an_input_error_for_a_size_qemu_img_would_misread(string text)
    {
        var error = Assert.Throws<PassthroughException>(() => DiskSize.Parse(text))!;

        Assert.That(error.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.StartWith($"--disk ...,{text}:"));
    }

    [TestCase("/var/lib/libvirt/images/win11.qcow2", "qcow2")]
    [TestCase("/var/lib/libvirt/images/WIN11.QCOW2", "qcow2")]
    [TestCase("/var/lib/libvirt/images/win11.img", "raw")]
    [TestCase("/dev/zvol/tank/win11", "raw")]
    public void The_disk_format_follows_the_file_name(string path, string format) =>
        Assert.That(DomainTemplate.DiskFormat(path), Is.EqualTo(format));
}
