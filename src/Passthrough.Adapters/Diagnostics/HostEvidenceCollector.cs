using System.Security.Cryptography;
using Passthrough.Adapters.Logs;
using Passthrough.Adapters.Native;
using Passthrough.Adapters.Processes;
using Passthrough.Adapters.Setup;
using Passthrough.Adapters.Sysfs;
using Passthrough.Boot;
using Passthrough.Diagnostics;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Adapters.Diagnostics;

/// <summary>
/// Gathers the doctor's evidence from a host root: kernel log, modprobe/driverctl/Unraid binding
/// configs, /proc/iomem, open device nodes, libvirt settings, hooks and SELinux. Nothing here
/// throws for a missing or unreadable file: the evidence is null (unknown) or empty.
/// </summary>
public sealed class HostEvidenceCollector
{
    /// <summary>SELinux booleans that decide what QEMU and libvirt may touch for device assignment.</summary>
    private static readonly string[] VirtBooleans = ["virt_use_sysfs", "virt_use_execmem", "virt_use_rawip", "virt_use_usb", SelinuxHookChecks.UnconfinedBoolean];

    private static readonly string[] RomDirectories = ["/usr/share/qemu", "/usr/share/kvm", "/var/lib/libvirt/vbios", "/var/lib/libvirt/qemu/roms", "/var/lib/libvirt/boot"];

    private readonly HostRoot _root;

    public HostEvidenceCollector(HostRoot root)
    {
        _root = root;
    }

    public DoctorEvidence Collect(HostInventory host)
    {
        var log = new KernelLogReader(_root).Read();
        var (holders, processes) = ReadProcesses();
        var selinuxEnforce = SysfsFiles.ReadLine(_root.Path("/sys/fs/selinux/enforce"));
        return new DoctorEvidence
        {
            Host = host,
            KernelLog = log.Log,
            KernelLogProblem = log.Problem,
            ModprobeFiles = [.. Glob("/etc/modprobe.d", ".conf"), .. Glob("/run/modprobe.d", ".conf")],
            ModuleListFiles = [.. One("/etc/modules"), .. Glob("/etc/modules-load.d", ".conf"), .. One("/etc/initramfs-tools/modules"), .. Glob("/etc/dracut.conf.d", ".conf"), .. One("/etc/mkinitcpio.conf")],
            DriverctlOverrides = [.. Glob("/etc/driverctl.d", string.Empty)],
            UnraidVfioConfig = One("/boot/config/vfio-pci.cfg").FirstOrDefault(),
            Iomem = SysfsFiles.ReadText(_root.Path("/proc/iomem")),
            MemInfo = SysfsFiles.ReadText(_root.Path("/proc/meminfo")),
            HugepagePools = Directory.Exists(_root.Path(Binding.HostTuningFactsReader.PoolsDirectory)) ? new Binding.HostTuningFactsReader(_root).ReadPools() : null,
            SysModules = Directory.Exists(_root.Path("/sys/module"))
                ? SysfsFiles.Entries(_root.Path("/sys/module")).Select(Path.GetFileName).OfType<string>().ToHashSet(StringComparer.Ordinal)
                : null,
            UnsafeInterruptsParameter = SysfsFiles.ReadLine(_root.Path("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts")),
            Holders = holders,
            Processes = processes,
            QemuConf = One("/etc/libvirt/qemu.conf").FirstOrDefault(),
            LibvirtUnitFiles = [.. new[] { "virtqemud", "libvirtd" }.SelectMany(unit => One($"/etc/systemd/system/{unit}.service").Concat(Glob($"/etc/systemd/system/{unit}.service.d", ".conf")).Concat(Glob($"/run/systemd/system/{unit}.service.d", ".conf")))],
            Hooks = ReadHooks(),
            SelinuxEnforcing = selinuxEnforce is null ? null : selinuxEnforce == "1",
            SelinuxBooleans = VirtBooleans
                .Select(b => (b, SysfsFiles.ReadLine(_root.Path("/sys/fs/selinux/booleans/" + b))))
                .Where(p => p.Item2 is not null)
                .ToDictionary(p => p.b, p => p.Item2!.StartsWith('1'), StringComparer.Ordinal),
            IommufdDevice = File.Exists(_root.Path("/dev/iommu")),
            Boot = BootloaderDetector.Detect(new BootFilesReader(_root).Read()),
        };
    }

    /// <summary>VM facts with the ROM files checked against this root.</summary>
    public VmFacts WithRomCheck(VmFacts vm) =>
        vm with { MissingRomFiles = [.. vm.RomFiles.Where(f => !Path.IsPathRooted(f) || !File.Exists(_root.Path(f)))] };

