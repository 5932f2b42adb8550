using NUnit.Framework;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Pci;

public class PciIdsDatabaseTests
{
    // The layout of the real file (see its header): vendors at column 0, devices after a tab,
    // subsystems after two tabs, comments, then the class list.
    private const string Ids = """
        # List of PCI ID's
        #
        # Syntax:
        # vendor  vendor_name
        #	device  device_name				<-- single tab
        #		subvendor subdevice  subsystem_name	<-- two tabs

        0e11  Compaq Computer Corporation
        	0001  PCI to EISA Bridge
        1002  Advanced Micro Devices, Inc. [AMD/ATI]
        	744c  Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]
        		1002 0e3b  RX 7900 GRE
        		1da2 471e  NITRO+ RX 7900 XTX Vapor-X
        # a comment inside a vendor block
        	ab30  Navi 31 HDMI/DP Audio
        10de  NVIDIA Corporation
        	1e84  TU104 [GeForce RTX 2070 SUPER]
        	0e3b  A device id that also appears as an AMD subsystem
        8086  Intel Corporation
        	3e98  CoffeeLake-S GT2 [UHD Graphics 630]
        ffff  Illegal Vendor ID

        # List of known device classes, subclasses and programming interfaces
        C 00  Unclassified device
        	00  Non-VGA unclassified device
        C 03  Display controller
        	00  VGA compatible controller

        """;

    private static PciIdsDatabase Db() => PciIdsDatabase.Parse(new StringReader(Ids));

    [TestCase(0x1002, "Advanced Micro Devices, Inc. [AMD/ATI]")]
    [TestCase(0x10de, "NVIDIA Corporation")]
    [TestCase(0x0e11, "Compaq Computer Corporation")]
    [TestCase(0xffff, "Illegal Vendor ID")]
    public void I_see_the_vendor_name(int vendor, string name) => Assert.That(Db().Vendor(vendor), Is.EqualTo(name));

    [TestCase(0x1002, 0x744c, "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]")]
    [TestCase(0x1002, 0xab30, "Navi 31 HDMI/DP Audio")]
    [TestCase(0x10de, 0x1e84, "TU104 [GeForce RTX 2070 SUPER]")]
    [TestCase(0x8086, 0x3e98, "CoffeeLake-S GT2 [UHD Graphics 630]")]
    public void I_see_the_device_name(int vendor, int device, string name) =>
        Assert.That(Db().Device(vendor, device), Is.EqualTo(name));

    [Test]
    public void A_device_is_looked_up_only_under_its_own_vendor()
    {
        var db = Db();

        Assert.That(db.Device(0x8086, 0x1e84), Is.Null, "1e84 is NVIDIA's, not Intel's");
        Assert.That(db.Device(0x1002, 0x0e3b), Is.Null, "0e3b is only an AMD subsystem line, not an AMD device");
        Assert.That(db.Device(0x10de, 0x0e3b), Is.EqualTo("A device id that also appears as an AMD subsystem"));
    }

    [Test]
    public void Unknown_ids_have_no_name_and_the_class_list_is_not_taken_for_vendors()
    {
        var db = Db();

        Assert.That(db.Vendor(0x1234), Is.Null);
        Assert.That(db.Device(0x1234, 0x1111), Is.Null);
        Assert.That(db.Device(0x1002, 0x1111), Is.Null);
        Assert.That(db.Device(0xffff, 0x0000), Is.Null, "the last vendor before the class list has no devices");
        Assert.That(db.Vendor(0x0003), Is.Null, "\"C 03\" is a class, not vendor 0003");
        Assert.That(PciIdsDatabase.Empty.Vendor(0x1002), Is.Null);
    }

    [Test]
    public void Every_name_in_the_systems_pci_ids_is_found_by_lookup()
    {
        var path = new[] { "/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids" }.FirstOrDefault(File.Exists);
        RealPart.Require(path is not null, "no pci.ids on this machine", "apt-get install -y pci.ids (tests/install-deps does)");

        // A straightforward line parser as the reference for the search-based lookup.
        var expectedVendors = new Dictionary<int, string>();
        var expectedDevices = new Dictionary<(int, int), string>();
        int? vendor = null;
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("C ", StringComparison.Ordinal))
            {
                break;
            }

            if (line.Length > 6 && line[0] != '#' && line[0] != '\t' && line[4] == ' ')
            {
                vendor = Convert.ToInt32(line[..4], 16);
                expectedVendors[vendor.Value] = line[4..].Trim();
            }
            else if (vendor is int v && line.Length > 7 && line[0] == '\t' && line[1] != '\t')
            {
                expectedDevices.TryAdd((v, Convert.ToInt32(line[1..5], 16)), line[5..].Trim());
            }
        }

        var db = PciIdsDatabase.FromBytes(File.ReadAllBytes(path));

        Assert.That(expectedDevices, Has.Count.GreaterThan(10_000));
        Assert.That(expectedVendors.Where(kv => db.Vendor(kv.Key) != kv.Value).Select(kv => kv.Key.ToString("x4")), Is.Empty);
        Assert.That(expectedDevices.Where(kv => db.Device(kv.Key.Item1, kv.Key.Item2) != kv.Value).Select(kv => $"{kv.Key.Item1:x4}:{kv.Key.Item2:x4}"), Is.Empty);
    }
}
