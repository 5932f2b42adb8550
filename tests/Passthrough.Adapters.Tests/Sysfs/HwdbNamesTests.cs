using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Sysfs;
using Passthrough.Testing;

namespace Passthrough.Tests.Sysfs;

/// <summary>Names from udev's hwdb, through libsystemd, for ids the distribution's pci.ids lacks.</summary>
public class HwdbNamesTests
{
    private static HwdbNames OpenSystemHwdb()
    {
        var path = HwdbNames.Paths.FirstOrDefault(File.Exists);
        RealPart.Require(path is not null, "no hwdb.bin on this machine", "apt-get install -y udev (tests/install-deps does)");

        return HwdbNames.Open(path) ?? throw new AssertionException($"libsystemd could not open {path}");
    }

    [Test]
    public void I_get_vendor_and_device_names_from_the_hwdb()
    {
        using var hwdb = OpenSystemHwdb();

        Assert.That(hwdb.Vendor(0x1002), Is.EqualTo("Advanced Micro Devices, Inc. [AMD/ATI]"));
        Assert.That(hwdb.Vendor(0x10de), Is.EqualTo("NVIDIA Corporation"));
        Assert.That(hwdb.Device(0x10de, 0x1e84), Is.EqualTo("TU104 [GeForce RTX 2070 SUPER]"));
    }

    [Test]
    public void Unknown_ids_have_no_name()
    {
        using var hwdb = OpenSystemHwdb();

        Assert.That(hwdb.Vendor(0xfff0), Is.Null);
        Assert.That(hwdb.Device(0x10de, 0xfff0), Is.Null);
    }

    [Test]
    public void A_missing_or_foreign_database_file_gives_no_database()
    {
        using var dir = new TempDirectory();
        var notHwdb = dir.Combine("hwdb.bin");
        File.WriteAllText(notHwdb, "not a hardware database");

        Assert.That(HwdbNames.Open(dir.Combine("missing.bin")), Is.Null);
        Assert.That(HwdbNames.Open(notHwdb), Is.Null);
    }

    [Test]
    public void A_name_missing_from_pci_ids_comes_from_the_hwdb_as_lspci_shows_it()
    {
        using var probe = OpenSystemHwdb();
        using var dir = new TempDirectory();
        // An empty pci.ids in the root: every name must then come from the hwdb.
        var root = new HostTreeBuilder()
            .Function("0000:01:00.0", "10de:1e84", 0x030000, group: 1)
            .File("/usr/share/misc/pci.ids", "# empty\n")
            .WriteTo(dir.Combine("root"));

        var inventory = new SysfsHostReader(HostRoot.Open(root)).Read();

        Assert.That(inventory.Functions.Single().VendorName, Is.EqualTo("NVIDIA Corporation"));
        Assert.That(inventory.Functions.Single().DeviceName, Is.EqualTo("TU104 [GeForce RTX 2070 SUPER]"));
    }
}
