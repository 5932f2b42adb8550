using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Sysfs;
using Passthrough.Host;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Sysfs;

/// <summary>The host model read from every fixture host, as the seeds' users would check it.</summary>
public class SysfsHostReaderTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private HostInventory Read(string fixture) =>
        new SysfsHostReader(new HostRoot(FixtureHosts.Expand(fixture, _dir.Combine("root")))).Read();

    private HostInventory Read(HostTreeBuilder builder) =>
        new SysfsHostReader(new HostRoot(builder.WriteTo(_dir.Combine("root")))).Read();

    private static PciAddress A(string text) => PciAddress.Parse(text);

    [Test]
    public void Seed_000_I_see_the_rx7900xtx_behind_its_switch_with_every_part_in_its_own_group()
    {
        var host = Read("seed-000-proxmox-rx7900xtx");

        var gpu = host.Gpus.Single(g => g.Slot == PciSlot.Parse("0000:03:00"));
        Assert.That(gpu.Functions.Select(f => f.Address.ToString()), Is.EqualTo(new[] { "0000:03:00.0", "0000:03:00.1" }));
        Assert.That(gpu.Functions.Select(f => f.IommuGroup), Is.EqualTo(new int?[] { 19, 20 }));
        Assert.That(gpu.BootVga, Is.True);
        var vga = gpu.Display;
        Assert.That((vga.VendorId, vga.DeviceId, vga.Revision, vga.Class?.Code), Is.EqualTo(((int?)0x1002, (int?)0x744c, (int?)0xc8, (int?)0x030000)));
        Assert.That(vga.Flr, Is.False, "Navi 31 has no FLR");
        Assert.That(vga.ResetMethods, Is.Null, "the kernel offers no reset_method for a function sharing its bus");
        Assert.That(vga.CanReset, Is.False);
        Assert.That(vga.Multifunction, Is.True);
        Assert.That(vga.ResizableBar, Is.True);
        Assert.That(vga.HasRom, Is.True);
        Assert.That(vga.Driver, Is.EqualTo("vfio-pci"));
        Assert.That(vga.DriverOverride, Is.Null);
        Assert.That(vga.UpstreamBridges, Is.EqualTo(new[]
        {
            new UpstreamBridge(A("0000:00:01.0"), false),
            new UpstreamBridge(A("0000:01:00.0"), false),
            new UpstreamBridge(A("0000:02:00.0"), false),
        }));
        Assert.That(host.Find(A("0000:01:00.0"))!.IommuGroup, Is.EqualTo(17));
        Assert.That(host.Find(A("0000:02:00.0"))!.IommuGroup, Is.EqualTo(18));
        Assert.That(host.Groups.Where(g => g.Id is >= 17 and <= 20).Select(g => g.Members.Count), Is.All.EqualTo(1));
        Assert.That(host.Groups.Select(g => g.Type), Is.All.EqualTo("identity"), "iommu=pt");
        Assert.That(host.Facts.KernelCommandLine, Does.Contain("pcie_acs_override=downstream,multifunction"));
        Assert.That(host.Facts.IsIntel, Is.True);
        Assert.That(host.Facts.VirtualizationFlags, Is.EqualTo(new[] { "vmx" }));
        Assert.That(host.Facts.IommuUnits.Select(u => u.Name), Is.EqualTo(new[] { "dmar0" }));
        Assert.That(host.Facts.KernelRelease, Is.EqualTo("6.8.12-2-pve"));
        Assert.That(host.Facts.LoadedModules, Does.Contain("vfio_pci").And.Not.Contain("amdgpu"));
    }

    [Test]
    public void Seed_000_the_lone_switch_ports_are_viable_for_nothing_and_the_gpu_groups_are_viable()
    {
        var host = Read("seed-000-proxmox-rx7900xtx");

        var upstream = host.Viability(host.Groups.Single(g => g.Id == 17));
        var vga = host.Viability(host.Groups.Single(g => g.Id == 19));

        Assert.That(upstream.Viable, Is.False);
        Assert.That(upstream.Reason, Does.Contain("only bridges"));
        Assert.That(vga.Viable, Is.True);
        Assert.That(vga.Reason, Does.Contain("0000:03:00"));
    }

    [Test]
    public void Seed_001_I_see_the_rtx2080_with_flr_and_the_i350_with_its_sriov_totals_and_vfs()
    {
        var host = Read("seed-001-intel-rtx2080-i350");

        var rtx = host.Find(A("0000:01:00.0"))!;
        Assert.That(rtx.Flr, Is.True);
        Assert.That(rtx.ResetMethods, Is.EqualTo(new[] { "flr" }));
        Assert.That(rtx.BootVga, Is.True);
        Assert.That((rtx.SubsystemVendorId, rtx.SubsystemDeviceId), Is.EqualTo(((int?)0x1462, (int?)0x3721)));
        Assert.That(host.GroupOf(rtx.Address)!.Members.Select(m => m.ToString()), Is.EqualTo(new[] { "0000:01:00.0", "0000:01:00.1" }));

        var i350 = host.Find(A("0000:03:00.0"))!;
        Assert.That((i350.SriovTotalVfs, i350.SriovNumVfs), Is.EqualTo(((int?)8, (int?)4)));
        Assert.That(i350.IommuGroup, Is.EqualTo(13));
        Assert.That(i350.UpstreamBridges, Is.EqualTo(new[] { new UpstreamBridge(A("0000:00:1c.0"), true) }));
        var vfs = host.Functions.Where(f => f.DeviceId == 0x1520).ToList();
        Assert.That(vfs.Select(f => f.Address.ToString()), Is.EqualTo(new[] { "0000:03:10.0", "0000:03:10.4", "0000:03:11.0", "0000:03:11.4" }));
        Assert.That(vfs.Select(f => f.Driver), Is.All.EqualTo("igbvf"));
        Assert.That(host.Find(A("0000:00:14.0"))!.SriovTotalVfs, Is.Null, "not SR-IOV capable");
        Assert.That(host.Gpus.Select(g => g.Slot.ToString()), Is.EqualTo(new[] { "0000:01:00" }));
    }

    [Test]
    public void Seed_003_I_see_all_four_functions_of_the_rx7900xtx_in_one_identity_group_and_the_igpu_as_boot_display()
    {
        var host = Read("seed-003-fedora-rx7900xtx");

        var gpu = host.Gpu(PciSlot.Parse("0000:03:00"));
        Assert.That(gpu.Functions.Select(f => (f.Class!.Value.Description, f.Driver)), Is.EqualTo(new[]
        {
            ("VGA compatible controller", "vfio-pci"),
            ("Audio device", "vfio-pci"),
            ("USB controller", "xhci_hcd"),
            ("Serial bus controller", "i2c-designware-pci"),
        }));
        Assert.That(gpu.IommuGroups, Is.EqualTo(new[] { 13 }));
        Assert.That(gpu.BootVga, Is.False);
        var group = host.Groups.Single(g => g.Id == 13);
        Assert.That(group.IsIdentity, Is.True);
        Assert.That(host.Groups.Where(g => g.Id != 13).Select(g => g.Type), Is.All.EqualTo("DMA-FQ"));
        Assert.That(host.Viability(group).Viable, Is.True, "all four functions are one card");
        Assert.That(host.Viability(group, [A("0000:03:00.0"), A("0000:03:00.1")]).Reason, Does.Contain("0000:03:00.2").And.Contain("xhci_hcd"),
            "passing only VGA and audio leaves the host's xHCI driver in the group");

        var igpu = host.Gpus.Single(g => g.BootVga);
        Assert.That(igpu.Slot.ToString(), Is.EqualTo("0000:0f:00"));
        Assert.That(igpu.Display.Driver, Is.EqualTo("amdgpu"));
        Assert.That(host.Facts.IsAmd, Is.True);
        Assert.That(host.Facts.IommuUnits.Select(u => u.Name), Is.EqualTo(new[] { "ivhd0" }));
        Assert.That(host.Find(A("0000:03:00.0"))!.UpstreamBridges.Select(b => b.Acs), Is.EqualTo(new bool?[] { true, true, false }));
    }

    [Test]
    public void Seed_004_I_see_the_rtx4060ti_in_group_14_of_type_identity_and_the_firmware_facts()
    {
        var host = Read("seed-004-x870e-rtx4060ti");

        var gpu = host.Gpu(PciSlot.Parse("0000:01:00"));
        Assert.That(gpu.Functions.Select(f => f.IdsText), Is.EqualTo(new[] { "10de:2805", "10de:22bd" }));
        Assert.That(gpu.IommuGroups, Is.EqualTo(new[] { 14 }));
        Assert.That(host.Groups.Single(g => g.Id == 14).Type, Is.EqualTo("identity"));
        Assert.That(gpu.BootVga, Is.False, "the Radeon iGPU is the primary display");
        Assert.That(host.Gpus.Single(g => g.BootVga).Display.IdsText, Is.EqualTo("1002:13c0"));
        Assert.That(host.Facts.BoardName, Is.EqualTo("MPG X870E CARBON WIFI (MS-7E49)"));
        Assert.That(host.Facts.BiosVersion, Is.EqualTo("1.A7D"));
        Assert.That(host.Facts.BiosDate, Is.EqualTo("01/07/2026"));
        Assert.That(host.Facts.CpuModel, Is.EqualTo("AMD Ryzen 9 9950X3D 16-Core Processor"));
        Assert.That(host.Facts.VirtualizationFlags, Is.EqualTo(new[] { "svm" }));
        Assert.That(host.Facts.Smt, Is.True);
        Assert.That(host.Facts.KernelCommandLine, Does.Contain("iommu.passthrough=1"));
    }

    [Test]
    public void Seed_004_an_empty_kernel_command_line_is_empty_not_unknown()
    {
        var host = Read("seed-004-x870e-empty-cmdline");

        Assert.That(host.Facts.KernelCommandLine, Is.Empty);
        Assert.That(host.Groups.Single(g => g.Id == 14).Type, Is.EqualTo("identity"));
        Assert.That(host.Groups.Single(g => g.Id == 15).Type, Is.EqualTo("DMA-FQ"));
    }

    [Test]
    public void A_host_without_iommu_has_functions_but_no_groups_and_no_units()
    {
        var host = Read("no-iommu");

        Assert.That(host.HasIommuGroups, Is.False);
        Assert.That(host.Functions, Is.Not.Empty);
        Assert.That(host.Functions.Select(f => f.IommuGroup), Is.All.Null);
        Assert.That(host.Facts.IommuUnits, Is.Empty);
        Assert.That(host.Gpus.Single(g => g.BootVga).Display.Driver, Is.EqualTo("nvidia"));
    }

    [Test]
    public void I_get_unknown_not_an_error_when_files_are_missing()
    {
        const string Gpu = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
        var host = Read(new HostTreeBuilder()
            .RootPort("0000:00:01.0", "8086:1901", group: 1, acs: true, below: b => b
                .Function("0000:01:00.0", "10de:1e87", 0x030000, group: 12, flr: true))
            .Without(Gpu + "/config")
            .Without(Gpu + "/reset_method")
            .Without(Gpu + "/boot_vga")
            .Without(Gpu + "/vendor")
            .Without("/sys/devices/pci0000:00/0000:00:01.0/config"));

        var f = host.Find(A("0000:01:00.0"))!;
        Assert.That(f.VendorId, Is.Null);
        Assert.That(f.IdsText, Is.EqualTo("????:1e87"));
        Assert.That((f.Flr, f.Multifunction, f.ResizableBar, f.ResetMethods, f.BootVga, f.CanReset), Is.EqualTo(((bool?)null, (bool?)null, (bool?)null, (IReadOnlyList<string>?)null, (bool?)null, (bool?)null)));
        Assert.That(f.UpstreamBridges.Single().Acs, Is.Null);
        Assert.That(host.Facts.KernelCommandLine, Is.Null);
        Assert.That(host.Facts.CpuVendor, Is.Null);
        Assert.That(host.Facts.LoadedModules, Is.Null);
    }

    [Test]
    public void I_get_unknown_capabilities_from_the_64_bytes_an_unprivileged_reader_gets()
    {
        var host = Read(new HostTreeBuilder()
            .RootPort("0000:00:01.0", "8086:1901", group: 1, acs: true, config: 64, below: b => b
                .Function("0000:01:00.0", "10de:1e87", 0x030000, group: 12, flr: true, config: 64)
                .Function("0000:01:00.1", "10de:10f8", 0x040300, group: 12, config: 64)));

        var f = host.Find(A("0000:01:00.0"))!;
        Assert.That(f.Flr, Is.Null);
        Assert.That(f.ResizableBar, Is.Null);
        Assert.That(f.Multifunction, Is.True, "the header type is in the first 64 bytes");
        Assert.That(f.UpstreamBridges.Single().Acs, Is.Null);
        Assert.That(f.CanReset, Is.True, "reset_method still says flr");
    }

    [Test]
    public void I_get_unknown_when_an_entry_cannot_be_read_as_a_file()
    {
        var root = new HostTreeBuilder()
            .Function("0000:00:02.0", "8086:3e98", 0x030000, group: 1, bootVga: true)
            .Without("/sys/devices/pci0000:00/0000:00:02.0/class")
            .Without("/sys/devices/pci0000:00/0000:00:02.0/config")
            .WriteTo(_dir.Combine("root"));
        Directory.CreateDirectory(Path.Join(root, "sys/devices/pci0000:00/0000:00:02.0/class"));
        Directory.CreateDirectory(Path.Join(root, "sys/devices/pci0000:00/0000:00:02.0/config"));
        Directory.CreateDirectory(Path.Join(root, "proc/cmdline"));

        var host = new SysfsHostReader(new HostRoot(root)).Read();

        var f = host.Functions.Single();
        Assert.That((f.Class, f.Flr), Is.EqualTo(((PciClass?)null, (bool?)null)));
        Assert.That(host.Facts.KernelCommandLine, Is.Null);
        Assert.That(host.Gpus, Is.Empty, "without a class it is not known to be a GPU");
    }

    [Test]
    public void A_conventional_pci_function_has_no_flr_rather_than_unknown()
    {
        var host = Read(new HostTreeBuilder().Function("0000:00:1e.0", "8086:244e", 0x060401, config: 256, group: 3)
            .Function("0000:00:1f.3", "8086:a348", 0x040300, config: 256, group: 3));

        Assert.That(host.Find(A("0000:00:1f.3"))!.Flr, Is.False);
        Assert.That(host.Find(A("0000:00:1f.3"))!.Acs, Is.False);
    }

    [Test]
    public void I_see_names_from_the_roots_own_pci_ids_first()
    {
        var host = Read(new HostTreeBuilder()
            .File("/usr/share/hwdata/pci.ids", "# test ids\n1002  Advanced Micro Devices, Inc. [AMD/ATI]\n\t744c  Navi 31 [Radeon RX 7900 XT/7900 XTX]\n\t\t1002 0e3b  RX 7900 XTX\n10de  NVIDIA Corporation\n\t2805  AD106 [GeForce RTX 4060 Ti 16GB]\n8086  Intel Corporation\nC 03  Display controller\n")
            .Function("0000:00:02.0", "8086:fff0", 0x030000, group: 1) // a device id nobody knows, not even the hwdb
            .Function("0000:00:03.0", "1002:744c", 0x030000, group: 2)
            .Function("0000:00:04.0", "10de:2805", 0x030000, group: 3));

        Assert.That(host.Functions.Select(f => (f.VendorName, f.DeviceName)), Is.EqualTo(new[]
        {
            ("Intel Corporation", (string?)null),
            ("Advanced Micro Devices, Inc. [AMD/ATI]", "Navi 31 [Radeon RX 7900 XT/7900 XTX]"),
            ("NVIDIA Corporation", "AD106 [GeForce RTX 4060 Ti 16GB]"),
        }));
    }
}
