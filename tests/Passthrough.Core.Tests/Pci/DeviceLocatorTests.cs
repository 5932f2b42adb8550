using NUnit.Framework;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Tests.Pci;

/// <summary>Finding a recorded function after bus numbers moved: the path below the root port tells identical cards apart.</summary>
public class DeviceLocatorTests
{
    private static PciFunction Gpu(string address, params string[] bridges) => new()
    {
        Address = PciAddress.Parse(address),
        VendorId = 0x10de,
        DeviceId = 0x2684,
        SubsystemVendorId = 0x1462,
        SubsystemDeviceId = 0x510b,
        UpstreamBridges = [.. bridges.Select(b => new UpstreamBridge(PciAddress.Parse(b), null))],
    };

    private static HostInventory Host(params PciFunction[] functions) => new(functions, [], new HostFacts());

    private static readonly DeviceIdentity Recorded = DeviceIdentity.Of(Gpu("0000:01:00.0", "0000:00:01.0"))!;

    [Test]
    public void The_identity_is_the_ids_the_subsystem_and_the_device_function_path_below_the_root_port()
    {
        var identity = DeviceIdentity.Of(Gpu("0000:05:00.0", "0000:00:01.1", "0000:03:00.0", "0000:04:00.0"))!;

        Assert.That(identity, Is.EqualTo(new DeviceIdentity("10de:2684", "1462:510b", "0000:00:01.1/00.0/00.0/00.0")), "root port, switch up, switch down, the GPU");
    }

    [Test]
    public void Of_two_identical_cards_the_one_below_the_recorded_root_port_is_the_vms()
    {
        var host = Host(Gpu("0000:02:00.0", "0000:00:01.0"), Gpu("0000:03:00.0", "0000:00:1c.0"));

        var location = DeviceLocator.Locate(PciAddress.Parse("0000:01:00.0"), Recorded, host);

        Assert.That(location.Whereabouts, Is.EqualTo(DeviceWhereabouts.Moved));
        Assert.That(location.Found, Is.EqualTo(PciAddress.Parse("0000:02:00.0")));
    }

    [Test]
    public void A_card_at_its_address_whose_path_changed_is_in_place()
    {
        var location = DeviceLocator.Locate(PciAddress.Parse("0000:01:00.0"), Recorded, Host(Gpu("0000:01:00.0", "0000:00:01.2")));

        Assert.That(location.Whereabouts, Is.EqualTo(DeviceWhereabouts.InPlace));
    }

    [Test]
    public void Two_identical_cards_elsewhere_are_ambiguous_and_none_is_gone()
    {
        var ambiguous = DeviceLocator.Locate(PciAddress.Parse("0000:01:00.0"), Recorded, Host(Gpu("0000:02:00.0", "0000:00:01.1"), Gpu("0000:03:00.0", "0000:00:1c.0")));
        var gone = DeviceLocator.Locate(PciAddress.Parse("0000:01:00.0"), Recorded, Host());

        Assert.That(ambiguous.Whereabouts, Is.EqualTo(DeviceWhereabouts.Ambiguous));
        Assert.That(ambiguous.Candidates, Has.Count.EqualTo(2));
        Assert.That(gone.Whereabouts, Is.EqualTo(DeviceWhereabouts.Gone));
        Assert.That(gone.Describe(), Is.EqualTo("0000:01:00.0 (10de:2684) is gone (0000:01:00.0 now holds nothing): no function has its ids"));
    }
}
