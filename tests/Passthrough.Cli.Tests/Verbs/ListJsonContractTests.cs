using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Verbs;

/// <summary>The JSON shapes of issue 2, which other tools and our tests read: keys, order, types, formats.</summary>
public class ListJsonContractTests
{
    private static readonly string[] DeviceKeys =
    [
        "address", "vendorId", "deviceId", "subsystemVendorId", "subsystemDeviceId", "classCode", "vendorName", "deviceName",
        "driver", "driverOverride", "iommuGroup", "resetMethods", "flr", "bootVga", "hasRom", "physicalFunction", "resizableBars",
    ];

    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private JsonElement RunJson(string fixture, params string[] args)
    {
        var root = FixtureHosts.Expand(fixture, _dir.Combine(fixture));
        var result = CliRun.Run(["--root", root, .. args]);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stderr, Is.Empty);
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    private static void AssertDevice(JsonElement device)
    {
        Assert.That(device.EnumerateObject().Select(p => p.Name), Is.EqualTo(DeviceKeys));
        Assert.That(device.GetProperty("address").GetString(), Does.Match("^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]$"));
        foreach (var key in new[] { "vendorId", "deviceId", "subsystemVendorId", "subsystemDeviceId" })
        {
            Assert.That(device.GetProperty(key).GetString(), Does.Match("^[0-9a-f]{4}$"), key);
        }

        Assert.That(device.GetProperty("classCode").GetString(), Does.Match("^[0-9a-f]{6}$"));
        Assert.That(device.GetProperty("driver").ValueKind, Is.AnyOf(JsonValueKind.String, JsonValueKind.Null));
        Assert.That(device.GetProperty("driverOverride").ValueKind, Is.AnyOf(JsonValueKind.String, JsonValueKind.Null));
        Assert.That(device.GetProperty("iommuGroup").ValueKind, Is.AnyOf(JsonValueKind.Number, JsonValueKind.Null));
        Assert.That(device.GetProperty("resetMethods").ValueKind, Is.AnyOf(JsonValueKind.Array, JsonValueKind.Null));
        Assert.That(device.GetProperty("flr").ValueKind, Is.AnyOf(JsonValueKind.True, JsonValueKind.False, JsonValueKind.Null));
        Assert.That(device.GetProperty("bootVga").ValueKind, Is.AnyOf(JsonValueKind.True, JsonValueKind.False));
        Assert.That(device.GetProperty("hasRom").ValueKind, Is.AnyOf(JsonValueKind.True, JsonValueKind.False));
    }

