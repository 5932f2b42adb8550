namespace Passthrough.Testing;

/// <summary>
/// Seed 003 after the hardware changed: the bus numbers the VM's hostdevs name no longer hold its card
/// (device identity: `xml fix-addresses`, the hook's and doctor's checks).
/// </summary>
public static partial class FixtureHosts
{
    /// <summary>
    /// Seed 003 with an NVMe drive added on a root port enumerated before the GPU's (00:01.0's neighbour
    /// 00:00.3 stands in for it): the card's switch and the RX 7900 XTX move down one bus (03:00 to 04:00),
    /// the first NVMe from 04:00 to 05:00; the root port above the card (00:01.1) and every id stay.
    /// </summary>
    public static HostTreeBuilder Seed003RenumberedNvmeAdded() => Seed003Base()
        .Describe("Seed 003 after an NVMe drive was added ahead of the GPU: the RX 7900 XTX moved from 03:00 to 04:00 (same root port 00:01.1).")
        .Describe("Filled in: the added drive (Samsung 990 PRO) on root port 00:00.3, bus 01; every other device as in seed 003, one bus further down.")
        .RootPort("0000:00:00.3", "1022:14db", group: 21, acs: true, below: b => b
            .Function("0000:01:00.0", "144d:a80c", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 22, flr: true))
        .RootPort("0000:00:01.1", "1022:14db", group: 2, acs: true, below: b => b
            .SwitchPort("0000:02:00.0", "1002:1478", group: 11, acs: true, revision: 0x10, below: up => up
                .SwitchPort("0000:03:00.0", "1002:1479", group: 12, revision: 0x10, below: down => down
                    .Function("0000:04:00.0", "1002:744c", 0x030000, subsystem: "1002:0e3b", revision: 0xc8, driver: "vfio-pci", group: 13, rebar: true)
                    .Function("0000:04:00.1", "1002:ab30", 0x040300, subsystem: "1002:ab30", driver: "vfio-pci", group: 13)
                    .Function("0000:04:00.2", "1002:7446", 0x0c0330, subsystem: "1002:0408", driver: "xhci_hcd", group: 13)
                    .Function("0000:04:00.3", "1002:7444", 0x0c8000, subsystem: "1002:0408", driver: "i2c-designware-pci", group: 13))))
        .RootPort("0000:00:02.2", "1022:14db", group: 3, acs: true, below: b => b
            .Function("0000:05:00.0", "144d:a80a", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 14, flr: true));

    /// <summary>
    /// Seed 003 with its RX 7900 XTX moved to another x16 slot (root port 00:01.2) next to a second, identical
    /// card (00:01.3): neither sits where the VM recorded it (below 00:01.1, at 03:00), so which is the VM's cannot be told.
    /// </summary>
    public static HostTreeBuilder Seed003RenumberedTwoGpus() => Seed003Base()
        .Describe("Seed 003 with two identical RX 7900 XTX cards on root ports 00:01.2 and 00:01.3; 00:01.1 (where the VM's card was) is empty.")
        .Describe("Filled in: the second card and both cards' slots; the cards have no switch here (direct on their root ports).")
        .RootPort("0000:00:01.2", "1022:14db", group: 2, acs: true, below: b => b
            .Function("0000:01:00.0", "1002:744c", 0x030000, subsystem: "1002:0e3b", revision: 0xc8, driver: "vfio-pci", group: 13, rebar: true)
            .Function("0000:01:00.1", "1002:ab30", 0x040300, subsystem: "1002:ab30", driver: "vfio-pci", group: 13))
        .RootPort("0000:00:01.3", "1022:14db", group: 21, acs: true, below: b => b
            .Function("0000:02:00.0", "1002:744c", 0x030000, subsystem: "1002:0e3b", revision: 0xc8, driver: "amdgpu", group: 22, rebar: true)
            .Function("0000:02:00.1", "1002:ab30", 0x040300, subsystem: "1002:ab30", driver: "snd_hda_intel", group: 22))
        .RootPort("0000:00:02.2", "1022:14db", group: 3, acs: true, below: b => b
            .Function("0000:03:00.0", "144d:a80a", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 14, flr: true));

    /// <summary>Seed 003 with the RX 7900 XTX taken out: root port 00:01.1 is empty, the NVMe drive moved up to 03:00.</summary>
    public static HostTreeBuilder Seed003GpuRemoved() => Seed003Base()
        .Describe("Seed 003 with the RX 7900 XTX removed: 00:01.1 is empty and the NVMe drive moved from 04:00 to 03:00.")
        .Describe("Filled in: everything else as in seed 003.")
        .RootPort("0000:00:01.1", "1022:14db", group: 2, acs: true)
        .RootPort("0000:00:02.2", "1022:14db", group: 3, acs: true, below: b => b
            .Function("0000:03:00.0", "144d:a80a", 0x010802, subsystem: "144d:a801", driver: "nvme", group: 14, flr: true));

    /// <summary>Seed 003's host without the devices below its root ports (each variant adds its own).</summary>
    private static HostTreeBuilder Seed003Base() => new HostTreeBuilder()
        .Amd("AMD Ryzen 9 7950X 16-Core Processor", cores: 16, threads: 32)
        .Kernel("6.19.14-200.vfio_amd.fc44.x86_64")
        .Cmdline("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.19.14-200.vfio_amd.fc44.x86_64 root=UUID=0b2d7c8e-6f1a-4c55-9d0e-3c1f6a2b7e41 ro rootflags=subvol=root rhgb quiet amd_iommu=on amd_iommu_force_isolation=0 vfio-pci.ids=1002:744c,1002:ab30,1002:7446,1002:7444 amd_vfio_pass_fix=1")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_amd", "kvm", "amdgpu", "snd_hda_intel", "nvme", "ccp")
        .Dmi("ASUSTeK COMPUTER INC.", "ROG STRIX X670E-E GAMING WIFI", "American Megatrends Inc.", "2124", "03/17/2025")
        .GroupType(13, "identity")
        .Function("0000:00:00.0", "1022:14d8", 0x060000, subsystem: "1043:8877", group: 0)
        .Function("0000:00:00.2", "1022:14d9", 0x080600, subsystem: "1043:8877")
        .Function("0000:00:01.0", "1022:14da", 0x060000, group: 1)
        .RootPort("0000:00:08.1", "1022:14dd", group: 4, acs: true, below: b => b
            .Function("0000:0f:00.0", "1002:164e", 0x030000, subsystem: "1043:8877", revision: 0xc1, driver: "amdgpu", group: 15, bootVga: true)
            .Function("0000:0f:00.1", "1002:1640", 0x040300, subsystem: "1043:8877", driver: "snd_hda_intel", group: 16)
            .Function("0000:0f:00.2", "1022:1649", 0x108000, subsystem: "1043:8877", driver: "ccp", group: 17)
            .Function("0000:0f:00.3", "1022:15b6", 0x0c0330, subsystem: "1043:8877", driver: "xhci_hcd", group: 18)
            .Function("0000:0f:00.4", "1022:15b7", 0x0c0330, subsystem: "1043:8877", driver: "xhci_hcd", group: 19)
            .Function("0000:0f:00.6", "1022:15e3", 0x040300, subsystem: "1043:8877", driver: "snd_hda_intel", group: 20))
        .Function("0000:00:14.0", "1022:790b", 0x0c0500, subsystem: "1043:8877", revision: 0x71, driver: "piix4_smbus", group: 6)
        .Function("0000:00:14.3", "1022:790e", 0x060100, subsystem: "1043:8877", revision: 0x51, group: 6);
}
