using System.Text;
using Passthrough.Adapters.Sysfs;
using Passthrough.Capture;
using Passthrough.Errors;

namespace Passthrough.Adapters.Capture;

/// <summary>
/// Host captures on disk: lays a parsed capture out under a directory, and collects one from a live
/// host. The text format itself is <see cref="CaptureText"/> (pure, in the core).
/// </summary>
public static class HostCapture
{
    /// <summary>The device attributes a capture keeps (Documentation/ABI/testing/sysfs-bus-pci); irq and
    /// resource too, because lspci needs them to read a captured tree; resourceN_resize for Resizable BARs.</summary>
    private static readonly string[] DeviceTextFiles =
    [
        "vendor", "device", "subsystem_vendor", "subsystem_device", "class", "revision", "driver_override",
        "reset_method", "boot_vga", "sriov_totalvfs", "sriov_numvfs", "irq", "resource",
        "resource0_resize", "resource1_resize", "resource2_resize", "resource3_resize", "resource4_resize", "resource5_resize",
    ];

    private static readonly string[] DmiFiles = ["bios_vendor", "bios_version", "bios_date", "board_vendor", "board_name"];

    /// <summary>Reads a capture and lays it out under <paramref name="targetDir"/>. Everything is checked
    /// before anything is written, and nothing is written outside <paramref name="targetDir"/>.</summary>
    public static void Expand(TextReader reader, string sourceName, string targetDir)
    {
        var entries = CaptureText.Parse(reader, sourceName);
        Write(entries, targetDir);
    }

    /// <summary>Records what Passthrough reads from the host under <paramref name="root"/>.</summary>
    public static void Save(HostRoot root, TextWriter writer) => CaptureText.Format(Collect(root), writer);

