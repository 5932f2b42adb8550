using NUnit.Framework;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Pci;
using static Passthrough.Tests.Diagnostics.SeedHosts;

namespace Passthrough.Tests.Diagnostics;

public class DoctorTests
{
    private static Finding Single(DoctorReport report, string id, string? subject = null)
    {
        var found = report.WithId(id).Where(f => subject is null || f.Subject == subject).ToList();
        Assert.That(found, Has.Count.EqualTo(1), $"{id}: {string.Join(" | ", found)}");
        return found[0];
    }

    [Test]
    public void I_get_the_firmware_1to1_mapping_error_with_the_kernel_line_and_honest_remedies_on_seed_004()
    {
        var report = Doctor.Run(Seed004());

        var finding = Single(report, "firmware-1to1-mapping");
        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Subject, Is.EqualTo("0000:01:00.0"));
        Assert.That(finding.Evidence.Single(), Does.Contain(Seed004OneToOne));
        Assert.That(finding.Message, Does.Contain("1.A7D").And.Contain("6.10"));
        Assert.That(finding.Remedy, Does.Contain("BIOS version").And.Contain("Resizable BAR").And.Contain("slot").And.Contain("None of these is certain"));
        Assert.That(report.HasErrors);
    }

    [Test]
    public void I_learn_the_identity_group_is_forced_by_the_firmware_on_seed_004()
    {
        var finding = Single(Doctor.Run(Seed004()), "group-type", "0000:01:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Message, Does.Contain("Group 14").And.Contain("identity"));
        Assert.That(finding.Evidence, Does.Contain("/sys/kernel/iommu_groups/14/type: identity"));
    }

    [Test]
    public void I_am_told_identity_from_iommu_pt_is_normal_when_the_firmware_asks_nothing()
    {
        var evidence = Seed004() with { KernelLog = KernelLog.Parse(["[0.0] Command line: x", "[0.5] AMD-Vi: Interrupt remapping enabled"]) };

        var finding = Single(Doctor.Run(evidence), "group-type", "0000:01:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Info));
        Assert.That(finding.Message, Does.Contain("iommu=pt"));
        Assert.That(finding.Remedy, Does.Contain("echo DMA > /sys/kernel/iommu_groups/14/type"));
        Assert.That(Single(Doctor.Run(evidence), "firmware-1to1-mapping").Severity, Is.EqualTo(Severity.Ok));
    }

    [Test]
    public void I_get_a_warning_for_binding_the_card_from_the_kernel_argument_and_unraid_vfio_pci_cfg()
    {
        var finding = Single(Doctor.Run(Seed004()), "duplicate-vfio-binding", "0000:01:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Evidence, Does.Contain("/proc/cmdline: vfio-pci.ids=10de:2805,10de:22bd"));
        Assert.That(finding.Evidence, Does.Contain("/boot/config/vfio-pci.cfg:1: BIND=0000:01:00.0|10de:2805 0000:01:00.1|10de:22bd"));
    }

    [Test]
    public void I_get_an_error_when_proc_cmdline_is_empty_because_another_bootloader_booted()
    {
        var finding = Single(Doctor.Run(Seed004(cmdline: null)), "cmdline-iommu");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Message, Does.Contain("/proc/cmdline is empty"));
        Assert.That(finding.Remedy, Does.Contain("limine"));
    }

    [Test]
    public void I_get_no_cmdline_complaint_for_seed_004s_amd_arguments()
    {
        var finding = Single(Doctor.Run(Seed004()), "cmdline-iommu");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Ok), finding.ToString());
        Assert.That(finding.Evidence, Does.Contain("/proc/cmdline: iommu.passthrough=1"));
    }

    [Test]
    public void I_am_warned_that_intel_iommu_on_does_nothing_on_an_amd_cpu()
    {
        var evidence = Seed004() with { Host = MakeHost(Amd("intel_iommu=on iommu=pt", "6.12.54"), null, Fn("0000:01:00.0", 0x10de, 0x2805, 0x030000, "vfio-pci", 1)) };

        var finding = Single(Doctor.Run(evidence), "cmdline-iommu");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("ignored on this AMD CPU"));
    }

    [Test]
    public void I_get_an_error_for_an_iommu_turned_off_on_the_command_line()
    {
        var evidence = Seed001() with { Host = MakeHost(Intel("ro intel_iommu=off", "6.8.12"), null) };

        var report = Doctor.Run(evidence);

        Assert.That(Single(report, "cmdline-iommu").Message, Does.Contain("intel_iommu=off"));
        var iommu = Single(report, "iommu-enabled");
        Assert.That(iommu.Severity, Is.EqualTo(Severity.Error));
        Assert.That(iommu.Remedy, Does.Contain("VT-d").And.Contain("intel_iommu=on"));
    }

    [Test]
    public void I_see_the_acs_override_as_a_trade_off_naming_the_split_card_on_seed_000()
    {
        var finding = Single(Doctor.Run(Seed000()), "acs-override");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("0000:03:00").And.Contain("19, 20"));
        Assert.That(finding.Evidence, Does.Contain("/proc/cmdline: pcie_acs_override=downstream,multifunction"));
    }

    [Test]
    public void The_same_ids_as_kernel_argument_and_in_modprobe_d_are_one_binding_not_a_race()
    {
        // What `passthrough setup` writes in static mode: the argument for an early (initramfs or
        // built-in) vfio-pci, modprobe.d for a normal module load; the same module parameter twice.
        var same = Doctor.Run(Seed000(cmdline: Seed000Cmdline + " vfio-pci.ids=1002:744c,1002:ab30"));
        var different = Doctor.Run(Seed000(cmdline: Seed000Cmdline + " vfio-pci.ids=1002:744c"));

        Assert.That(same.WithId("duplicate-vfio-binding").Where(f => f.Subject == "0000:03:00"), Is.Empty);
        var finding = Single(different, "duplicate-vfio-binding", "0000:03:00");
        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("kernel argument").And.Contain("modprobe.d"));
    }

    [Test]
    public void I_am_told_the_gpu_blacklist_also_silences_the_hosts_own_sound_on_seed_000()
    {
        var findings = Doctor.Run(Seed000()).WithId("duplicate-vfio-binding").ToList();

        var sound = findings.Single(f => f.Subject == "0000:00:1f.3");
        Assert.That(sound.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(sound.Evidence, Does.Contain("/etc/modprobe.d/blacklist-gpu.conf:8: blacklist snd_hda_intel"));
        Assert.That(findings.Any(f => f.Message.Contains("'blacklist nvidia*' has no effect", StringComparison.Ordinal)));
    }

    [Test]
    public void I_get_an_error_when_the_amdgpu_blacklist_hides_the_hosts_own_amd_gpu()
    {
        var finding = Doctor.Run(Seed000(amdIgpu: true)).WithId("duplicate-vfio-binding").Single(f => f.Subject == "0000:0e:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Message, Does.Contain("blacklist amdgpu").And.Contain("blacklist radeon").And.Contain("0000:0e:00.0"));
    }

    [Test]
    public void I_am_told_unsafe_interrupts_are_unneeded_when_remapping_is_on_on_seed_000()
    {
        var report = Doctor.Run(Seed000());

        var finding = Single(report, "unsafe-interrupts");
        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("not needed"));
        Assert.That(finding.Evidence, Does.Contain("/etc/modprobe.d/vfio.conf:1: options vfio_iommu_type1 allow_unsafe_interrupts=1"));
        Assert.That(Single(report, "interrupt-remapping").Severity, Is.EqualTo(Severity.Ok));
    }

    [Test]
    public void I_get_an_error_without_interrupt_remapping_and_a_named_risk_with_unsafe_interrupts()
    {
        var log = KernelLog.Parse(["[0.0] Linux version 6.8.12", "[0.0] DMAR: IOMMU enabled"]);
        var without = Seed001() with { KernelLog = log };
        var unsafeOn = without with { ModprobeFiles = [new ConfigFile("/etc/modprobe.d/iommu_unsafe_interrupts.conf", "options vfio_iommu_type1 allow_unsafe_interrupts=1\n")] };

        Assert.That(Single(Doctor.Run(without), "interrupt-remapping").Severity, Is.EqualTo(Severity.Error));
        var risky = Single(Doctor.Run(unsafeOn), "interrupt-remapping");
        Assert.That(risky.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(risky.Message, Does.Contain("inject interrupts"));
    }

    [Test]
    public void I_am_not_told_remapping_is_missing_when_the_log_no_longer_reaches_boot()
    {
        var evidence = Seed001() with { KernelLog = KernelLog.Parse(["[99999.0] usb 1-1: new device"]) };

        Assert.That(Single(Doctor.Run(evidence), "interrupt-remapping").Severity, Is.EqualTo(Severity.Info));
    }

    [Test]
    public void I_get_an_error_when_the_usb_and_serial_functions_stay_on_built_in_drivers_on_seed_003()
    {
        var finding = Single(Doctor.Run(Seed003()), "driver-binding", "0000:03:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Message, Does.Contain("0000:03:00.2 (xhci_hcd)").And.Contain("0000:03:00.3 (i2c-designware-pci)").And.Contain("built into the kernel"));
        Assert.That(finding.Remedy, Does.Contain("driver_override"));
    }

    [Test]
    public void I_see_seed_003s_memlock_and_iommufd_settings()
    {
        var report = Doctor.Run(Seed003());

        var memlock = Single(report, "memlock");
        Assert.That(memlock.Severity, Is.EqualTo(Severity.Ok));
        Assert.That(memlock.Evidence, Does.Contain("/etc/systemd/system/virtqemud.service.d/override.conf:2: LimitMEMLOCK=infinity"));
        var iommufd = Single(report, "iommufd");
        Assert.That(iommufd.Evidence, Does.Contain("/etc/libvirt/qemu.conf:2: iommufd = 0"));
    }

    [Test]
    public void I_am_warned_about_a_small_memlock_limit()
    {
        var evidence = Seed003() with { LibvirtUnitFiles = [new ConfigFile("/etc/systemd/system/libvirtd.service.d/memlock.conf", "[Service]\nLimitMEMLOCK=64M\n")] };

        var finding = Single(Doctor.Run(evidence), "memlock");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("Cannot allocate memory"));
    }

    [Test]
    public void I_get_an_error_when_the_gpu_shares_its_group_with_the_hosts_sata_controller()
    {
        var host = MakeHost(Intel("intel_iommu=on iommu=pt", "6.8.12"), null,
            Fn("0000:00:17.0", 0x8086, 0xa282, 0x010601, "ahci", 12),
            Fn("0000:01:00.0", 0x10de, 0x1e87, 0x030000, "vfio-pci", 12, bootVga: false),
            Fn("0000:01:00.1", 0x10de, 0x10f8, 0x040300, "vfio-pci", 12));
        var finding = Single(Doctor.Run(Seed001() with { Host = host }), "group-isolation", "0000:01:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Message, Does.Contain("0000:00:17.0 (SATA controller, driver ahci)"));
    }

    [Test]
    public void I_get_ok_for_an_isolated_group_on_seed_001()
    {
        var finding = Single(Doctor.Run(Seed001()), "group-isolation", "0000:01:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Ok));
        Assert.That(finding.Evidence, Does.Contain("/sys/kernel/iommu_groups/12/devices: 0000:01:00.0 0000:01:00.1"));
    }

    [Test]
    public void Seed_001s_host_is_ready_without_errors()
    {
        var report = Doctor.Run(Seed001());

        Assert.That(report.HasErrors, Is.False, string.Join("\n", report.Findings.Where(f => f.Severity == Severity.Error)));
        Assert.That(report.Findings.Select(f => f.Id).Distinct(), Is.SupersetOf(new[] { "cpu-virtualization", "iommu-enabled", "interrupt-remapping", "cmdline-iommu", "hugepages", "vfio-modules", "reset" }));
        Assert.That(report.Findings.Select(f => f.Severity), Is.Ordered);
    }

    [Test]
    public void I_am_told_reserved_hugepages_are_kept_from_the_host()
    {
        var evidence = Seed001() with { MemInfo = "HugePages_Total:    8192\nHugePages_Free:     8192\nHugepagesize:       2048 kB\n" };

        var finding = Single(Doctor.Run(evidence), "hugepages");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Info));
        Assert.That(finding.Message, Does.Contain("8192 hugepages of 2048 kB (16 GiB)"));
    }

    [Test]
    public void I_am_warned_about_an_amd_reset_bug_card_and_its_vendor_reset_remedy()
    {
        var host = MakeHost(Amd("iommu=pt", "6.8.0"), null, Fn("0000:0b:00.0", 0x1002, 0x731f, 0x030000, "amdgpu", 20, bootVga: false, flr: false, reset: ["bus"]));

        var finding = Single(Doctor.Run(Seed001() with { Host = host }), "reset");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("Navi 10"));
        Assert.That(finding.Remedy, Does.Contain("vendor-reset").And.Contain("device_specific"));
    }

    [Test]
    public void I_am_warned_when_a_card_has_no_reset_at_all()
    {
        var host = MakeHost(Intel("intel_iommu=on", "6.8.0"), null, Fn("0000:01:00.0", 0x10de, 0x1e87, 0x030000, "vfio-pci", 1, bootVga: false, flr: false, reset: []));

        var finding = Single(Doctor.Run(Seed001() with { Host = host }), "reset");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Evidence, Does.Contain("/sys/bus/pci/devices/0000:01:00.0/reset_method: (empty)"));
    }

    [Test]
    public void I_get_an_error_when_bootfb_holds_the_gpus_bar()
    {
        const string iomem = "00000000-00000fff : Reserved\n4000000000-7fffffffff : PCI Bus 0000:00\n  6000000000-600fffffff : 0000:01:00.0\n    6000000000-60002fffff : BOOTFB\n";
        var evidence = Seed001() with
        {
            Iomem = iomem,
            KernelLog = KernelLog.Parse(["[0.0] Linux version 6.8", "[0.0] DMAR-IR: Enabled IRQ remapping in x2apic mode", "[20.1] vfio-pci 0000:01:00.0: BAR 1: can't reserve [mem 0x6000000000-0x600fffffff 64bit pref]"]),
        };

        var finding = Single(Doctor.Run(evidence), "framebuffer", "0000:01:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Evidence, Does.Contain("/proc/iomem: 6000000000-60002fffff : BOOTFB (inside 0000:01:00.0)"));
        Assert.That(finding.Evidence.Any(e => e.Contains("BAR 1: can't reserve", StringComparison.Ordinal)));
        Assert.That(finding.Remedy, Does.Contain("initcall_blacklist=sysfb_init"));
    }

    [Test]
    public void I_get_single_gpu_advice_for_the_boot_display()
    {
        var host = MakeHost(Amd("iommu=pt", "6.12"), null, Fn("0000:0c:00.0", 0x1002, 0x73bf, 0x030000, "amdgpu", 22, bootVga: true));

        var finding = Single(Doctor.Run(Seed001() with { Host = host, Iomem = string.Empty }), "framebuffer");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Info));
        Assert.That(finding.Message, Does.Contain("single-GPU"));
    }

    [Test]
    public void I_am_told_which_processes_hold_the_gpu()
    {
        var host = MakeHost(Intel("intel_iommu=on", "6.8"), null, Fn("0000:01:00.0", 0x10de, 0x2684, 0x030000, "nvidia", 1, bootVga: false));
        var evidence = Seed001() with
        {
            Host = host,
            Holders = [new DeviceHolder(2231, "Xorg", "/dev/nvidia0", null), new DeviceHolder(2301, "gnome-shell", "/dev/dri/card1", PciAddress.Parse("0000:01:00.0"))],
            Processes = new HashSet<string> { "nvidia-persistenced", "Xorg" },
        };

        var finding = Single(Doctor.Run(evidence), "gpu-holders");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("Xorg (2231)").And.Contain("gnome-shell (2301)").And.Contain("nvidia-persistenced"));
        Assert.That(finding.Evidence, Does.Contain("/proc/2301/fd → /dev/dri/card1 (gnome-shell)"));
    }

    [Test]
    public void I_am_warned_about_vfio_virqfd_on_a_kernel_that_merged_it()
    {
        var evidence = Seed001() with { ModuleListFiles = [new ConfigFile("/etc/modules", "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n")] };

        var finding = Doctor.Run(evidence).WithId("vfio-modules").Single(f => f.Severity == Severity.Warning);

        Assert.That(finding.Evidence, Does.Contain("/etc/modules:4: vfio_virqfd"));
        Assert.That(finding.Message, Does.Contain("6.2"));
    }

    [Test]
    public void I_get_an_error_for_a_non_executable_hook_and_a_mislabelled_one()
    {
        var evidence = Seed001() with
        {
            Hooks = [new HookFile("/etc/libvirt/hooks/qemu", false, "unconfined_u:object_r:user_home_t:s0")],
            SelinuxEnforcing = true,
        };

        var findings = Doctor.Run(evidence).WithId("libvirt-hooks").ToList();

        Assert.That(findings.Select(f => f.Severity), Is.All.EqualTo(Severity.Error));
        Assert.That(findings.Select(f => f.Remedy), Does.Contain("chmod 755 /etc/libvirt/hooks/qemu").And.Contain("restorecon -Rv /etc/libvirt/hooks"));
    }

    [Test]
    public void I_get_an_error_for_a_missing_rom_file_of_the_vm()
    {
        var evidence = Seed001() with
        {
            Vm = new VmFacts("win11", [PciAddress.Parse("0000:01:00.0"), PciAddress.Parse("0000:01:00.1")], ["/usr/share/qemu/AMD.RX7900XTX.24576.221115.rom"], PassthroughMode.Static)
            {
                MissingRomFiles = ["/usr/share/qemu/AMD.RX7900XTX.24576.221115.rom"],
            },
            TargetSlots = new HashSet<PciSlot> { PciSlot.Parse("0000:01:00") },
        };

        var finding = Single(Doctor.Run(evidence), "rom-file");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Message, Does.Contain("failed to find romfile"));
    }

    [Test]
    public void I_get_an_error_for_a_cpu_without_virtualization_flags()
    {
        var evidence = Seed001() with { Host = MakeHost(Amd("iommu=pt", "6.8") with { VirtualizationFlags = [] }, null) };

        var finding = Single(Doctor.Run(evidence), "cpu-virtualization");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Remedy, Does.Contain("SVM"));
    }

    [Test]
    public void The_host_gpu_is_not_a_target_when_another_gpu_is_there_to_pass()
    {
        var targets = Doctor.TargetGpus(Seed004());

        Assert.That(targets.Select(g => g.Slot.ToString()), Is.EqualTo(new[] { "0000:01:00" }));
    }
}
