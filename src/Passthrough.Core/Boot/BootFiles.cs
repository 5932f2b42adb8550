namespace Passthrough.Boot;

/// <summary>
/// A snapshot of the host files that decide how the machine boots and what setup edits: their
/// text by absolute host path, plus paths known to exist whose content does not matter
/// (programs, EFI binaries, marker files). Pure data: the adapter reads it under a HostRoot.
/// </summary>
public sealed class BootFiles
{
    private readonly Dictionary<string, string> _files;
    private readonly HashSet<string> _present;

    public BootFiles(IReadOnlyDictionary<string, string> files, IEnumerable<string>? present = null)
    {
        _files = new Dictionary<string, string>(files, StringComparer.Ordinal);
        _present = new HashSet<string>(present ?? [], StringComparer.Ordinal);
    }

    public static BootFiles Empty { get; } = new(new Dictionary<string, string>());

    public IReadOnlyDictionary<string, string> Files => _files;

    public IReadOnlySet<string> Present => _present;

    public string? Read(string path) => _files.GetValueOrDefault(path);

    public bool Exists(string path) => _files.ContainsKey(path) || _present.Contains(path);

    public string? FirstExisting(IEnumerable<string> paths) => paths.FirstOrDefault(Exists);

    /// <summary>Files read directly inside a directory (one level), sorted by name.</summary>
    public IReadOnlyList<string> In(string directory) =>
        [.. _files.Keys.Where(k => k.StartsWith(directory + "/", StringComparison.Ordinal) && k.IndexOf('/', directory.Length + 1) < 0).Order(StringComparer.Ordinal)];

    /// <summary>Paths known to exist directly inside a directory (one level), sorted by name.</summary>
    public IReadOnlyList<string> PresentIn(string directory) =>
        [.. _present.Concat(_files.Keys).Distinct(StringComparer.Ordinal).Where(k => k.StartsWith(directory + "/", StringComparison.Ordinal) && k.IndexOf('/', directory.Length + 1) < 0).Order(StringComparer.Ordinal)];

    public BootFiles WithFile(string path, string content) =>
        new(new Dictionary<string, string>(_files, StringComparer.Ordinal) { [path] = content }, _present);

    /// <summary>Files whose text is read (when they exist).</summary>
    public static IReadOnlyList<string> WellKnownFiles { get; } =
    [
        "/proc/cmdline", "/proc/sys/kernel/osrelease", "/etc/os-release",
        "/etc/default/grub", "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub2/grubenv",
        "/etc/kernel/cmdline", "/etc/kernel/install.conf", "/etc/kernel/uki.conf", "/etc/kernel/proxmox-boot-uuids",
        "/boot/loader/loader.conf", "/efi/loader/loader.conf", "/boot/efi/loader/loader.conf",
        .. BootloaderDetector.LimineConfigs, .. BootloaderDetector.SyslinuxConfigs,
        "/boot/refind_linux.conf", "/etc/kernelstub/configuration",
        "/etc/dracut.conf", "/etc/mkinitcpio.conf", "/etc/initramfs-tools/modules",
        "/etc/libvirt/qemu.conf", "/boot/config/vfio-pci.cfg",
        Setup.DesktopIgnorePlanner.RulesFile,
    ];

    /// <summary>Directories whose files (one level) are read.</summary>
    public static IReadOnlyList<string> WellKnownDirectories { get; } =
    [
        "/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries",
        "/etc/default/grub.d", "/etc/modprobe.d", "/etc/dracut.conf.d", "/etc/mkinitcpio.conf.d",
        "/etc/mkinitcpio.d", "/etc/cmdline.d",
        "/etc/systemd/system", "/etc/systemd/system/virtqemud.service.d", "/etc/systemd/system/libvirtd.service.d",
    ];

    /// <summary>Paths whose existence is evidence (programs, EFI binaries, markers).</summary>
    public static IReadOnlyList<string> WellKnownMarkers { get; } =
    [
        "/run/ostree-booted", "/etc/unraid-version", "/usr/bin/rpm-ostree", "/usr/bin/kernelstub",
        "/usr/bin/grubby", "/usr/sbin/grubby", "/usr/sbin/update-grub", "/usr/bin/update-grub",
        "/usr/bin/grub-mkconfig", "/usr/sbin/grub-mkconfig", "/usr/bin/grub2-mkconfig", "/usr/sbin/grub2-mkconfig",
        "/usr/bin/kernel-install", "/usr/bin/bootctl",
        "/boot/efi/EFI/systemd/systemd-bootx64.efi", "/efi/EFI/systemd/systemd-bootx64.efi", "/boot/EFI/systemd/systemd-bootx64.efi",
        "/usr/bin/dracut", "/usr/sbin/dracut", "/usr/bin/mkinitcpio", "/usr/sbin/update-initramfs",
        "/usr/lib/systemd/system/virtqemud.service", "/lib/systemd/system/virtqemud.service",
        "/usr/lib/systemd/system/libvirtd.service", "/lib/systemd/system/libvirtd.service",
        "/usr/sbin/proxmox-boot-tool", "/usr/bin/ukify", "/usr/lib/systemd/ukify",
    ];

    /// <summary>Directories whose entries (one level) are recorded as present, never read: unified
    /// kernel images are tens of megabytes (Boot Loader Specification, type 2: $ESP/EFI/Linux/*.efi).</summary>
    public static IReadOnlyList<string> WellKnownListings { get; } = ["/boot/EFI/Linux", "/efi/EFI/Linux", "/boot/efi/EFI/Linux"];
}
