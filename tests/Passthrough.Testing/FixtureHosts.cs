namespace Passthrough.Testing;

/// <summary>
/// The fixture hosts, built from the users' reports in the seeds (ids, addresses, groups, drivers and
/// command lines as the reports show them; what a report does not show is filled in plausibly and said so).
/// Committed as text under tests/fixtures/hosts/NAME.host (and examples/hosts/workstation.host); the
/// FixtureFiles test fails when the text and these builders differ (UPDATE_FIXTURES=1 rewrites it: review the diff).
/// Each method returns a fresh builder, so a test can add to a seed host (a /dev/kmsg, a modprobe.d file).
/// </summary>
public static partial class FixtureHosts
{
    /// <summary>Every fixture by name (tests/fixtures/hosts/NAME.host).</summary>
    public static IReadOnlyDictionary<string, Func<HostTreeBuilder>> All { get; } = new Dictionary<string, Func<HostTreeBuilder>>(StringComparer.Ordinal)
    {
        ["seed-000-proxmox-rx7900xtx"] = Seed000ProxmoxRx7900Xtx,
        ["seed-001-intel-rtx2080-i350"] = Seed001IntelRtx2080I350,
        ["seed-003-fedora-rx7900xtx"] = Seed003FedoraRx7900Xtx,
        ["seed-004-x870e-rtx4060ti"] = Seed004X870eRtx4060Ti,
        ["seed-004-x870e-empty-cmdline"] = Seed004X870eEmptyCmdline,
        ["no-iommu"] = NoIommu,
        ["amd-7950x3d-two-ccd"] = CpuFixtureHosts.Amd7950X3D,
        ["intel-13700k-hybrid"] = CpuFixtureHosts.Intel13700K,
        ["amd-5800x-8core"] = CpuFixtureHosts.Amd5800X,

        ["igpu-sriov-xe"] = IgpuSriovXe,
        ["rx7600-navi33-dual"] = Rx7600Navi33Dual,
        ["laptop-rtx4060-3d"] = LaptopRtx4060,

        ["dual-gpu-gnome-rebar"] = DualGpuGnomeRebar,

        ["seed-003-renumbered-nvme-added"] = Seed003RenumberedNvmeAdded,
        ["seed-003-renumbered-two-gpus"] = Seed003RenumberedTwoGpus,
        ["seed-003-gpu-removed"] = Seed003GpuRemoved,
    };

    /// <summary>The fixture names, for [TestCaseSource].</summary>
    public static IEnumerable<string> Names => All.Keys;

    /// <summary>The committed text of a fixture.</summary>
    public static string PathOf(string name) => Path.Join(RepoPaths.Fixtures, "hosts", name + ".host");

    /// <summary>The bundled example host of `make demo`.</summary>
    public static string WorkstationPath => Path.Join(RepoPaths.Examples, "hosts", "workstation.host");

    /// <summary>Expands the committed fixture NAME under <paramref name="directory"/> and returns it (for --root).</summary>
    public static string Expand(string name, string directory)
    {
        using var reader = new StreamReader(PathOf(name));
        Passthrough.Adapters.Capture.HostCapture.Expand(reader, PathOf(name), directory);
        return directory;
    }

    /// <summary>
    /// Seed 000: Proxmox VE 8.2 on Intel, an ASUS RX 7900 XTX (03:00.0 VGA, 03:00.1 audio) behind the card's
    /// Navi 10 XL switch (01:00.0 upstream, 02:00.0 downstream), every one in its own group (17-20) thanks to
    /// pcie_acs_override; no FLR on the GPU; vfio-pci by ids, amdgpu blacklisted.
    /// </summary>
    public static HostTreeBuilder Seed000ProxmoxRx7900Xtx() => new HostTreeBuilder()
        .Describe("Seed 000: Proxmox VE 8.2, Intel, ASUS RX 7900 XTX TUF behind its Navi 10 XL switch, groups split by pcie_acs_override.")
        .Describe("From the report: ids, addresses, groups 17-20, command line, vfio-pci binding. Filled in: chipset devices, board, CPU model.")
        .Intel("12th Gen Intel(R) Core(TM) i9-12900KF", cores: 16, threads: 24)
        .Kernel("6.8.12-2-pve")
        .Cmdline("BOOT_IMAGE=/boot/vmlinuz-6.8.12-2-pve root=/dev/mapper/rootvg-root ro intel_iommu=on iommu=pt nofb nomodeset video=vesafb:off video=efifb:off video=simplefb:off pcie_acs_override=downstream,multifunction")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_intel", "kvm", "igc", "xhci_pci", "nvme")
        .Dmi("ASUSTeK COMPUTER INC.", "PRIME Z690-P", "American Megatrends Inc.", "3010", "12/09/2022")
        .DefaultGroupType("identity") // iommu=pt: the default domain is identity
        .File("/etc/modprobe.d/vfio.conf", "options vfio_iommu_type1 allow_unsafe_interrupts=1\noptions vfio-pci ids=1002:1478,1002:1479,1002:744c,1002:ab30 disable_vga=1\n")
        .File("/etc/modprobe.d/blacklist-gpu.conf", "blacklist radeon\nblacklist amdgpu\nblacklist nouveau\nblacklist nvidia\nblacklist nvidia*\nblacklist i915\nblacklist snd_hda_codec_hdmi\nblacklist snd_hda_intel\n")
        .Function("0000:00:00.0", "8086:4668", 0x060000, revision: 0x02, group: 0)
        .RootPort("0000:00:01.0", "8086:460d", group: 1, revision: 0x02, below: b => b
            .SwitchPort("0000:01:00.0", "1002:1478", group: 17, revision: 0x10, below: up => up
                .SwitchPort("0000:02:00.0", "1002:1479", group: 18, revision: 0x10, below: down => down
                    .Function("0000:03:00.0", "1002:744c", 0x030000, subsystem: "1043:0471", revision: 0xc8, driver: "vfio-pci", group: 19, bootVga: true, rebar: true)
                    .Function("0000:03:00.1", "1002:ab30", 0x040300, subsystem: "1043:0471", driver: "vfio-pci", group: 20))))
        .Function("0000:00:14.0", "8086:7ae0", 0x0c0330, subsystem: "1043:8694", revision: 0x11, driver: "xhci_hcd", group: 6)
        .Function("0000:00:17.0", "8086:7ae2", 0x010601, subsystem: "1043:8694", revision: 0x11, driver: "ahci", group: 8)
        .RootPort("0000:00:1c.0", "8086:7ab8", group: 12, acs: true, revision: 0x11, below: b => b
            .Function("0000:04:00.0", "8086:15f3", 0x020000, subsystem: "1043:87d2", revision: 0x03, driver: "igc", group: 21, flr: true))
        .Function("0000:00:1f.0", "8086:7a84", 0x060100, subsystem: "1043:8694", revision: 0x11, group: 11)
        .Function("0000:00:1f.4", "8086:7aa3", 0x0c0500, subsystem: "1043:8694", revision: 0x11, driver: "i801_smbus", group: 11)
        .Function("0000:00:1f.5", "8086:7aa4", 0x0c8000, subsystem: "1043:8694", revision: 0x11, driver: "intel-spi", group: 11);

