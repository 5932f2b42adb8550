using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Tests.Domain;

/// <summary>The typed hostdev and config model reads numbers as libvirt does and writes in libvirt's form, in place.</summary>
public class PciHostdevModelTests
{
    private static DomainDocument Domain(string address, string rest = "") => DomainDocument.Parse(
        $"""
        <domain type='kvm'>
          <name>vm</name>
          <devices>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source>
                <address {address}/>
              </source>{rest}
            </hostdev>
          </devices>
        </domain>
        """,
        "vm.xml");

    // virStrToLong_uip(text, NULL, 0): C strtoul base 0, nothing after the digits, no '-'.
    [TestCase("10", 10u)]
    [TestCase("0x0a", 10u)]
    [TestCase("0X0A", 10u)]
    [TestCase("012", 10u)]
    [TestCase("0", 0u)]
    [TestCase(" 7", 7u)]
    [TestCase("+3", 3u)]
    [TestCase("4294967295", uint.MaxValue)]
    public void I_get_the_number_libvirt_reads(string text, uint expected)
    {
        Assert.That(LibvirtPciAddress.TryParseNumber(text, out var value), Is.True);
        Assert.That(value, Is.EqualTo(expected));
    }

    [TestCase("08")]
    [TestCase("0x")]
    [TestCase("-1")]
    [TestCase("1 ")]
    [TestCase("")]
    [TestCase("zz")]
    [TestCase("4294967296")]
    public void I_get_no_number_where_libvirt_refuses_one(string text)
    {
        Assert.That(LibvirtPciAddress.TryParseNumber(text, out _), Is.False);
    }

    [Test]
    public void I_get_bus_slot_and_function_zero_for_missing_attributes_as_libvirt_does()
    {
        var hostdev = Domain("slot='0x03'").PciHostdevs.Single();

        Assert.That(hostdev.Source, Is.EqualTo(new PciAddress(0, 0, 3, 0)));
    }

    [TestCase("bus='0x100' slot='0'", "hostdev address bus='0x100' is out of range")]
    [TestCase("bus='1' slot='32'", "hostdev address slot='32' is out of range")]
    [TestCase("bus='1' slot='0' function='8'", "hostdev address function='8' is out of range")]
    [TestCase("bus='09' slot='0'", "hostdev address bus='09' is not a number")]
    public void I_get_the_file_and_line_of_an_address_libvirt_would_refuse(string address, string message)
    {
        var domain = Domain(address);

        var error = Assert.Throws<PassthroughException>(() => _ = domain.PciHostdevs.Single().Source);

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.StartWith($"vm.xml:6: {message}"));
        Assert.That(error.Remedy, Does.Contain("bus='0x03'"));
    }

    [Test]
    public void I_can_set_every_property_and_only_those_attributes_change_in_libvirts_form()
    {
        var domain = Domain("domain='0' bus='10' slot='0' function='0'");
        var hostdev = domain.PciHostdevs.Single();

        hostdev.Managed = false;
        hostdev.RomBar = false;
        hostdev.RomFile = "/usr/share/vgabios/gpu.rom";
        hostdev.Source = new PciAddress(0, 0x0b, 0, 1);
        hostdev.Guest = new GuestPciAddress(0, 5, 0, 0, true);

        Assert.That(domain.Save(), Is.EqualTo("""
            <domain type='kvm'>
              <name>vm</name>
              <devices>
                <hostdev mode='subsystem' type='pci' managed='no'>
                  <source>
                    <address domain='0x0000' bus='0x0b' slot='0x00' function='0x1'/>
                  </source>
                  <rom bar='off' file='/usr/share/vgabios/gpu.rom'/>
                  <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0' multifunction='on'/>
                </hostdev>
              </devices>
            </domain>
            """));
        var again = DomainDocument.Parse(domain.Save(), "vm.xml").PciHostdevs.Single();
        Assert.That((again.Managed, again.RomBar, again.RomFile, again.Source, again.Guest), Is.EqualTo((false, (bool?)false, "/usr/share/vgabios/gpu.rom", new PciAddress(0, 0x0b, 0, 1), (GuestPciAddress?)new GuestPciAddress(0, 5, 0, 0, true))));
    }

    [Test]
    public void I_can_read_and_set_the_mode_of_our_metadata_with_one_spelling()
    {
        var domain = DomainDocument.Parse(
            "<domain><name>vm</name><metadata><passthrough:config xmlns:passthrough='urn:passthrough:1' mode='dynamic'/></metadata></domain>",
            "vm.xml");
        var config = domain.PassthroughConfig!;

        Assert.That(config.Mode, Is.EqualTo(PassthroughMode.Dynamic));
        config.Mode = PassthroughMode.SingleGpu;

        Assert.That(domain.Save(), Does.Contain("mode='single-gpu'"));
        Assert.That(Enum.GetValues<PassthroughMode>().Select(m => PassthroughModes.ParseOrNull(m.Name())), Is.EqualTo(Enum.GetValues<PassthroughMode>().Cast<PassthroughMode?>()));
    }
}
