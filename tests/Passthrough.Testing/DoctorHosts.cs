namespace Passthrough.Testing;

/// <summary>
/// Host trees for the doctor, from the seeds' real outputs: their command lines, kernel log lines,
/// modprobe files, Unraid and systemd configs, lspci topologies. Each returns a builder so a test
/// can add or take away the one fact its check is about.
/// </summary>
public static class DoctorHosts
{
    public const string Seed004Cmdline = "pcie_acs_override=downstream,multifunction amd_iommu=on iommu.passthrough=1 vfio-pci.ids=10de:2805,10de:22bd video=efifb:off";

    public const string Seed004OneToOne = "vfio-pci 0000:01:00.0: Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without a 1:1 mapping. Contact your platform vendor.";

    /// <summary>/dev/kmsg records as the kernel writes them (PRI,SEQ,TS_USEC,FLAGS;message), with a dictionary line.</summary>
    public static string Kmsg(params string[] messages) =>
        string.Concat(messages.Select((m, i) => $"6,{i + 1},{i * 1000},-;{m}\n" + (m.StartsWith("vfio-pci ", StringComparison.Ordinal) ? " SUBSYSTEM=pci\n DEVICE=+pci:" + m.Split(' ')[1].TrimEnd(':') + "\n" : string.Empty)));

    /// <summary>Lays the tree out and makes the hook scripts executable (the capture format keeps no file modes).</summary>
    public static string Expand(HostTreeBuilder builder, string directory)
    {
        builder.WriteTo(directory);
        foreach (var hook in new[] { "etc/libvirt/hooks/qemu" }.Select(p => Path.Join(directory, p)).Where(File.Exists))
        {
            File.SetUnixFileMode(hook, File.GetUnixFileMode(hook) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        return directory;
    }

    /// <summary>Seed 004: Unraid 7.2.3 on an MSI X870E with a 9950X3D, RTX 4060 Ti in group 14, Limine, vfio-pci.cfg.</summary>
    public static HostTreeBuilder Seed004(string cmdline = Seed004Cmdline, bool oneToOne = true) => new HostTreeBuilder()
        .Describe("seed 004: Unraid 7.2.3, MSI MPG X870E Carbon WiFi, RTX 4060 Ti, firmware 1:1 mapping")
        .Amd()
        .Kernel("6.12.54-Unraid")
        .Cmdline(cmdline)
        .Dmi("Micro-Star International Co., Ltd.", "MPG X870E CARBON WIFI (MS-7E49)", "American Megatrends International, LLC.", "1.A7", "01/07/2026")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "amdgpu")
        .DefaultGroupType("identity")
        .Function("0000:00:00.0", "1022:14d8", 0x060000, group: 0)
        .RootPort("0000:00:01.1", "1022:14db", group: 13, acs: true, below: b => b
            .Function("0000:01:00.0", "10de:2805", 0x030000, subsystem: "1462:5174", revision: 0xa1, driver: "vfio-pci", group: 14, flr: true, rebar: true)
            .Function("0000:01:00.1", "10de:22bd", 0x040300, subsystem: "1462:5174", revision: 0xa1, driver: "vfio-pci", group: 14, flr: true))
        .RootPort("0000:00:08.1", "1022:14dd", group: 19, acs: true, below: b => b
            .Function("0000:7c:00.0", "1002:13c0", 0x030000, driver: "amdgpu", group: 20, bootVga: true))
        .File("/dev/kmsg", Kmsg(
            "Linux version 6.12.54-Unraid (root@Develop-712) (gcc (GCC) 14.2.0) #1 SMP PREEMPT_DYNAMIC",
            "Command line: " + cmdline,
            "iommu: Default domain type: Passthrough (set via kernel command line)",
            "AMD-Vi: IOMMU performance counters supported",
            "AMD-Vi: Interrupt remapping enabled",
            "pci 0000:01:00.0: Adding to iommu group 14",
            "pci 0000:01:00.1: Adding to iommu group 14",
            oneToOne ? Seed004OneToOne : "vfio-pci 0000:01:00.0: enabling device (0000 -> 0003)"))
        .File("/boot/config/vfio-pci.cfg", "BIND=0000:01:00.0|10de:2805 0000:01:00.1|10de:22bd\n")
        .File("/boot/limine.conf", $"timeout: 5\n\n/Unraid OS\n    protocol: linux\n    kernel_path: boot():/bzimage\n    module_path: boot():/bzroot\n    cmdline: {cmdline}\n    comment: Unraid OS\n")
        .File("/boot/syslinux/syslinux.cfg", "default menu.c32\nlabel Unraid OS\n  kernel /bzimage\n  append pcie_acs_override=downstream,multifunction initrd=/bzroot\n")
        .File("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n")
        .File("/proc/meminfo", "MemTotal:       131072000 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n")
        .Dir("/proc/1/fd");

    /// <summary>Seed 001: a Proxmox server with an RTX 2080 on vfio-pci in its own group and an I350 NIC; ready.</summary>
    public static HostTreeBuilder Seed001() => new HostTreeBuilder()
        .Describe("seed 001: Proxmox, RTX 2080 on vfio-pci in group 12, I350 in group 13")
        .Intel()
        .Kernel("6.8.12-5-pve")
        .Cmdline("BOOT_IMAGE=/boot/vmlinuz-6.8.12-5-pve root=ZFS=rpool/ROOT/pve-1 ro quiet intel_iommu=on iommu=pt")
        .Dmi("Micro-Star International Co., Ltd.", "Z390-A PRO (MS-7B98)", "American Megatrends Inc.", "1.80", "12/25/2019")
        .Modules("vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio", "kvm_intel", "kvm")
        .Function("0000:00:00.0", "8086:3e0f", 0x060000, group: 0)
        .Function("0000:00:02.0", "8086:3e98", 0x030000, driver: "i915", group: 2, bootVga: true, flr: true)
        .RootPort("0000:00:01.0", "8086:1901", group: 1, acs: true, below: b => b
            .Function("0000:01:00.0", "10de:1e87", 0x030000, subsystem: "1462:3721", revision: 0xa1, driver: "vfio-pci", group: 12, flr: true)
            .Function("0000:01:00.1", "10de:10f8", 0x040300, subsystem: "1462:3721", revision: 0xa1, driver: "vfio-pci", group: 12, flr: true))
        .RootPort("0000:00:1c.0", "8086:a338", group: 8, acs: true, below: b => b
            .Function("0000:03:00.0", "8086:1521", 0x020000, driver: "igb", group: 13, flr: true))
        .File("/dev/kmsg", Kmsg(
            "Linux version 6.8.12-5-pve (build@proxmox) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-5",
            "Command line: BOOT_IMAGE=/boot/vmlinuz-6.8.12-5-pve root=ZFS=rpool/ROOT/pve-1 ro quiet intel_iommu=on iommu=pt",
            "DMAR: IOMMU enabled",
            "DMAR: Host address width 39",
            "DMAR-IR: Enabled IRQ remapping in x2apic mode",
            "DMAR: Intel(R) Virtualization Technology for Directed I/O",
            "vfio-pci 0000:01:00.0: enabling device (0000 -> 0003)"))
        .File("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:1e87,10de:10f8\n")
        .File("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\nGRUB_CMDLINE_LINUX=\"root=ZFS=rpool/ROOT/pve-1\"\n")
        .File("/proc/meminfo", "MemAvailable:   58723452 kB\nAnonHugePages:  10240000 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\n")
        .File("/etc/libvirt/hooks/qemu", "#!/bin/sh\nexit 0\n")
        .Dir("/proc/1/fd");
}
