using Passthrough.Diagnostics;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Tests.Diagnostics;

/// <summary>In-memory hosts built from the seeds' real outputs (lspci listings, cmdlines, dmesg, modprobe files).</summary>
internal static class SeedHosts
{
    public static PciFunction Fn(string address, int vendor, int device, int cls, string? driver, int? group, bool? bootVga = null, bool? flr = true, IReadOnlyList<string>? reset = null) => new()
    {
        Address = PciAddress.Parse(address),
        VendorId = vendor,
        DeviceId = device,
        Class = new PciClass(cls),
        Driver = driver,
        IommuGroup = group,
        BootVga = bootVga,
        Flr = flr,
        ResetMethods = reset ?? (flr == true ? ["flr", "bus"] : ["bus"]),
    };

    public static HostInventory MakeHost(HostFacts facts, IReadOnlyDictionary<int, string>? types, params PciFunction[] functions)
    {
        var groups = functions.Where(f => f.IommuGroup is not null)
            .GroupBy(f => f.IommuGroup!.Value)
            .Select(g => new IommuGroup(g.Key, types?.GetValueOrDefault(g.Key) ?? "DMA", [.. g.Select(f => f.Address).Order()]));
        return new HostInventory(functions, groups, facts);
    }

    public static HostFacts Amd(string cmdline, string kernel) => new()
    {
        CpuVendor = "AuthenticAMD",
        CpuModel = "AMD Ryzen 9 9950X3D 16-Core Processor",
        VirtualizationFlags = ["svm"],
        KernelCommandLine = cmdline,
        KernelRelease = kernel,
        IommuUnits = [new IommuUnit("ivhd0")],
        LoadedModules = new HashSet<string> { "vfio", "vfio_pci", "vfio_pci_core", "vfio_iommu_type1" },
    };