    /// <summary>
    /// Seed 001: Proxmox on Intel (Z390), an RTX 2080 (01:00.0/.1, group 12, FLR+, on vfio-pci) and an I350
    /// (03:00.0, group 13) with SR-IOV: 8 VFs possible, 4 enabled (03:10.0, 03:10.4, 03:11.0, 03:11.4).
    /// </summary>
    public static HostTreeBuilder Seed001IntelRtx2080I350() => new HostTreeBuilder()
        .Describe("Seed 001: Proxmox on Intel Z390, RTX 2080 (group 12, FLR) on vfio-pci and an I350 with SR-IOV (8 VFs, 4 enabled).")
        .Describe("From the report: ids, addresses, groups 0/1/12/13, command line, modules, SR-IOV totals. Filled in: chipset, VF groups, board.")
        .Intel("Intel(R) Core(TM) i9-9900KF CPU @ 3.60GHz", cores: 8, threads: 16)
        .Kernel("6.8.12-5-pve")
        .Cmdline("BOOT_IMAGE=/boot/vmlinuz-6.8.12-5-pve root=ZFS=rpool/ROOT/pve-1 ro quiet intel_iommu=on iommu=pt pcie_acs_override=downstream,multifunction")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_intel", "kvm", "igb", "igbvf", "zfs")
        .Dmi("Gigabyte Technology Co., Ltd.", "Z390 AORUS PRO", "American Megatrends Inc.", "F12", "11/05/2021")
        .DefaultGroupType("identity")
        .File("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=\"Proxmox VE\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt pcie_acs_override=downstream,multifunction\"\nGRUB_CMDLINE_LINUX=\"root=ZFS=rpool/ROOT/pve-1 boot=zfs\"\n")
        .Function("0000:00:00.0", "8086:3e0f", 0x060000, subsystem: "1458:5000", revision: 0x0d, group: 0)
        .RootPort("0000:00:01.0", "8086:1901", group: 1, revision: 0x0d, below: b => b
            .Function("0000:01:00.0", "10de:1e87", 0x030000, subsystem: "1462:3721", revision: 0xa1, driver: "vfio-pci", group: 12, flr: true, bootVga: true)
            .Function("0000:01:00.1", "10de:10f8", 0x040300, subsystem: "1462:3721", revision: 0xa1, driver: "vfio-pci", group: 12))
        .Function("0000:00:14.0", "8086:a36d", 0x0c0330, subsystem: "1458:5007", revision: 0x10, driver: "xhci_hcd", group: 3)
        .Function("0000:00:17.0", "8086:a352", 0x010601, subsystem: "1458:b005", revision: 0x10, driver: "ahci", group: 4)
        .RootPort("0000:00:1c.0", "8086:a338", group: 9, acs: true, revision: 0xf0, below: b => b
            .Function("0000:03:00.0", "8086:1521", 0x020000, subsystem: "8086:0001", revision: 0x01, driver: "igb", group: 13, flr: true, sriovTotalVfs: 8, sriovNumVfs: 4)
            .Function("0000:03:10.0", "8086:1520", 0x020000, subsystem: "8086:0001", revision: 0x01, driver: "igbvf", group: 14, flr: true)
            .Function("0000:03:10.4", "8086:1520", 0x020000, subsystem: "8086:0001", revision: 0x01, driver: "igbvf", group: 15, flr: true)
            .Function("0000:03:11.0", "8086:1520", 0x020000, subsystem: "8086:0001", revision: 0x01, driver: "igbvf", group: 16, flr: true)
            .Function("0000:03:11.4", "8086:1520", 0x020000, subsystem: "8086:0001", revision: 0x01, driver: "igbvf", group: 17, flr: true))
        .Function("0000:00:1f.0", "8086:a305", 0x060100, subsystem: "1458:5001", revision: 0x10, group: 5)
        .Function("0000:00:1f.4", "8086:a323", 0x0c0500, subsystem: "1458:5001", revision: 0x10, driver: "i801_smbus", group: 5);

