namespace Passthrough.Adapters.Processes;

/// <summary>Options for one run: standard input, time limit, extra environment, where to get the program.</summary>
public sealed record ProcessOptions
{
    public string? StandardInput { get; init; }

    /// <summary>After this long the process and its children are killed and the result says <see cref="ProcessResult.TimedOut"/>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>The directory the program starts in; null: this process's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>The packages that provide the program, for the error when it is missing; null: <see cref="PackageHint.For"/>.</summary>
    public PackageHint? Package { get; init; }

    public ProcessOptions WithTimeout(TimeSpan timeout) => this with { Timeout = timeout };

    public ProcessOptions WithInput(string input) => this with { StandardInput = input };

    public ProcessOptions WithPackage(PackageHint package) => this with { Package = package };
}

/// <summary>The package that provides a program on Debian/Ubuntu and on Fedora (null: that family has none).</summary>
public sealed record PackageHint(string? Debian, string? Fedora)
{
    // The programs Passthrough runs on a host, by the package that ships them (packages.debian.org, packages.fedoraproject.org).
    private static readonly Dictionary<string, PackageHint> Known = new(StringComparer.Ordinal)
    {
        ["virsh"] = new("libvirt-clients", "libvirt-client"),
        ["qemu-img"] = new("qemu-utils", "qemu-img"),
        ["modprobe"] = new("kmod", "kmod"),
        ["restorecon"] = new("policycoreutils", "policycoreutils"),
        ["systemctl"] = new("systemd", "systemd"),
        ["kernel-install"] = new("systemd", "systemd-udev"),
        ["grubby"] = new(null, "grubby"),
        ["dracut"] = new("dracut", "dracut"),
        ["update-initramfs"] = new("initramfs-tools", null),
        ["update-grub"] = new("grub2-common", null),
        ["grub-mkconfig"] = new("grub2-common", null),
        ["grub2-mkconfig"] = new(null, "grub2-tools"),
        ["lspci"] = new("pciutils", "pciutils"),
    };

    /// <summary>The packages for a program we know, by its file name; null for others.</summary>
    public static PackageHint? For(string program) => Known.GetValueOrDefault(Path.GetFileName(program));

    /// <summary>"Debian, Ubuntu: apt install X; Fedora: dnf install Y", the families that have it.</summary>
    public string InstallCommands =>
        string.Join("; ", new[]
        {
            Debian is null ? null : $"Debian, Ubuntu: apt install {Debian}",
            Fedora is null ? null : $"Fedora: dnf install {Fedora}",
        }.OfType<string>());
}