    public static HostFacts Intel(string cmdline, string kernel) => new()
    {
        CpuVendor = "GenuineIntel",
        CpuModel = "Intel(R) Core(TM) i7-9700K CPU @ 3.60GHz",
        VirtualizationFlags = ["vmx"],
        KernelCommandLine = cmdline,
        KernelRelease = kernel,
        IommuUnits = [new IommuUnit("dmar0"), new IommuUnit("dmar1")],
        LoadedModules = new HashSet<string> { "vfio", "vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "kvm_intel", "kvm" },
    };

    public const string Seed004Cmdline = "pcie_acs_override=downstream,multifunction amd_iommu=on iommu.passthrough=1 vfio-pci.ids=10de:2805,10de:22bd video=efifb:off";

    public const string Seed004OneToOne = "vfio-pci 0000:01:00.0: Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without a 1:1 mapping. Contact your platform vendor.";

    /// <summary>Seed 004: Unraid 7.2.3, MSI X870E, RTX 4060 Ti in group 14 (identity), iGPU primary, Limine.</summary>
    public static DoctorEvidence Seed004(string? cmdline = Seed004Cmdline) => new()
    {
        Host = MakeHost(
            Amd(cmdline ?? string.Empty, "6.12.54-Unraid") with { BiosVendor = "American Megatrends International, LLC.", BiosVersion = "1.A7D", BiosDate = "01/07/2026" },
            new Dictionary<int, string> { [14] = "identity", [20] = "identity" },
            Fn("0000:00:01.1", 0x1022, 0x14db, 0x060400, "pcieport", 14),
            Fn("0000:01:00.0", 0x10de, 0x2805, 0x030000, "vfio-pci", 14, bootVga: false),
            Fn("0000:01:00.1", 0x10de, 0x22bd, 0x040300, "vfio-pci", 14),
            Fn("0000:7c:00.0", 0x1002, 0x13c0, 0x030000, "amdgpu", 20, bootVga: true)),
        KernelLog = KernelLog.Parse(
        [
            "[    0.000000] Command line: " + (cmdline ?? string.Empty),
            "[    0.587478] iommu: Default domain type: Passthrough (set via kernel command line)",
            "[    0.612000] AMD-Vi: IOMMU performance counters supported",
            "[    0.613000] AMD-Vi: Interrupt remapping enabled",
            "[    0.700000] pci 0000:01:00.0: Adding to iommu group 14",
            "[  912.447000] " + Seed004OneToOne,
        ]),
        UnraidVfioConfig = new ConfigFile("/boot/config/vfio-pci.cfg", "BIND=0000:01:00.0|10de:2805 0000:01:00.1|10de:22bd\n"),
        UnsafeInterruptsParameter = "Y",
        Holders = [],
        MemInfo = "MemTotal:       131072000 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
    };

    /// <summary>Seed 003: Fedora, RX 7900 XTX with USB-C (xhci_hcd) and UCSI (i2c-designware-pci) functions.</summary>
    public static DoctorEvidence Seed003() => new()
    {
        Host = MakeHost(
            Amd("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.19.14-200.vfio_amd.fc44 root=UUID=1 ro amd_iommu=on amd_iommu_force_isolation=0 vfio-pci.ids=1002:744c,1002:ab30,1002:7446,1002:7444 amd_vfio_pass_fix=1", "6.19.14-200.vfio_amd.fc44"),
            new Dictionary<int, string> { [15] = "identity" },
            Fn("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 15, bootVga: false),
            Fn("0000:03:00.1", 0x1002, 0xab30, 0x040300, "vfio-pci", 15),
            Fn("0000:03:00.2", 0x1002, 0x7446, 0x0c0330, "xhci_hcd", 15),
            Fn("0000:03:00.3", 0x1002, 0x7444, 0x0c8000, "i2c-designware-pci", 15),
            Fn("0000:7e:00.0", 0x1002, 0x13c0, 0x030000, "amdgpu", 20, bootVga: true)),
        KernelLog = KernelLog.Parse(["[    0.000000] Linux version 6.19.14-200.vfio_amd.fc44", "[    0.500000] AMD-Vi: Interrupt remapping enabled"]),
        LibvirtUnitFiles = [new ConfigFile("/etc/systemd/system/virtqemud.service.d/override.conf", "[Service]\nLimitMEMLOCK=infinity\n")],
        QemuConf = new ConfigFile("/etc/libvirt/qemu.conf", "# user settings\niommufd = 0\n"),
        IommufdDevice = true,
        Holders = [],
    };

    public const string Seed000Cmdline = "BOOT_IMAGE=/boot/vmlinuz-6.8.12-2-pve root=/dev/mapper/rootvg-root ro intel_iommu=on iommu=pt nofb nomodeset video=vesafb:off video=efifb:off video=simplefb:off pcie_acs_override=downstream,multifunction";

    /// <summary>Seed 000: Proxmox 8.2, RX 7900 XTX behind a Navi switch, ACS override splitting its functions.</summary>
    public static DoctorEvidence Seed000(bool amdIgpu = false, string cmdline = Seed000Cmdline)
    {
        var functions = new List<PciFunction>
        {
            Fn("0000:00:1f.3", 0x8086, 0xa348, 0x040300, "snd_hda_intel", 9),
            Fn("0000:01:00.0", 0x1002, 0x1478, 0x060400, "pcieport", 17),
            Fn("0000:02:00.0", 0x1002, 0x1479, 0x060400, "pcieport", 18),
            Fn("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 19, bootVga: false),
            Fn("0000:03:00.1", 0x1002, 0xab30, 0x040300, "vfio-pci", 20),
        };
        if (amdIgpu)
        {
            functions.Add(Fn("0000:0e:00.0", 0x1002, 0x164e, 0x030000, null, 21, bootVga: true));
        }

        return new DoctorEvidence
        {
            Host = MakeHost(Intel(cmdline, "6.8.12-2-pve"), null, [.. functions]),
            KernelLog = KernelLog.Parse(
            [
                "[    0.000000] Command line: " + Seed000Cmdline,
                "[    0.000000] DMAR: IOMMU enabled",
                "[    0.000000] DMAR-IR: Enabled IRQ remapping in x2apic mode",
            ]),
            ModprobeFiles =
            [
                new ConfigFile("/etc/modprobe.d/blacklist-gpu.conf", "blacklist radeon\nblacklist amdgpu\nblacklist nouveau\nblacklist nvidia\nblacklist nvidia*\nblacklist i915\nblacklist snd_hda_codec_hdmi\nblacklist snd_hda_intel\n"),
                new ConfigFile("/etc/modprobe.d/vfio.conf", "options vfio_iommu_type1 allow_unsafe_interrupts=1\noptions vfio-pci ids=1002:1478,1002:1479,1002:744c,1002:ab30 disable_vga=1\n"),
            ],
            Holders = [],
        };
    }

    /// <summary>Seed 001: Intel server, RTX 2080 on vfio-pci in its own group 12, I350 in group 13.</summary>
    public static DoctorEvidence Seed001() => new()
    {
        Host = MakeHost(
            Intel("BOOT_IMAGE=/boot/vmlinuz-6.8.12-5-pve root=ZFS=rpool/ROOT/pve-1 ro quiet intel_iommu=on iommu=pt", "6.8.12-5-pve"),
            null,
            Fn("0000:00:00.0", 0x8086, 0x3e0f, 0x060000, null, 0),
            Fn("0000:00:01.0", 0x8086, 0x1901, 0x060400, "pcieport", 1),
            Fn("0000:01:00.0", 0x10de, 0x1e87, 0x030000, "vfio-pci", 12, bootVga: false),
            Fn("0000:01:00.1", 0x10de, 0x10f8, 0x040300, "vfio-pci", 12),
            Fn("0000:03:00.0", 0x8086, 0x1521, 0x020000, "igb", 13)),
        KernelLog = KernelLog.Parse(
        [
            "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.8.12-5-pve root=ZFS=rpool/ROOT/pve-1 ro quiet intel_iommu=on iommu=pt",
            "[    0.000000] DMAR: IOMMU enabled",
            "[    0.000000] DMAR: Host address width 39",
            "[    0.000000] DMAR-IR: Enabled IRQ remapping in x2apic mode",
            "[    0.251990] DMAR: Intel(R) Virtualization Technology for Directed I/O",
            "[   12.934567] vfio-pci 0000:01:00.0: BAR 0: assigned [mem 0xf6000000-0xf6ffffff 64bit]",
        ]),
        ModprobeFiles = [new ConfigFile("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:1e87,10de:10f8\n")],
        MemInfo = "MemAvailable: 58723452 kB\nAnonHugePages: 10240000 kB\nHugePages_Total: 0\nHugePages_Free: 0\nHugePages_Rsvd: 0\nHugePages_Surp: 0\nHugepagesize: 2048 kB\n",
        Holders = [],
        Hooks = [new HookFile("/etc/libvirt/hooks/qemu", true, null)],
    };
}