    /// <summary>
    /// Seed 003: Fedora 44 on AM5 with the iGPU as primary display and an RX 7900 XTX whose four functions
    /// (VGA, HDMI audio, USB xHCI, UCSI/I2C) share group 13, of type identity (the VBIOS's force_iommu flag).
    /// At boot vfio-pci.ids took .0 and .1; built-in xhci_hcd and i2c-designware-pci hold .2 and .3.
    /// </summary>
    public static HostTreeBuilder Seed003FedoraRx7900Xtx() => new HostTreeBuilder()
        .Describe("Seed 003: Fedora 44 (patched kernel), AM5 with the iGPU as primary display, RX 7900 XTX with four functions in group 13 (identity).")
        .Describe("From the report: ids, addresses, command line, drivers of 03:00.2/.3, identity domain. Filled in: groups, chipset, board, CPU model.")
        .Amd("AMD Ryzen 9 7950X 16-Core Processor", cores: 16, threads: 32)
        .Kernel("6.19.14-200.vfio_amd.fc44.x86_64")
        .Cmdline("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.19.14-200.vfio_amd.fc44.x86_64 root=UUID=0b2d7c8e-6f1a-4c55-9d0e-3c1f6a2b7e41 ro rootflags=subvol=root rhgb quiet amd_iommu=on amd_iommu_force_isolation=0 vfio-pci.ids=1002:744c,1002:ab30,1002:7446,1002:7444 amd_vfio_pass_fix=1")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_amd", "kvm", "amdgpu", "snd_hda_intel", "nvme", "ccp")
        .Dmi("ASUSTeK COMPUTER INC.", "ROG STRIX X670E-E GAMING WIFI", "American Megatrends Inc.", "2124", "03/17/2025")
        .GroupType(13, "identity")
        .Function("0000:00:00.0", "1022:14d8", 0x060000, subsystem: "1043:8877", group: 0)
        .Function("0000:00:00.2", "1022:14d9", 0x080600, subsystem: "1043:8877")
        .Function("0000:00:01.0", "1022:14da", 0x060000, group: 1)
        .RootPort("0000:00:01.1", "1022:14db", group: 2, acs: true, below: b => b
            .SwitchPort("0000:01:00.0", "1002:1478", group: 11, acs: true, revision: 0x10, below: up => up
                .SwitchPort("0000:02:00.0", "1002:1479", group: 12, revision: 0x10, below: down => down
                    .Function("0000:03:00.0", "1002:744c", 0x030000, subsystem: "1002:0e3b", revision: 0xc8, driver: "vfio-pci", group: 13, rebar: true)
                    .Function("0000:03:00.1", "1002:ab30", 0x040300, subsystem: "1002:ab30", driver: "vfio-pci", group: 13)
                    .Function("0000:03:00.2", "1002:7446", 0x0c0330, subsystem: "1002:0408", driver: "xhci_hcd", group: 13)
                    .Function("0000:03:00.3", "1002:7444", 0x0c8000, subsystem: "1002:0408", driver: "i2c-designware-pci", group: 13))))
        .RootPort("0000:00:02.2", "1022:14db", group: 3, acs: true, below: b => b
            .Function("0000:04:00.0", "144d:a80a", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 14, flr: true))
        .RootPort("0000:00:08.1", "1022:14dd", group: 4, acs: true, below: b => b
            .Function("0000:0f:00.0", "1002:164e", 0x030000, subsystem: "1043:8877", revision: 0xc1, driver: "amdgpu", group: 15, bootVga: true)
            .Function("0000:0f:00.1", "1002:1640", 0x040300, subsystem: "1043:8877", driver: "snd_hda_intel", group: 16)
            .Function("0000:0f:00.2", "1022:1649", 0x108000, subsystem: "1043:8877", driver: "ccp", group: 17)
            .Function("0000:0f:00.3", "1022:15b6", 0x0c0330, subsystem: "1043:8877", driver: "xhci_hcd", group: 18)
            .Function("0000:0f:00.4", "1022:15b7", 0x0c0330, subsystem: "1043:8877", driver: "xhci_hcd", group: 19)
            .Function("0000:0f:00.6", "1022:15e3", 0x040300, subsystem: "1043:8877", driver: "snd_hda_intel", group: 20))
        .Function("0000:00:14.0", "1022:790b", 0x0c0500, subsystem: "1043:8877", revision: 0x71, driver: "piix4_smbus", group: 6)
        .Function("0000:00:14.3", "1022:790e", 0x060100, subsystem: "1043:8877", revision: 0x51, group: 6);

