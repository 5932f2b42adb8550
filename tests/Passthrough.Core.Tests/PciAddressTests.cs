using NUnit.Framework;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Tests;

public class PciAddressTests
{
    [TestCase("0000:03:00.0", 0, 3, 0, 0)]
    [TestCase("03:00.1", 0, 3, 0, 1)]
    [TestCase("0001:c1:1f.7", 1, 0xc1, 0x1f, 7)]
    public void I_can_write_an_address_the_way_sysfs_and_lspci_do(string text, int domain, int bus, int device, int function)
    {
        var address = PciAddress.Parse(text);

        Assert.That(address, Is.EqualTo(new PciAddress(domain, bus, device, function)));
        Assert.That(PciAddress.Parse(address.ToString()), Is.EqualTo(address));
    }

    [TestCase("0000:03:00")]
    [TestCase("0000:03:20.0")]
    [TestCase("0000:03:00.8")]
    [TestCase("zz:00.0")]
    [TestCase("")]
    public void I_get_an_input_error_for_something_that_is_not_an_address(string text)
    {
        var error = Assert.Throws<PassthroughException>(() => PciAddress.Parse(text))!;

        Assert.That(error.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Remedy, Does.Contain("0000:03:00.0"));
    }

    [Test]
    public void I_can_give_a_slot_with_or_without_a_function()
    {
        Assert.That(PciSlot.ParseLenient("0000:03:00.1"), Is.EqualTo(new PciSlot(0, 3, 0)));
        Assert.That(PciSlot.ParseLenient("03:00"), Is.EqualTo(new PciSlot(0, 3, 0)));
        Assert.That(new PciSlot(0, 3, 0).ToString(), Is.EqualTo("0000:03:00"));
    }
}
