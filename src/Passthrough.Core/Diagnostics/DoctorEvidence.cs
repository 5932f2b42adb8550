using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Diagnostics;

/// <summary>A process holding a device node open (from /proc/PID/fd), and the PCI function behind the node when known.</summary>
public sealed record DeviceHolder(int Pid, string Command, string DevicePath, PciAddress? Device)
{
    /// <summary>The user the process runs as (/proc/PID/status Uid, named by /etc/passwd); null when unknown.</summary>
    public string? User { get; init; }
}

/// <summary>A libvirt hook script: /etc/libvirt/hooks/qemu or a file under qemu.d.</summary>
public sealed record HookFile(string Path, bool Executable, string? SelinuxLabel);

/// <summary>What a VM definition says that the doctor checks: its PCI host devices and ROM files.</summary>
public sealed record VmFacts(string Name, IReadOnlyList<PciAddress> HostDevices, IReadOnlyList<string> RomFiles, PassthroughMode? Mode)
{
    /// <summary>ROM files the definition names that do not exist on the host.</summary>
    public IReadOnlyList<string> MissingRomFiles { get; init; } = [];

    /// <summary>The union of the &lt;vcpupin cpuset&gt;s; empty when nothing is pinned.</summary>
    public CpuSet PinnedCpus { get; init; } = CpuSet.Empty;

    /// <summary>&lt;passthrough:isolate&gt; and &lt;passthrough:hugepages&gt;.</summary>
    public VmTuning Tuning { get; init; } = VmTuning.None;

    /// <summary>&lt;memoryBacking&gt;&lt;hugepages&gt; is there.</summary>
    public bool HugepagesBacked { get; init; }

    /// <summary>Its &lt;page size&gt; in KiB; null: the host's default size.</summary>
    public long? HugepagePageKiB { get; init; }

    /// <summary>&lt;memory&gt; in KiB.</summary>
    public long? MemoryKiB { get; init; }

    /// <summary>&lt;passthrough:release keep-on-vfio="yes"/&gt;: its functions stay on vfio-pci after it stops.</summary>
    public bool KeepOnVfio { get; init; }

    /// <summary>The well-formed &lt;passthrough:bar&gt; requests (lint reports the others).</summary>
    public IReadOnlyList<BarRequest> Bars { get; init; } = [];
}

/// <summary>
/// Everything the doctor looks at, gathered by an adapter (or built by a test). Null means "not
/// read" (missing or unreadable), which the checks report as unknown, never as fine.
/// </summary>
public sealed record DoctorEvidence
{
    public required HostInventory Host { get; init; }

    /// <summary>The kernel log; null when it could not be read (then <see cref="KernelLogProblem"/> says why).</summary>
    public KernelLog? KernelLog { get; init; }

    public string? KernelLogProblem { get; init; }

    /// <summary>/etc/modprobe.d/*.conf (and /run, /usr/lib).</summary>
    public IReadOnlyList<ConfigFile> ModprobeFiles { get; init; } = [];

    /// <summary>Files that list modules to load: /etc/modules, /etc/modules-load.d, dracut and initramfs-tools configs.</summary>
    public IReadOnlyList<ConfigFile> ModuleListFiles { get; init; } = [];

    /// <summary>/etc/driverctl.d/pci-ADDRESS overrides (file text is the driver).</summary>
    public IReadOnlyList<ConfigFile> DriverctlOverrides { get; init; } = [];

    /// <summary>Unraid's /boot/config/vfio-pci.cfg ("BIND=0000:01:00.0|10de:2805 ...").</summary>
    public ConfigFile? UnraidVfioConfig { get; init; }

    /// <summary>/proc/iomem text (root sees addresses; others see zeros).</summary>
    public string? Iomem { get; init; }

    /// <summary>/proc/meminfo text.</summary>
    public string? MemInfo { get; init; }

    /// <summary>Names under /sys/module (loaded and built-in modules with parameters).</summary>
    public IReadOnlySet<string>? SysModules { get; init; }

    /// <summary>/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts ("Y"/"N").</summary>
    public string? UnsafeInterruptsParameter { get; init; }

    /// <summary>Open handles on GPU device nodes (/dev/dri, /dev/nvidia*, /dev/snd).</summary>
    public IReadOnlyList<DeviceHolder>? Holders { get; init; }

    /// <summary>Names (comm) of running processes.</summary>
    public IReadOnlySet<string>? Processes { get; init; }

    /// <summary>/etc/libvirt/qemu.conf.</summary>
    public ConfigFile? QemuConf { get; init; }

    /// <summary>systemd unit files and drop-ins for virtqemud/libvirtd.</summary>
    public IReadOnlyList<ConfigFile> LibvirtUnitFiles { get; init; } = [];

    /// <summary>Hook scripts found; empty when none are installed.</summary>
    public IReadOnlyList<HookFile> Hooks { get; init; } = [];

    /// <summary>/sys/fs/selinux/enforce: true enforcing, false permissive, null no SELinux.</summary>
    public bool? SelinuxEnforcing { get; init; }

    /// <summary>SELinux booleans that matter for virtualization (virt_use_sysfs, ...), current value.</summary>
    public IReadOnlyDictionary<string, bool> SelinuxBooleans { get; init; } = new Dictionary<string, bool>();

    /// <summary>/dev/iommu exists (iommufd, kernel 6.2+).</summary>
    public bool? IommufdDevice { get; init; }

    /// <summary>The bootloader detected from the boot files; null when not looked at.</summary>
    public Boot.BootSetup? Boot { get; init; }

    /// <summary>Restrict GPU checks to these slots (--slot, or the VM's devices).</summary>
    public IReadOnlySet<PciSlot>? TargetSlots { get; init; }

    /// <summary>The VM being checked (--vm/--xml), when any.</summary>
    public VmFacts? Vm { get; init; }

    /// <summary>/sys/kernel/mm/hugepages/hugepages-*: each size's reserved and free pages; null when not read.</summary>
    public IReadOnlyList<HugepagePool>? HugepagePools { get; init; }

    /// <summary>The findings of `xml lint` on the VM's domain (--vm/--xml); see <see cref="Doctor.LintFindings"/>.</summary>
    public IReadOnlyList<Finding> Lint { get; init; } = [];

    public CommandLine? CommandLine =>
        Host.Facts.KernelCommandLine is string text ? new CommandLine(text) : null;

    public ModprobeConfig Modprobe => new(ModprobeFiles);
}