    /// <summary>
    /// Issue 15's dual-GPU desktop in dynamic mode: seed 003's AM5 board with the iGPU (0f:00.0, card0) running
    /// the desktop and the RX 7900 XTX (03:00.0, card1; HDMI audio card1) on amdgpu for the VM, which gnome-shell
    /// (pid 2301, user alice) holds open too; the card's BAR 0 resized to 32 GiB (offers 256 MiB..32 GiB).
    /// </summary>
    public static HostTreeBuilder DualGpuGnomeRebar()
    {
        const string dgpu = "sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/0000:02:00.0/0000:03:00.0";
        const string audio = "sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/0000:02:00.0/0000:03:00.1";
        const string igpu = "sys/devices/pci0000:00/0000:00:08.1/0000:0f:00.0";
        var builder = new HostTreeBuilder()
            .Describe("Issue 15: dual-GPU GNOME desktop in dynamic mode; gnome-shell holds the dGPU's card1; its BAR 0 is 32 GiB (Resizable BAR).")
            .Describe("Built on seed 003's board: the iGPU drives the desktop, the RX 7900 XTX is on amdgpu between VM runs. Filled in: processes, DRM and sound nodes, BAR sizes.")
            .Amd("AMD Ryzen 9 7950X 16-Core Processor", cores: 16, threads: 32)
            .Kernel("6.17.7-300.fc43.x86_64")
            .Cmdline("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.17.7-300.fc43.x86_64 root=UUID=0b2d7c8e-6f1a-4c55-9d0e-3c1f6a2b7e41 ro rootflags=subvol=root rhgb quiet amd_iommu=on iommu=pt")
            .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_amd", "kvm", "amdgpu", "snd_hda_intel", "nvme", "ccp")
            .Dmi("ASUSTeK COMPUTER INC.", "ROG STRIX X670E-E GAMING WIFI", "American Megatrends Inc.", "2124", "03/17/2025")
            .DefaultGroupType("identity")
            .Function("0000:00:00.0", "1022:14d8", 0x060000, subsystem: "1043:8877", group: 0)
            .Function("0000:00:01.0", "1022:14da", 0x060000, group: 1)
            .RootPort("0000:00:01.1", "1022:14db", group: 2, acs: true, below: b => b
                .SwitchPort("0000:01:00.0", "1002:1478", group: 11, acs: true, revision: 0x10, below: up => up
                    .SwitchPort("0000:02:00.0", "1002:1479", group: 12, revision: 0x10, below: down => down
                        .Function("0000:03:00.0", "1002:744c", 0x030000, subsystem: "1002:0e3b", revision: 0xc8, driver: "amdgpu", group: 13, rebarCurrent: 15, rebarSizes: 0x000ff000)
                        .Function("0000:03:00.1", "1002:ab30", 0x040300, subsystem: "1002:ab30", driver: "snd_hda_intel", group: 13))))
            .RootPort("0000:00:02.2", "1022:14db", group: 3, acs: true, below: b => b
                .Function("0000:04:00.0", "144d:a80a", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 14, flr: true))
            .RootPort("0000:00:08.1", "1022:14dd", group: 4, acs: true, below: b => b
                .Function("0000:0f:00.0", "1002:164e", 0x030000, subsystem: "1043:8877", revision: 0xc1, driver: "amdgpu", group: 15, bootVga: true)
                .Function("0000:0f:00.1", "1002:1640", 0x040300, subsystem: "1043:8877", driver: "snd_hda_intel", group: 16))
            .Function("0000:00:14.0", "1022:790b", 0x0c0500, subsystem: "1043:8877", revision: 0x71, driver: "piix4_smbus", group: 6);
        foreach (var (dir, node) in new[] { (igpu, "card0"), (igpu, "renderD128"), (dgpu, "card1"), (dgpu, "renderD129") })
        {
            builder.Link($"/{dir}/drm/{node}/device", "../../../" + dir[(dir.LastIndexOf('/') + 1)..])
                .Link($"/sys/class/drm/{node}", "../../" + dir["sys/".Length..] + "/drm/" + node);
        }

        return builder
            .Link($"/{audio}/sound/card1/device", "../../../0000:03:00.1")
            .Link("/sys/class/sound/card1", "../../" + audio["sys/".Length..] + "/sound/card1")
            .File("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ngdm:x:42:42::/var/lib/gdm:/sbin/nologin\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n")
            .File("/proc/2301/comm", "gnome-shell\n")
            .File("/proc/2301/status", "Name:\tgnome-shell\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n")
            .Link("/proc/2301/fd/14", "/dev/dri/card0")
            .Link("/proc/2301/fd/15", "/dev/dri/renderD128")
            .Link("/proc/2301/fd/16", "/dev/dri/card1")
            .File("/proc/2455/comm", "pipewire\n")
            .File("/proc/2455/status", "Name:\tpipewire\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n")
            .Link("/proc/2455/fd/30", "/dev/snd/controlC0");
    }

    /// <summary>
    /// Seed 004: Unraid 7.2.3 on an MSI X870E Carbon (Ryzen 9 9950X3D, Radeon iGPU as primary display), the RTX
    /// 4060 Ti (01:00.0/.1) on vfio-pci in group 14 of type identity; command line as set in limine.conf.
    /// </summary>
    public static HostTreeBuilder Seed004X870eRtx4060Ti() => Seed004(
            "pcie_acs_override=downstream,multifunction amd_iommu=on iommu.passthrough=1 vfio-pci.ids=10de:2805,10de:22bd video=efifb:off")
        .Describe("Command line as fixed in /boot/limine.conf: iommu.passthrough=1 makes every group identity.")
        .DefaultGroupType("identity");

    /// <summary>Seed 004 before the fix: Limine ignored syslinux.cfg, so /proc/cmdline was empty; group 14 is identity
    /// anyway (the firmware asks for a 1:1 mapping), the other groups are DMA-FQ.</summary>
    public static HostTreeBuilder Seed004X870eEmptyCmdline() => Seed004(string.Empty)
        .Describe("Empty /proc/cmdline (Limine booted without the syslinux.cfg parameters); group 14 identity at the firmware's request.")
        .GroupType(14, "identity");

