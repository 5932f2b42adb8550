using System.Globalization;
using Passthrough.Adapters.Processes;

namespace Passthrough.Testing;

/// <summary>
/// The host trees under tests/fixtures/setup/NAME: root/ holds real configuration files (copied to a
/// private directory per test) and devices.txt lists the PCI functions, from which the few sysfs
/// files the inventory reads are made (vendor, device, class, driver and iommu_group links).
/// </summary>
public static class SetupFixtures
{
    public static IReadOnlyList<string> Names { get; } = ["fedora-bls", "debian-grub", "systemd-boot", "unraid-limine", "arch-mkinitcpio", "fedora-uki", "arch-uki", "proxmox-zfs"];

    /// <summary>The slot of the GPU each fixture passes.</summary>
    public static string SlotOf(string name) => name switch
    {
        "fedora-bls" => "0000:03:00",
        "arch-mkinitcpio" => "0000:0c:00",
        "fedora-uki" => "0000:0b:00",
        "proxmox-zfs" => "0000:03:00",
        _ => "0000:01:00",
    };

    public static string Directory(string name) => Path.Join(RepoPaths.Fixtures, "setup", name);

    /// <summary>Copies the fixture into <paramref name="into"/> and adds its sysfs; returns the root path.</summary>
    public static string Create(string name, TempDirectory into)
    {
        var root = into.Combine("root");
        CopyTree(Path.Join(Directory(name), "root"), root);
        foreach (var line in File.ReadAllLines(Path.Join(Directory(name), "devices.txt")))
        {
            if (line.StartsWith('#') || line.Trim().Length == 0)
            {
                continue;
            }

            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            AddFunction(root, f[0], f[1], f[2], f[3], f[4] == "-" ? null : f[4], int.Parse(f[5], CultureInfo.InvariantCulture), f.Length > 6 && f[6] == "boot_vga");
        }

        return root;
    }

    public static void AddFunction(string root, string address, string vendor, string device, string classCode, string? driver, int group, bool bootVga)
    {
        var dir = Path.Join(root, "sys/devices/pci0000:00", address);
        System.IO.Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Join(dir, "vendor"), "0x" + vendor + "\n");
        File.WriteAllText(Path.Join(dir, "device"), "0x" + device + "\n");
        File.WriteAllText(Path.Join(dir, "class"), classCode + "\n");
        if (classCode.StartsWith("0x03", StringComparison.Ordinal))
        {
            File.WriteAllText(Path.Join(dir, "boot_vga"), bootVga ? "1\n" : "0\n");
        }

        var devices = Path.Join(root, "sys/bus/pci/devices");
        System.IO.Directory.CreateDirectory(devices);
        File.CreateSymbolicLink(Path.Join(devices, address), "../../../devices/pci0000:00/" + address);
        if (driver is not null)
        {
            System.IO.Directory.CreateDirectory(Path.Join(root, "sys/bus/pci/drivers", driver));
            File.CreateSymbolicLink(Path.Join(dir, "driver"), "../../../bus/pci/drivers/" + driver);
        }

        var groupDir = Path.Join(root, "sys/kernel/iommu_groups", group.ToString(CultureInfo.InvariantCulture));
        System.IO.Directory.CreateDirectory(Path.Join(groupDir, "devices"));
        File.WriteAllText(Path.Join(groupDir, "type"), "DMA\n");
        File.CreateSymbolicLink(Path.Join(groupDir, "devices", address), "../../../../devices/pci0000:00/" + address);
        File.CreateSymbolicLink(Path.Join(dir, "iommu_group"), "../../../kernel/iommu_groups/" + group.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Every file under the root with its bytes (sys/ and passthrough's own backups left out).</summary>
    public static SortedDictionary<string, byte[]> Snapshot(string root)
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        // Symbolic links are skipped: sysfs links form cycles (device -> iommu_group -> devices -> device).
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var file in System.IO.Directory.EnumerateFiles(root, "*", options))
        {
            var relative = Path.GetRelativePath(root, file);
            if (relative.StartsWith("sys/", StringComparison.Ordinal) || relative.StartsWith("var/lib/passthrough/", StringComparison.Ordinal))
            {
                continue;
            }

            files[relative] = File.ReadAllBytes(file);
        }

        return files;
    }

    private static void CopyTree(string from, string to)
    {
        System.IO.Directory.CreateDirectory(to);
        foreach (var file in System.IO.Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Join(to, Path.GetRelativePath(from, file));
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

/// <summary>Records every command instead of running it; answers with canned output per program.</summary>
public sealed class RecordingProcessRunner : IProcessRunner
{
    private readonly Func<string, IReadOnlyList<string>, ProcessResult?>? _answer;

    public RecordingProcessRunner(Func<string, IReadOnlyList<string>, ProcessResult?>? answer = null)
    {
        _answer = answer;
    }

    public List<string> Commands { get; } = [];

    public Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, ProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        var display = string.Join(' ', new[] { program }.Concat(arguments));
        Commands.Add(display);
        return Task.FromResult(_answer?.Invoke(program, arguments) ?? new ProcessResult(display, 0, string.Empty, string.Empty, false, TimeSpan.Zero));
    }
}