    /// <summary>Lays the entries out under <paramref name="targetDir"/>, refusing to write through a link or over
    /// anything that is already there.</summary>
    public static void Write(IEnumerable<CaptureEntry> entries, string targetDir)
    {
        var root = Path.GetFullPath(targetDir);
        var safeDirs = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            Directory.CreateDirectory(root);
            safeDirs.Add(root);
            foreach (var entry in entries)
            {
                CaptureText.CheckPath(entry.Path, 0, (_, what) => new ArgumentException(what, nameof(entries)));
                var full = Path.Join(root, entry.Path);
                EnsureParents(root, entry.Path, safeDirs);
                if (entry is CaptureDirectory)
                {
                    if (new FileInfo(full).LinkTarget is not null || File.Exists(full))
                    {
                        throw Exists(full);
                    }

                    Directory.CreateDirectory(full);
                    safeDirs.Add(full);
                    continue;
                }

                if (File.Exists(full) || Directory.Exists(full) || new FileInfo(full).LinkTarget is not null)
                {
                    throw Exists(full);
                }

                switch (entry)
                {
                    case CaptureFile f:
                        using (var stream = new FileStream(full, FileMode.CreateNew, FileAccess.Write))
                        {
                            stream.Write(f.Content);
                        }

                        break;
                    case CaptureLink l:
                        File.CreateSymbolicLink(full, l.Target);
                        break;
                    default:
                        throw new ArgumentException($"unknown entry {entry.GetType().Name}", nameof(entries));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw PassthroughException.Host($"Could not write the host tree under {root}: {e.Message}", "Choose an empty directory you can write.", e);
        }
    }

    /// <summary>What Passthrough reads from a live host, as entries sorted by path.</summary>
    public static IReadOnlyList<CaptureEntry> Collect(HostRoot root)
    {
        var entries = new SortedDictionary<string, CaptureEntry>(StringComparer.Ordinal);
        var seenDevices = new HashSet<string>(StringComparer.Ordinal);

        void Add(CaptureEntry entry) => entries[entry.Path] = entry;
        string Rel(string hostPath) => hostPath.TrimStart('/');

        void AddText(string hostPath)
        {
            var bytes = ReadAll(root.Path(hostPath));
            if (bytes is not null)
            {
                Add(new CaptureFile(Rel(hostPath), bytes));
            }
        }

        bool AddLink(string hostPath)
        {
            var target = SysfsFiles.LinkTarget(root.Path(hostPath));
            if (target is null)
            {
                return false;
            }

            Add(new CaptureLink(Rel(hostPath), target));
            return true;
        }

        void AddDevice(string hostDir)
        {
            if (!seenDevices.Add(hostDir))
            {
                return;
            }

            Add(new CaptureDirectory(Rel(hostDir)));
            foreach (var name in DeviceTextFiles)
            {
                AddText(hostDir + "/" + name);
            }

            var config = ReadAll(root.Path(hostDir + "/config"), 4096);
            if (config is not null)
            {
                Add(new CaptureFile(Rel(hostDir + "/config"), config));
            }

            if (File.Exists(root.Path(hostDir + "/rom")))
            {
                // Presence only: reading a ROM needs root and enabling it, and it is not host state we need.
                Add(new CaptureFile(Rel(hostDir + "/rom"), []));
            }

            AddLink(hostDir + "/driver");
            AddLink(hostDir + "/iommu_group");

            // SR-IOV: a VF's physfn, a PF's virtfnN (Documentation/ABI/testing/sysfs-bus-pci).
            AddLink(hostDir + "/physfn");
            foreach (var name in Names(root, hostDir))
            {
                if (name.StartsWith("virtfn", StringComparison.Ordinal))
                {
                    AddLink(hostDir + "/" + name);
                }
            }
        }

        foreach (var link in Names(root, "/sys/bus/pci/devices"))
        {
            var hostPath = "/sys/bus/pci/devices/" + link;
            var target = SysfsFiles.LinkTarget(root.Path(hostPath));
            if (target is null)
            {
                continue;
            }

            Add(new CaptureLink(Rel(hostPath), target));
            var real = Resolve("/sys/bus/pci/devices", target);
            if (real is null || !real.StartsWith("/sys/devices/", StringComparison.Ordinal))
            {
                continue;
            }

            // The device and every upstream bridge on its path.
            for (var dir = real; dir.Length > "/sys/devices".Length; dir = Path.GetDirectoryName(dir)!)
            {
                if (Pci.PciAddress.TryParse(Path.GetFileName(dir), out _))
                {
                    AddDevice(dir);
                }
            }
        }

        foreach (var driver in Names(root, "/sys/bus/pci/drivers"))
        {
            var dir = "/sys/bus/pci/drivers/" + driver;
            Add(new CaptureDirectory(Rel(dir)));
            AddLink(dir + "/module"); // which module the driver is (VFIO variant drivers are told by it)
            foreach (var name in Names(root, dir))
            {
                if (Pci.PciAddress.TryParse(name, out _))
                {
                    AddLink(dir + "/" + name);
                }
            }
        }

        foreach (var group in Names(root, "/sys/kernel/iommu_groups"))
        {
            var dir = "/sys/kernel/iommu_groups/" + group;
            Add(new CaptureDirectory(Rel(dir)));
            AddText(dir + "/type");
            foreach (var name in Names(root, dir + "/devices"))
            {
                AddLink(dir + "/devices/" + name);
            }
        }

        foreach (var unit in Names(root, "/sys/class/iommu"))
        {
            var hostPath = "/sys/class/iommu/" + unit;
            var target = SysfsFiles.LinkTarget(root.Path(hostPath));
            if (target is null)
            {
                Add(new CaptureDirectory(Rel(hostPath)));
                continue;
            }

            Add(new CaptureLink(Rel(hostPath), target));
            var real = Resolve("/sys/class/iommu", target);
            if (real is not null && real.StartsWith("/sys/", StringComparison.Ordinal))
            {
                Add(new CaptureDirectory(Rel(real)));
            }
        }

        // The modules built on vfio_pci_core: vfio-pci and the VFIO variant drivers.
        foreach (var holder in Names(root, "/sys/module/vfio_pci_core/holders"))
        {
            AddLink("/sys/module/vfio_pci_core/holders/" + holder);
        }

        foreach (var name in DmiFiles)
        {
            AddText("/sys/class/dmi/id/" + name);
        }

        CollectCpuTopology(root, AddText);

        AddText("/proc/cmdline");
        AddText("/proc/modules");
        AddText("/proc/sys/kernel/osrelease");
        var cpuinfo = ReadAll(root.Path("/proc/cpuinfo"));
        if (cpuinfo is not null)
        {
            // The first processor block: vendor, model and flags are the same on every CPU.
            var text = Encoding.UTF8.GetString(cpuinfo);
            var end = text.IndexOf("\n\n", StringComparison.Ordinal);
            Add(CaptureFile.Text("proc/cpuinfo", end < 0 ? text : text[..(end + 1)]));
        }

        // A directory entry is only needed when nothing else lives in it.
        var paths = entries.Keys.ToList();
        for (var i = 0; i < paths.Count; i++)
        {
            if (entries[paths[i]] is CaptureDirectory && i + 1 < paths.Count && paths[i + 1].StartsWith(paths[i] + "/", StringComparison.Ordinal))
            {
                entries.Remove(paths[i]);
            }
        }

        return [.. entries.Values];
    }

    /// <summary>What `--pin` and `--hugepages` read (<see cref="CpuTopologyReader"/>): the online CPUs, each one's
    /// topology and L3, the hybrid P-/E-core lists, and the hugepage sizes.</summary>
    private static void CollectCpuTopology(HostRoot root, Action<string> addText)
    {
        const string cpuDir = "/sys/devices/system/cpu";
        foreach (var name in new[] { "online", "possible", "present" })
        {
            addText(cpuDir + "/" + name);
        }

        foreach (var cpu in Names(root, cpuDir).Where(n => n.StartsWith("cpu", StringComparison.Ordinal) && n.Length > 3 && n[3..].All(char.IsAsciiDigit)))
        {
            var dir = cpuDir + "/" + cpu;
            foreach (var name in new[] { "physical_package_id", "die_id", "core_id", "core_cpus_list", "thread_siblings_list" })
            {
                addText(dir + "/topology/" + name);
            }

            foreach (var index in Names(root, dir + "/cache").Where(n => n.StartsWith("index", StringComparison.Ordinal)))
            {
                if (SysfsFiles.ReadInt(root.Path(dir + "/cache/" + index + "/level")) == 3)
                {
                    foreach (var name in new[] { "level", "type", "size", "shared_cpu_list" })
                    {
                        addText(dir + "/cache/" + index + "/" + name);
                    }
                }
            }
        }

        addText("/sys/devices/cpu_core/cpus");
        addText("/sys/devices/cpu_atom/cpus");
        foreach (var size in Names(root, "/sys/kernel/mm/hugepages"))
        {
            addText("/sys/kernel/mm/hugepages/" + size + "/nr_hugepages");
            addText("/sys/kernel/mm/hugepages/" + size + "/free_hugepages");
        }
    }

    private static void EnsureParents(string root, string relative, HashSet<string> safeDirs)
    {
        var current = root;
        var parts = relative.Split('/');
        for (var i = 0; i < parts.Length - 1; i++)
        {
            current = Path.Join(current, parts[i]);
            if (safeDirs.Contains(current))
            {
                continue;
            }

            if (new FileInfo(current).LinkTarget is not null)
            {
                throw PassthroughException.Input(
                    $"{current} is a symbolic link: expanding {relative} through it could write outside {root}.",
                    "Expand into an empty directory.");
            }

            if (File.Exists(current))
            {
                throw Exists(current);
            }

            Directory.CreateDirectory(current);
            safeDirs.Add(current);
        }
    }

    private static PassthroughException Exists(string path) =>
        PassthroughException.Input($"{path} already exists.", "Expand into an empty directory (or remove the old tree first).");

    private static string[] Names(HostRoot root, string hostDir)
    {
        var names = SysfsFiles.Names(root.Path(hostDir));
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    }

    /// <summary>Resolves a link target lexically in host-path space ("/sys/bus/pci/devices" + "../../../devices/...").</summary>
    private static string? Resolve(string hostDir, string target)
    {
        var combined = target.StartsWith('/') ? target : hostDir + "/" + target;
        var parts = new List<string>();
        foreach (var part in combined.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    return null;
                }

                parts.RemoveAt(parts.Count - 1);
            }
            else
            {
                parts.Add(part);
            }
        }

        return "/" + string.Join('/', parts);
    }

    /// <summary>A whole sysfs/procfs file (their reported sizes are not their content sizes); null when missing.</summary>
    private static byte[]? ReadAll(string path, int max = 1 << 20) => SysfsFiles.ReadBytes(path, max);
}