    /// <summary>A desktop with the IOMMU off in the firmware (VT-d disabled): no /sys/class/iommu, no groups.</summary>
    public static HostTreeBuilder NoIommu() => new HostTreeBuilder()
        .Describe("A desktop with VT-d disabled in the firmware: no IOMMU units, no IOMMU groups.")
        .Intel("12th Gen Intel(R) Core(TM) i7-12700K", cores: 12, threads: 20)
        .NoIommu()
        .Kernel("6.11.0-29-generic")
        .Cmdline("BOOT_IMAGE=/boot/vmlinuz-6.11.0-29-generic root=UUID=6a3e0d0c-1f7b-4c1e-8a0d-2f9c5b7e3d10 ro quiet splash")
        .Modules("nvidia_drm", "nvidia_modeset", "nvidia", "snd_hda_intel", "kvm_intel", "kvm", "nvme")
        .Dmi("Micro-Star International Co., Ltd.", "PRO Z690-A DDR4(MS-7D25)", "American Megatrends International, LLC.", "1.C0", "10/19/2023")
        .Function("0000:00:00.0", "8086:4668", 0x060000, revision: 0x02)
        .Function("0000:00:02.0", "8086:4680", 0x030000, revision: 0x0c, driver: "i915")
        .RootPort("0000:00:01.0", "8086:460d", revision: 0x02, below: b => b
            .Function("0000:01:00.0", "10de:2684", 0x030000, subsystem: "1462:510b", revision: 0xa1, driver: "nvidia", flr: true, bootVga: true)
            .Function("0000:01:00.1", "10de:22ba", 0x040300, subsystem: "1462:510b", revision: 0xa1, driver: "snd_hda_intel"))
        .Function("0000:00:14.0", "8086:7ae0", 0x0c0330, revision: 0x11, driver: "xhci_hcd")
        .Function("0000:00:17.0", "8086:7ae2", 0x010601, revision: 0x11, driver: "ahci");