    /// <summary>ROM files kept for QEMU, and readable sysfs ROMs of display functions, with their SHA-256.</summary>
    public IReadOnlyList<SnapshotRom> Roms(HostInventory host)
    {
        var roms = new List<SnapshotRom>();
        foreach (var dir in RomDirectories)
        {
            foreach (var file in SysfsFiles.Entries(_root.Path(dir)).Where(f => f.EndsWith(".rom", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal))
            {
                if (Hash(file) is { } hash)
                {
                    roms.Add(new SnapshotRom($"{dir}/{Path.GetFileName(file)}", hash));
                }
            }
        }

        // Reading a sysfs rom needs `echo 1 > rom` on a live host; a snapshot must not write, so only
        // ROMs that read as they are (captured trees) are hashed.
        foreach (var f in host.Functions.Where(f => f.IsDisplay && f.HasRom))
        {
            var path = $"/sys/bus/pci/devices/{f.Address}/rom";
            if (!_root.IsLiveSystem && Hash(_root.Path(path)) is { } hash)
            {
                roms.Add(new SnapshotRom(path, hash));
            }
        }

        return roms;
    }

    private static string? Hash(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private IEnumerable<ConfigFile> One(string hostPath)
    {
        var text = SysfsFiles.ReadText(_root.Path(hostPath));
        return text is null ? [] : [new ConfigFile(hostPath, text)];
    }

    private IEnumerable<ConfigFile> Glob(string hostDir, string extension) =>
        SysfsFiles.Entries(_root.Path(hostDir))
            .Where(p => File.Exists(p) && p.EndsWith(extension, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .SelectMany(p => One($"{hostDir}/{Path.GetFileName(p)}"));

    private List<HookFile> ReadHooks()
    {
        var hooks = new List<HookFile>();
        var paths = new[] { "/etc/libvirt/hooks/qemu" }
            .Concat(SysfsFiles.Entries(_root.Path("/etc/libvirt/hooks/qemu.d")).Select(p => "/etc/libvirt/hooks/qemu.d/" + Path.GetFileName(p)).Order(StringComparer.Ordinal));
        foreach (var hostPath in paths)
        {
            var path = _root.Path(hostPath);
            if (!File.Exists(path))
            {
                continue;
            }

            var mode = File.GetUnixFileMode(path);
            hooks.Add(new HookFile(hostPath, (mode & UnixFileMode.UserExecute) != 0, LibC.ReadXattr(path, "security.selinux", followSymlink: false)));
        }

        return hooks;
    }

    /// <summary>
    /// Processes holding GPU device nodes, from /proc/PID/fd links; null holders when other users'
    /// processes cannot be seen (not root on the live host).
    /// </summary>
    private (IReadOnlyList<DeviceHolder>? Holders, IReadOnlySet<string>? Processes) ReadProcesses()
    {
        var scanner = new DeviceNodeHolders(_root);
        if (!scanner.HasProc)
        {
            return (null, null);
        }

        var users = new ProcessUsers(_root);
        var holders = scanner
            .Find(node => node.StartsWith("/dev/dri/", StringComparison.Ordinal) || node.StartsWith("/dev/nvidia", StringComparison.Ordinal) || node.StartsWith("/dev/snd/", StringComparison.Ordinal))
            .Select(h => new DeviceHolder(h.Pid, h.Command, h.Node, DeviceOf(h.Node)) { User = users.Of(h.Pid) })
            .ToList();
        var seesAll = !_root.IsLiveSystem || Environment.IsPrivilegedProcess;
        return (seesAll ? holders : null, scanner.Commands());
    }

    /// <summary>The PCI function behind a DRM or sound node, through /sys/class/{drm,sound}/NAME/device.</summary>
    private PciAddress? DeviceOf(string node)
    {
        var name = Path.GetFileName(node);
        string? classLink = null;
        if (node.StartsWith("/dev/dri/", StringComparison.Ordinal))
        {
            classLink = $"/sys/class/drm/{name}/device";
        }
        else if (node.StartsWith("/dev/snd/", StringComparison.Ordinal) && SoundCard(name) is int card)
        {
            classLink = $"/sys/class/sound/card{card}/device";
        }

        return classLink is not null && PciAddress.TryParse(SysfsFiles.LinkTargetName(_root.Path(classLink)), out var a) ? a : null;
    }

    /// <summary>controlC1, pcmC1D3p, hwC1D0 → 1.</summary>
    private static int? SoundCard(string name)
    {
        var c = name.IndexOf('C', StringComparison.Ordinal);
        if (c < 0)
        {
            return null;
        }

        var digits = new string([.. name[(c + 1)..].TakeWhile(char.IsAsciiDigit)]);
        return int.TryParse(digits, out var n) ? n : null;
    }
}
