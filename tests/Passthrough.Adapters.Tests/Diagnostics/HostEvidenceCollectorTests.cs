using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Diagnostics;
using Passthrough.Adapters.Sysfs;
using Passthrough.Diagnostics;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Diagnostics;

public class HostEvidenceCollectorTests
{
    private static DoctorEvidence Collect(HostTreeBuilder host, TempDirectory root)
    {
        DoctorHosts.Expand(host, root.Path);
        var hostRoot = new HostRoot(root.Path);
        return new HostEvidenceCollector(hostRoot).Collect(new SysfsHostReader(hostRoot, names: false).Read());
    }

    [Test]
    public void I_get_the_processes_holding_the_gpus_drm_and_sound_nodes_mapped_to_its_functions()
    {
        using var root = new TempDirectory("evidence");
        var host = DoctorHosts.Seed001()
            .Link("/sys/class/drm/card1/device", "../../../0000:01:00.0")
            .Link("/sys/class/sound/card1/device", "../../../0000:01:00.1")
            .File("/proc/2301/comm", "gnome-shell\n")
            .Link("/proc/2301/fd/14", "/dev/dri/card1")
            .Link("/proc/2301/fd/15", "/dev/null")
            .File("/proc/2410/comm", "pipewire\n")
            .Link("/proc/2410/fd/30", "/dev/snd/controlC1")
            .File("/proc/977/comm", "nvidia-persistenced\n")
            .Dir("/proc/977/fd");

        var evidence = Collect(host, root);

        Assert.That(evidence.Holders, Is.EquivalentTo(new[]
        {
            new DeviceHolder(2301, "gnome-shell", "/dev/dri/card1", PciAddress.Parse("0000:01:00.0")),
            new DeviceHolder(2410, "pipewire", "/dev/snd/controlC1", PciAddress.Parse("0000:01:00.1")),
        }));
        Assert.That(evidence.Processes, Does.Contain("nvidia-persistenced"));
        var finding = Doctor.Run(evidence).WithId("gpu-holders").Single(f => f.Subject == "0000:01:00");
        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("gnome-shell (2301)").And.Contain("pipewire (2410)"));
    }

    [Test]
    public void I_get_the_binding_configs_from_modprobe_driverctl_and_unraid()
    {
        using var root = new TempDirectory("evidence");
        var host = DoctorHosts.Seed001()
            .File("/etc/driverctl.d/pci-0000:01:00.0", "vfio-pci\n")
            .File("/etc/modules-load.d/vfio.conf", "vfio\nvfio_virqfd\n")
            .File("/boot/config/vfio-pci.cfg", "BIND=0000:01:00.1|10de:10f8\n");

        var evidence = Collect(host, root);

        Assert.That(evidence.ModprobeFiles.Select(f => f.Path), Is.EqualTo(new[] { "/etc/modprobe.d/vfio.conf" }));
        Assert.That(evidence.DriverctlOverrides.Select(f => f.Path), Is.EqualTo(new[] { "/etc/driverctl.d/pci-0000:01:00.0" }));
        Assert.That(evidence.UnraidVfioConfig!.Text, Does.StartWith("BIND="));
        var duplicate = Doctor.Run(evidence).WithId("duplicate-vfio-binding").Single(f => f.Subject == "0000:01:00");
        Assert.That(duplicate.Message, Does.Contain("3 places").And.Contain("driverctl"));
        var virqfd = Doctor.Run(evidence).WithId("vfio-modules").Single(f => f.Severity == Severity.Warning);
        Assert.That(virqfd.Evidence, Does.Contain("/etc/modules-load.d/vfio.conf:2: vfio_virqfd"));
    }

    [Test]
    public void I_get_libvirt_memlock_qemu_conf_hooks_selinux_and_iommufd_facts()
    {
        using var root = new TempDirectory("evidence");
        var host = DoctorHosts.Seed001()
            .File("/etc/systemd/system/virtqemud.service.d/override.conf", "[Service]\nLimitMEMLOCK=infinity\n")
            .File("/etc/libvirt/qemu.conf", "iommufd = 0\n")
            .File("/sys/fs/selinux/enforce", "1")
            .File("/sys/fs/selinux/booleans/virt_use_sysfs", "0 0")
            .File("/dev/iommu", string.Empty)
            .File("/etc/libvirt/hooks/qemu.d/50-passthrough", "#!/bin/sh\n");

        var evidence = Collect(host, root);

        Assert.That(evidence.LibvirtUnitFiles.Single().Path, Is.EqualTo("/etc/systemd/system/virtqemud.service.d/override.conf"));
        Assert.That(evidence.QemuConf!.Text, Does.Contain("iommufd = 0"));
        Assert.That(evidence.SelinuxEnforcing, Is.True);
        Assert.That(evidence.SelinuxBooleans["virt_use_sysfs"], Is.False);
        Assert.That(evidence.IommufdDevice, Is.True);
        Assert.That(evidence.Hooks.Select(h => (h.Path, h.Executable)), Is.EqualTo(new[] { ("/etc/libvirt/hooks/qemu", true), ("/etc/libvirt/hooks/qemu.d/50-passthrough", false) }));
        var report = Doctor.Run(evidence);
        Assert.That(report.WithId("selinux").Single().Remedy, Is.EqualTo("setsebool -P virt_use_sysfs 1"));
        Assert.That(report.WithId("libvirt-hooks").Single().Remedy, Is.EqualTo("chmod 755 /etc/libvirt/hooks/qemu.d/50-passthrough"));
    }

    [Test]
    public void I_get_the_boot_framebuffer_inside_the_gpus_bar_from_proc_iomem()
    {
        using var root = new TempDirectory("evidence");
        var host = DoctorHosts.Seed001().File("/proc/iomem", """
            00000000-00000fff : Reserved
            4000000000-7fffffffff : PCI Bus 0000:00
              6000000000-601fffffff : PCI Bus 0000:01
                6000000000-600fffffff : 0000:01:00.0
                  6000000000-60002fffff : BOOTFB

            """);

        var finding = Doctor.Run(Collect(host, root)).WithId("framebuffer").Single(f => f.Subject == "0000:01:00");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Evidence, Does.Contain("/proc/iomem: 6000000000-60002fffff : BOOTFB (inside 0000:01:00.0)"));
    }
}