    /// <summary>
    /// An Intel Raptor Lake desktop whose iGPU (00:02.0, xe) has SR-IOV on: 7 VFs possible, 2 enabled. 00:02.1 is on
    /// the xe_vfio_pci variant driver (a module holding vfio_pci_core), 00:02.2 on vfio-pci; each VF in its own
    /// IOMMU group; the host keeps its display on the PF. No discrete GPU.
    /// </summary>
    public static HostTreeBuilder IgpuSriovXe() => new HostTreeBuilder()
        .Describe("Intel Raptor Lake desktop, iGPU 00:02.0 on xe with SR-IOV: 2 of 7 VFs enabled, 00:02.1 on xe_vfio_pci, 00:02.2 on vfio-pci.")
        .Describe("Built for issue 15 from the kernel's SR-IOV layout (physfn/virtfnN links, sriov_* files, VFs with the PF's ids, each in its own group).")
        .Intel("13th Gen Intel(R) Core(TM) i5-13600K", cores: 14, threads: 20)
        .Kernel("6.19.2-arch1-1")
        .Cmdline("BOOT_IMAGE=/vmlinuz-linux root=UUID=9f1c2a4e-3b7d-4e0f-a6c2-5d8e1f3b7a90 rw intel_iommu=on iommu=pt xe.force_probe=a780 i915.force_probe=!a780 xe.max_vfs=7")
        .Modules("xe_vfio_pci", "vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "xe", "kvm_intel", "kvm", "snd_hda_intel", "e1000e", "nvme")
        .Dmi("Micro-Star International Co., Ltd.", "PRO Z790-P WIFI (MS-7E06)", "American Megatrends International, LLC.", "1.D0", "05/22/2024")
        .DefaultGroupType("identity")
        .DriverModule("vfio-pci", "vfio_pci", usesVfioPciCore: true)
        .DriverModule("xe_vfio_pci", "xe_vfio_pci", usesVfioPciCore: true)
        .DriverModule("xe", "xe")
        .Function("0000:00:00.0", "8086:a700", 0x060000, subsystem: "1462:7e06", revision: 0x01, group: 0)
        .Function("0000:00:02.0", "8086:a780", 0x030000, subsystem: "1462:7e06", revision: 0x04, driver: "xe", group: 1, flr: true, bootVga: true, rom: false, sriovTotalVfs: 7, sriovNumVfs: 2)
        .Function("0000:00:02.1", "8086:a780", 0x030000, subsystem: "1462:7e06", revision: 0x04, driver: "xe_vfio_pci", group: 17, flr: true, rom: false, physfn: "0000:00:02.0")
        .Function("0000:00:02.2", "8086:a780", 0x030000, subsystem: "1462:7e06", revision: 0x04, driver: "vfio-pci", group: 18, flr: true, rom: false, physfn: "0000:00:02.0")
        .Function("0000:00:14.0", "8086:7a60", 0x0c0330, subsystem: "1462:7e06", revision: 0x11, driver: "xhci_hcd", group: 5)
        .Function("0000:00:17.0", "8086:7a62", 0x010601, subsystem: "1462:7e06", revision: 0x11, driver: "ahci", group: 7)
        .RootPort("0000:00:1a.0", "8086:7a48", group: 8, acs: true, revision: 0x11, below: b => b
            .Function("0000:01:00.0", "144d:a80c", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 13, flr: true))
        .Function("0000:00:1f.0", "8086:7a04", 0x060100, subsystem: "1462:7e06", revision: 0x11, group: 12)
        .Function("0000:00:1f.3", "8086:7a50", 0x040300, subsystem: "1462:ee06", revision: 0x11, driver: "snd_hda_intel", group: 12)
        .Function("0000:00:1f.4", "8086:7a23", 0x0c0500, subsystem: "1462:7e06", revision: 0x11, driver: "i801_smbus", group: 12)
        .Function("0000:00:1f.6", "8086:1a1c", 0x020000, subsystem: "1462:7e06", revision: 0x11, driver: "e1000e", group: 12);

    /// <summary>
    /// A dual-GPU AM5 desktop in dynamic mode: the Ryzen iGPU (Raphael, 0f:00.0) drives the desktop, an RX 7600 (Navi 33,
    /// RDNA3, 03:00.0/.1 behind the card's own switch) is for the VM and still on amdgpu/snd_hda_intel between runs.
    /// </summary>
    public static HostTreeBuilder Rx7600Navi33Dual() => new HostTreeBuilder()
        .Describe("AM5 desktop, Ryzen 7 7700 iGPU for the host, RX 7600 (Navi 33, RDNA3) for the VM in dynamic mode, on amdgpu between runs.")
        .Describe("Built for issue 15 from public reports of RDNA3 cards on rebind; ids and switch layout as the 7900 XTX seeds (Navi 31 -> Navi 33).")
        .Amd("AMD Ryzen 7 7700 8-Core Processor", cores: 8, threads: 16)
        .Kernel("6.17.8-300.fc43.x86_64")
        .Cmdline("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.17.8-300.fc43.x86_64 root=UUID=2e6b9c1d-7a4f-4d3e-9b8a-1c5f0e7d2a64 ro rootflags=subvol=root rhgb quiet amd_iommu=on iommu=pt")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_amd", "kvm", "amdgpu", "snd_hda_intel", "nvme", "r8169")
        .Dmi("Gigabyte Technology Co., Ltd.", "B650 AORUS ELITE AX", "American Megatrends International, LLC.", "F31", "09/12/2024")
        .DefaultGroupType("identity")
        .Function("0000:00:00.0", "1022:14d8", 0x060000, subsystem: "1458:5000", group: 0)
        .Function("0000:00:00.2", "1022:14d9", 0x080600, subsystem: "1458:5000")
        .Function("0000:00:01.0", "1022:14da", 0x060000, group: 1)
        .RootPort("0000:00:01.1", "1022:14db", group: 2, acs: true, below: b => b
            .SwitchPort("0000:01:00.0", "1002:1478", group: 11, acs: true, revision: 0x12, below: up => up
                .SwitchPort("0000:02:00.0", "1002:1479", group: 12, revision: 0x12, below: down => down
                    .Function("0000:03:00.0", "1002:7480", 0x030000, subsystem: "1458:2405", revision: 0xcf, driver: "amdgpu", group: 13, rebar: true)
                    .Function("0000:03:00.1", "1002:ab30", 0x040300, subsystem: "1458:2405", driver: "snd_hda_intel", group: 14))))
        .RootPort("0000:00:01.2", "1022:14db", group: 5, acs: true, below: b => b
            .Function("0000:05:00.0", "144d:a80c", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 18, flr: true))
        .RootPort("0000:00:02.2", "1022:14db", group: 3, acs: true, below: b => b
            .Function("0000:04:00.0", "10ec:8125", 0x020000, subsystem: "1458:e000", revision: 0x05, driver: "r8169", group: 15))
        .RootPort("0000:00:08.1", "1022:14dd", group: 4, acs: true, below: b => b
            .Function("0000:0f:00.0", "1002:164e", 0x030000, subsystem: "1458:d000", revision: 0xc1, driver: "amdgpu", group: 16, bootVga: true)
            .Function("0000:0f:00.1", "1002:1640", 0x040300, subsystem: "1458:d000", driver: "snd_hda_intel", group: 17))
        .Function("0000:00:14.0", "1022:790b", 0x0c0500, subsystem: "1458:5000", revision: 0x71, driver: "piix4_smbus", group: 6)
        .Function("0000:00:14.3", "1022:790e", 0x060100, subsystem: "1458:5000", revision: 0x51, group: 6);

    /// <summary>
    /// A laptop: the Intel iGPU (00:02.0, i915) drives the panel; the RTX 4060 Laptop GPU (01:00.0) is a 3D controller
    /// (class 0302) with no display outputs and no ROM BAR (its VBIOS is in the system firmware), alone in group 14.
    /// </summary>
    public static HostTreeBuilder LaptopRtx4060() => new HostTreeBuilder()
        .Describe("Laptop, Raptor Lake-P Iris Xe for the panel, RTX 4060 Laptop GPU as a 3D controller (0302) with no outputs and no ROM BAR.")
        .Describe("Built for issue 15 from the Optimus layout: dGPU behind root port 00:01.0 in its own group, no HDMI audio function.")
        .Intel("13th Gen Intel(R) Core(TM) i7-13700H", cores: 14, threads: 20)
        .Kernel("6.17.7-300.fc43.x86_64")
        .Cmdline("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.17.7-300.fc43.x86_64 root=UUID=5c2e8a1f-0d3b-4f7e-8a6c-9e1b2d4f7a03 ro rhgb quiet intel_iommu=on iommu=pt")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_intel", "kvm", "i915", "nvidia_drm", "nvidia_modeset", "nvidia", "snd_hda_intel", "nvme")
        .Dmi("ASUSTeK COMPUTER INC.", "G614JV", "American Megatrends International, LLC.", "G614JV.318", "03/14/2024")
        .DefaultGroupType("identity")
        .Function("0000:00:00.0", "8086:a706", 0x060000, subsystem: "1043:1a83", revision: 0x02, group: 0)
        .RootPort("0000:00:01.0", "8086:a70d", group: 2, revision: 0x02, below: b => b
            .Function("0000:01:00.0", "10de:28e0", 0x030200, subsystem: "1043:1a83", revision: 0xa1, driver: "nvidia", group: 14, rom: false))
        .Function("0000:00:02.0", "8086:a7a0", 0x030000, subsystem: "1043:1a83", revision: 0x04, driver: "i915", group: 1, flr: true, bootVga: true)
        .Function("0000:00:14.0", "8086:51ed", 0x0c0330, subsystem: "1043:1a83", revision: 0x01, driver: "xhci_hcd", group: 5)
        .Function("0000:00:1f.0", "8086:519d", 0x060100, subsystem: "1043:1a83", revision: 0x01, group: 12)
        .Function("0000:00:1f.3", "8086:51ca", 0x040380, subsystem: "1043:1a83", revision: 0x01, driver: "sof-audio-pci-intel-tgl", group: 12)
        .Function("0000:00:1f.4", "8086:51a3", 0x0c0500, subsystem: "1043:1a83", revision: 0x01, driver: "i801_smbus", group: 12)
        .RootPort("0000:00:06.0", "8086:a74d", group: 3, acs: true, revision: 0x02, below: b => b
            .Function("0000:02:00.0", "144d:a80c", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 15, flr: true));

    /// <summary>
    /// The example host of `make demo`: a Fedora desktop booting on the Intel iGPU, with an RTX 2070 SUPER (VGA,
    /// HDMI audio, USB-C xHCI, UCSI) in its own group for the VM; vfio-pci.ids took .0 and .1, the host's
    /// xhci_hcd and nvidia-gpu (UCSI) still hold .2 and .3.
    /// </summary>
    public static HostTreeBuilder Workstation() => new HostTreeBuilder()
        .Describe("Example host: a Fedora 43 desktop (Z390, i9-9900K) on the Intel iGPU, an RTX 2070 SUPER for the VM in group 12.")
        .Intel("Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz", cores: 8, threads: 16)
        .Kernel("6.17.7-300.fc43.x86_64")
        .Cmdline("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.17.7-300.fc43.x86_64 root=UUID=4b1e7f0c-93d2-4f6e-b1a5-0c8e2d9f7a36 ro rootflags=subvol=root rhgb quiet intel_iommu=on iommu=pt rd.driver.pre=vfio-pci vfio-pci.ids=10de:1e84,10de:10f8")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_intel", "kvm", "i915", "snd_hda_intel", "e1000e", "nvme", "i2c_nvidia_gpu", "ucsi_ccg", "mei_me")
        .Dmi("ASUSTeK COMPUTER INC.", "PRIME Z390-A", "American Megatrends Inc.", "2417", "08/05/2019")
        .DefaultGroupType("identity")
        .Function("0000:00:00.0", "8086:3e30", 0x060000, subsystem: "1043:8694", revision: 0x0d, driver: "skl_uncore", group: 0)
        .RootPort("0000:00:01.0", "8086:1901", group: 2, revision: 0x0d, below: b => b
            .Function("0000:01:00.0", "10de:1e84", 0x030000, subsystem: "1043:8709", revision: 0xa1, driver: "vfio-pci", group: 12, flr: true)
            .Function("0000:01:00.1", "10de:10f8", 0x040300, subsystem: "1043:8709", revision: 0xa1, driver: "vfio-pci", group: 12)
            .Function("0000:01:00.2", "10de:1ad8", 0x0c0330, subsystem: "1043:8709", revision: 0xa1, driver: "xhci_hcd", group: 12)
            .Function("0000:01:00.3", "10de:1ad9", 0x0c8000, subsystem: "1043:8709", revision: 0xa1, driver: "nvidia-gpu", group: 12))
        .Function("0000:00:02.0", "8086:3e98", 0x030000, subsystem: "1043:8694", revision: 0x02, driver: "i915", group: 1, flr: true, bootVga: true)
        .Function("0000:00:14.0", "8086:a36d", 0x0c0330, subsystem: "1043:8694", revision: 0x10, driver: "xhci_hcd", group: 3)
        .Function("0000:00:14.2", "8086:a36f", 0x050000, subsystem: "1043:8694", revision: 0x10, group: 3)
        .Function("0000:00:16.0", "8086:a360", 0x078000, subsystem: "1043:8694", revision: 0x10, driver: "mei_me", group: 4)
        .Function("0000:00:17.0", "8086:a352", 0x010601, subsystem: "1043:8694", revision: 0x10, driver: "ahci", group: 5)
        .RootPort("0000:00:1b.0", "8086:a340", group: 6, acs: true, revision: 0xf0, below: b => b
            .Function("0000:02:00.0", "144d:a80a", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 13, flr: true))
        .Function("0000:00:1f.0", "8086:a305", 0x060100, subsystem: "1043:8694", revision: 0x10, group: 7)
        .Function("0000:00:1f.3", "8086:a348", 0x040300, subsystem: "1043:8724", revision: 0x10, driver: "snd_hda_intel", group: 7)
        .Function("0000:00:1f.4", "8086:a323", 0x0c0500, subsystem: "1043:8694", revision: 0x10, driver: "i801_smbus", group: 7)
        .Function("0000:00:1f.5", "8086:a324", 0x0c8000, subsystem: "1043:8694", revision: 0x10, driver: "intel-spi", group: 7)
        .Function("0000:00:1f.6", "8086:15bc", 0x020000, subsystem: "1043:8672", revision: 0x10, driver: "e1000e", group: 7);

    /// <summary>
    /// A large generated host for benchmarks: a host bridge plus root ports, each with a card below it (every fourth a
    /// GPU with VGA, audio, xHCI and UCSI; the others a dual-port NIC), until <paramref name="functions"/> functions.
    /// </summary>
    public static HostTreeBuilder Generated(int functions = 256)
    {
        var builder = new HostTreeBuilder()
            .Describe($"Generated host with {functions} PCI functions, for benchmarks.")
            .Amd().Kernel("6.12.0").Cmdline("BOOT_IMAGE=/vmlinuz ro amd_iommu=on iommu=pt").Modules("vfio_pci", "amdgpu", "igb")
            .Function("0000:00:00.0", "1022:14d8", 0x060000, group: 0);
        var count = 1;
        var group = 1;
        for (var port = 0; count < functions; port++)
        {
            var bus = port + 1;
            var cardFunctions = Math.Min(port % 4 == 0 ? 4 : 2, functions - count - 1);
            var rootPort = $"0000:00:{1 + (port / 8):x2}.{port % 8}";
            var portGroup = group++;
            var cardGroup = group++;
            builder.RootPort(rootPort, "1022:14db", group: portGroup, acs: true, below: b =>
            {
                for (var fn = 0; fn < cardFunctions; fn++)
                {
                    var address = $"0000:{bus:x2}:00.{fn}";
                    if (port % 4 == 0)
                    {
                        var (ids, cls, driver) = fn switch
                        {
                            0 => ("1002:744c", 0x030000, "amdgpu"),
                            1 => ("1002:ab30", 0x040300, "snd_hda_intel"),
                            2 => ("1002:7446", 0x0c0330, "xhci_hcd"),
                            _ => ("1002:7444", 0x0c8000, "i2c-designware-pci"),
                        };
                        b.Function(address, ids, cls, subsystem: "1002:0e3b", driver: driver, group: cardGroup, bootVga: port == 0, rebar: fn == 0);
                    }
                    else
                    {
                        b.Function(address, "8086:1521", 0x020000, subsystem: "8086:0001", driver: "igb", group: cardGroup, flr: true, sriovTotalVfs: 8);
                    }
                }
            });
            count += 1 + cardFunctions;
        }

        return builder;
    }

    private static HostTreeBuilder Seed004(string cmdline) => new HostTreeBuilder()
        .Describe("Seed 004: Unraid 7.2.3, MSI MPG X870E Carbon WiFi, Ryzen 9 9950X3D with the Radeon iGPU as primary display, RTX 4060 Ti in group 14.")
        .Describe("From the report: board, BIOS, CPU, kernel, ids, addresses, group 14 and its type, vfio-pci binding. Filled in: other devices and groups.")
        .Amd("AMD Ryzen 9 9950X3D 16-Core Processor", cores: 16, threads: 32)
        .Kernel("6.12.54-Unraid")
        .Cmdline(cmdline)
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_amd", "kvm", "amdgpu", "nvme", "r8169")
        .Dmi("Micro-Star International Co., Ltd.", "MPG X870E CARBON WIFI (MS-7E49)", "American Megatrends International, LLC.", "1.A7D", "01/07/2026")
        .File("/boot/limine.conf", "timeout: 5\n\n/Unraid OS\n    protocol: linux\n    kernel_path: boot():/bzimage\n    module_path: boot():/bzroot\n    cmdline: pcie_acs_override=downstream,multifunction amd_iommu=on iommu.passthrough=1 vfio-pci.ids=10de:2805,10de:22bd video=efifb:off\n    comment: Unraid OS\n")
        .Function("0000:00:00.0", "1022:14d8", 0x060000, subsystem: "1462:7e49", group: 0)
        .Function("0000:00:00.2", "1022:14d9", 0x080600, subsystem: "1462:7e49")
        .Function("0000:00:01.0", "1022:14da", 0x060000, group: 1)
        .RootPort("0000:00:01.1", "1022:14db", group: 2, acs: true, below: b => b
            .Function("0000:01:00.0", "10de:2805", 0x030000, subsystem: "1462:5174", revision: 0xa1, driver: "vfio-pci", group: 14, flr: true, rebar: true)
            .Function("0000:01:00.1", "10de:22bd", 0x040300, subsystem: "1462:5174", revision: 0xa1, driver: "vfio-pci", group: 14))
        .RootPort("0000:00:01.2", "1022:14db", group: 3, acs: true, below: b => b
            .Function("0000:02:00.0", "15b7:5030", 0x010802, subsystem: "15b7:5030", revision: 0x01, driver: "nvme", group: 15, flr: true))
        .RootPort("0000:00:02.1", "1022:14db", group: 5, acs: true, below: b => b
            .Function("0000:03:00.0", "10ec:8126", 0x020000, subsystem: "1462:7e49", revision: 0x01, driver: "r8169", group: 16))
        .RootPort("0000:00:08.1", "1022:14dd", group: 8, acs: true, below: b => b
            .Function("0000:7c:00.0", "1002:13c0", 0x030000, subsystem: "1462:7e49", revision: 0xc9, driver: "amdgpu", group: 26, bootVga: true)
            .Function("0000:7c:00.1", "1002:1640", 0x040300, subsystem: "1462:7e49", driver: "snd_hda_intel", group: 27)
            .Function("0000:7c:00.2", "1022:1649", 0x108000, subsystem: "1462:7e49", driver: "ccp", group: 28)
            .Function("0000:7c:00.3", "1022:15b6", 0x0c0330, subsystem: "1462:7e49", driver: "xhci_hcd", group: 29)
            .Function("0000:7c:00.4", "1022:15b7", 0x0c0330, subsystem: "1462:7e49", driver: "xhci_hcd", group: 30)
            .Function("0000:7c:00.6", "1022:15e3", 0x040300, subsystem: "1462:7e49", driver: "snd_hda_intel", group: 31))
        .Function("0000:00:14.0", "1022:790b", 0x0c0500, subsystem: "1462:7e49", revision: 0x71, driver: "piix4_smbus", group: 9)
        .Function("0000:00:14.3", "1022:790e", 0x060100, subsystem: "1462:7e49", revision: 0x51, group: 9);
}
