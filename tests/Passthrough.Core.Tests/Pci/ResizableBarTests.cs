using NUnit.Framework;
using Passthrough.Pci;

namespace Passthrough.Tests.Pci;

public class ResizableBarTests
{
    /// <summary>Config space with a PCIe capability at 0x40 and the ReBAR capability at 0x100 (as seed 003's RX 7900 XTX shows).</summary>
    private static PciConfigSpace Config(uint capability, uint control)
    {
        var bytes = new byte[4096];
        bytes[0x06] = 0x10;                  // capability list
        bytes[0x34] = 0x40;
        bytes[0x40] = 0x10;                  // PCI Express capability, last
        BitConverter.GetBytes(0x00010015u).CopyTo(bytes, 0x100);
        BitConverter.GetBytes(capability).CopyTo(bytes, 0x104);
        BitConverter.GetBytes(control).CopyTo(bytes, 0x108);
        return new PciConfigSpace(bytes);
    }

    [Test]
    public void I_read_bar_0_at_256_mib_offering_1_mib_to_8_gib_as_lspci_does()
    {
        var bars = ResizableBar.FromConfig(Config(0x0003fff0, 0x00000820))!;

        Assert.That(bars.Single().Index, Is.EqualTo(0));
        Assert.That(bars.Single().Current, Is.EqualTo(256L << 20));
        Assert.That(bars.Single().Supported, Is.EqualTo(Enumerable.Range(20, 14).Select(b => 1L << b)));
    }

    [Test]
    public void I_get_unknown_not_none_when_only_64_bytes_of_config_were_readable()
    {
        Assert.That(ResizableBar.FromConfig(new PciConfigSpace(new byte[64])), Is.Null);
    }

    [TestCase("8GiB", 8L << 30)]
    [TestCase("8G", 8L << 30)]
    [TestCase("256MiB", 256L << 20)]
    [TestCase("256mb", 256L << 20)]
    [TestCase("1TiB", 1L << 40)]
    public void I_can_write_a_bar_size_the_usual_ways(string text, long bytes) =>
        Assert.That(ResizableBar.ParseSize(text), Is.EqualTo(bytes));

    [TestCase("3GiB")]
    [TestCase("0G")]
    [TestCase("512KiB")]
    [TestCase("8")]
    [TestCase("eight GiB")]
    [TestCase("")]
    public void A_size_that_is_not_a_power_of_two_of_at_least_1_mib_is_not_a_bar_size(string text) =>
        Assert.That(ResizableBar.ParseSize(text), Is.Null);

    [Test]
    public void The_kernel_gets_the_encoded_size_13_for_8_gib() =>
        Assert.That(ResizableBar.EncodingOf(8L << 30), Is.EqualTo(13));

    [Test]
    public void I_read_a_bar_in_one_line_with_its_offered_sizes_as_a_range()
    {
        Assert.That(new ResizableBar(0, 32L << 30, ResizableBar.SizesOfMask(0xff00)).Summary(), Is.EqualTo("BAR 0: 32 GiB now, offers 256 MiB-32 GiB"));
        Assert.That(new ResizableBar(2, null, [256L << 20, 8L << 30]).Summary(), Is.EqualTo("BAR 2: size unknown, offers 256 MiB, 8 GiB"), "not a doubling run: each size");
    }
}