    [TestCaseSource(typeof(FixtureHosts), nameof(FixtureHosts.Names))]
    public void List_all_json_is_devices_each_with_the_device_keys_in_order(string fixture)
    {
        var json = RunJson(fixture, "list", "--all", "--json");

        Assert.That(json.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "devices" }));
        Assert.That(json.GetProperty("devices").GetArrayLength(), Is.GreaterThan(5));
        foreach (var device in json.GetProperty("devices").EnumerateArray())
        {
            AssertDevice(device);
        }
    }

    [Test]
    public void List_json_shows_the_seed_003_gpu_exactly()
    {
        var json = RunJson("seed-003-fedora-rx7900xtx", "list", "--json");

        Assert.That(json.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "gpus" }));
        var gpus = json.GetProperty("gpus").EnumerateArray().ToList();
        Assert.That(gpus.Select(g => g.GetProperty("slot").GetString()), Is.EqualTo(new[] { "0000:03:00", "0000:0f:00" }));
        Assert.That(gpus[0].EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "slot", "bootVga", "functions", "virtualFunctions" }));
        Assert.That(gpus.Select(g => g.GetProperty("bootVga").GetBoolean()), Is.EqualTo(new[] { false, true }));
        var vga = gpus[0].GetProperty("functions")[0];
        AssertDevice(vga);
        Assert.That(vga.GetProperty("address").GetString(), Is.EqualTo("0000:03:00.0"));
        Assert.That(vga.GetProperty("vendorId").GetString(), Is.EqualTo("1002"));
        Assert.That(vga.GetProperty("deviceId").GetString(), Is.EqualTo("744c"));
        Assert.That(vga.GetProperty("subsystemVendorId").GetString(), Is.EqualTo("1002"));
        Assert.That(vga.GetProperty("subsystemDeviceId").GetString(), Is.EqualTo("0e3b"));
        Assert.That(vga.GetProperty("classCode").GetString(), Is.EqualTo("030000"));
        Assert.That(vga.GetProperty("driver").GetString(), Is.EqualTo("vfio-pci"));
        Assert.That(vga.GetProperty("driverOverride").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(vga.GetProperty("iommuGroup").GetInt32(), Is.EqualTo(13));
        Assert.That(vga.GetProperty("resetMethods").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(vga.GetProperty("flr").GetBoolean(), Is.False);
        Assert.That(vga.GetProperty("hasRom").GetBoolean(), Is.True);
        Assert.That(gpus[0].GetProperty("functions").EnumerateArray().Select(f => f.GetProperty("address").GetString()),
            Is.EqualTo(new[] { "0000:03:00.0", "0000:03:00.1", "0000:03:00.2", "0000:03:00.3" }));
        Assert.That(gpus[0].GetProperty("functions")[2].GetProperty("driver").GetString(), Is.EqualTo("xhci_hcd"));
    }

    [Test]
    public void List_json_gives_reset_methods_as_an_array_and_a_driver_override_as_text()
    {
        var root = new HostTreeBuilder()
            .RootPort("0000:00:01.0", "8086:1901", group: 1, below: b => b
                .Function("0000:01:00.0", "10de:1e87", 0x030000, group: 12, flr: true, resetMethods: "flr bus", driverOverride: "vfio-pci"))
            .WriteTo(_dir.Combine("host"));

        var result = CliRun.Run("--root", root, "list", "--json");
        var f = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("gpus")[0].GetProperty("functions")[0];

        Assert.That(f.GetProperty("resetMethods").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "flr", "bus" }));
        Assert.That(f.GetProperty("flr").GetBoolean(), Is.True);
        Assert.That(f.GetProperty("driverOverride").GetString(), Is.EqualTo("vfio-pci"));
        Assert.That(f.GetProperty("driver").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public void Groups_json_shows_seed_004_group_14_identity_and_viable()
    {
        var json = RunJson("seed-004-x870e-rtx4060ti", "groups", "--json");

        Assert.That(json.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "groups" }));
        var groups = json.GetProperty("groups").EnumerateArray().ToList();
        Assert.That(groups.Select(g => g.GetProperty("id").GetInt32()), Is.Ordered);
        foreach (var g in groups)
        {
            Assert.That(g.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "id", "type", "devices", "viable", "reason" }));
            Assert.That(g.GetProperty("reason").GetString(), Is.Not.Empty);
        }

        var g14 = groups.Single(g => g.GetProperty("id").GetInt32() == 14);
        Assert.That(g14.GetProperty("type").GetString(), Is.EqualTo("identity"));
        Assert.That(g14.GetProperty("devices").EnumerateArray().Select(d => d.GetString()), Is.EqualTo(new[] { "0000:01:00.0", "0000:01:00.1" }));
        Assert.That(g14.GetProperty("viable").GetBoolean(), Is.True);
        var bridges = groups.Single(g => g.GetProperty("id").GetInt32() == 2);
        Assert.That(bridges.GetProperty("viable").GetBoolean(), Is.False);
        Assert.That(bridges.GetProperty("reason").GetString(), Does.Contain("only bridges"));
    }

    [Test]
    public void Groups_on_a_host_without_iommu_is_exit_3_with_the_firmware_remedy()
    {
        var root = FixtureHosts.Expand("no-iommu", _dir.Combine("no-iommu"));

        var result = CliRun.Run("--root", root, "groups", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Does.Contain("no IOMMU groups").And.Contain("VT-d").And.Contain("intel_iommu=on"));
    }
}
