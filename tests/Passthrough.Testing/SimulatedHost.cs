using System.Globalization;

namespace Passthrough.Testing;

/// <summary>
/// A small kernel-shaped sysfs/procfs tree for binding tests: devices under
/// sys/devices/pci0000:00/0000:00:01.0 with bus/pci/devices links, driver links both ways,
/// IOMMU groups, vtconsoles, platform framebuffers, DRM and sound nodes, and /proc fds.
/// </summary>
public sealed class SimulatedHost : IDisposable
{
    private readonly TempDirectory _dir = new("passthrough-binding");

    public SimulatedHost()
    {
        Directory.CreateDirectory(Sys("bus/pci/devices"));
        Directory.CreateDirectory(Sys("bus/pci/drivers"));
        Directory.CreateDirectory(Sys("devices/pci0000:00/0000:00:01.0"));
        File.WriteAllText(Sys("bus/pci/drivers_probe"), string.Empty);
        Directory.CreateDirectory(Path.Join(Root, "proc"));
        File.WriteAllText(Path.Join(Root, "proc", "modules"), string.Empty);
        Kernel = new SimulatedKernel(Root, null, Events);
        Module("vfio_pci");
    }

    public string Root => _dir.Path;

    /// <summary>The order of everything the kernel and fakes saw.</summary>
    public List<string> Events { get; } = [];

    /// <summary>The honest simulated kernel for this tree.</summary>
    public SimulatedKernel Kernel { get; }

    /// <summary>A kernel on this tree that fails, hangs or crashes where told.</summary>
    public FailingKernelFake FailingKernel()
    {
        var kernel = new FailingKernelFake(Root, Kernel.NativeDrivers, Events);
        foreach (var (size, limit) in Kernel.HugepageLimits)
        {
            kernel.HugepageLimits[size] = limit;
        }

        return kernel;
    }

    public string Sys(string relative) => Path.Join(Root, "sys", relative);

    /// <summary>Marks a module loaded; PCI drivers among them get their drivers/NAME directory.</summary>
    public SimulatedHost Module(string module)
    {
        File.AppendAllText(Path.Join(Root, "proc", "modules"), $"{module} 16384 0 - Live 0x0000000000000000\n");
        var driver = module == "vfio_pci" ? "vfio-pci" : module;
        if (module == "vfio_pci" || Kernel.NativeDrivers.ContainsValue(driver))
        {
            Kernel.RegisterDriver("pci", driver);
        }

        return this;
    }

    /// <summary>vfio-pci not loaded: the engine has to modprobe it.</summary>
    public SimulatedHost WithoutVfio()
    {
        Directory.Delete(Sys("bus/pci/drivers/vfio-pci"), recursive: true);
        File.WriteAllLines(Path.Join(Root, "proc", "modules"), File.ReadAllLines(Path.Join(Root, "proc", "modules")).Where(l => !l.StartsWith("vfio_pci ", StringComparison.Ordinal)));
        return this;
    }

    /// <summary>Adds a PCI function bound to <paramref name="driver"/> (its native driver) in an IOMMU group.</summary>
    public SimulatedHost Function(string address, int vendor, int device, int classCode, string? driver, int group, string? native = null)
    {
        var real = Sys($"devices/pci0000:00/0000:00:01.0/{address}");
        Directory.CreateDirectory(real);
        File.WriteAllText(Path.Join(real, "vendor"), $"0x{vendor:x4}\n");
        File.WriteAllText(Path.Join(real, "device"), $"0x{device:x4}\n");
        File.WriteAllText(Path.Join(real, "class"), $"0x{classCode:x6}\n");
        File.WriteAllText(Path.Join(real, "driver_override"), "(null)\n");
        File.CreateSymbolicLink(Sys($"bus/pci/devices/{address}"), $"../../../devices/pci0000:00/0000:00:01.0/{address}");

        var groupDir = Sys($"kernel/iommu_groups/{group.ToString(CultureInfo.InvariantCulture)}/devices");
        Directory.CreateDirectory(groupDir);
        File.WriteAllText(Path.Join(Path.GetDirectoryName(groupDir)!, "type"), "DMA\n");
        File.CreateSymbolicLink(Path.Join(groupDir, address), $"../../../../devices/pci0000:00/0000:00:01.0/{address}");
        File.CreateSymbolicLink(Path.Join(real, "iommu_group"), $"../../../../kernel/iommu_groups/{group.ToString(CultureInfo.InvariantCulture)}");

        if ((native ?? driver) is { } n)
        {
            Kernel.NativeDrivers[address] = n;
        }

        if (driver is not null)
        {
            var driverDir = Sys($"bus/pci/drivers/{driver}");
            if (!Directory.Exists(driverDir))
            {
                Kernel.RegisterDriver("pci", driver);
                File.AppendAllText(Path.Join(Root, "proc", "modules"), $"{driver.Replace('-', '_')} 16384 0 - Live 0x0000000000000000\n");
            }

            File.CreateSymbolicLink(Path.Join(real, "driver"), $"../../../../bus/pci/drivers/{driver}");
            File.CreateSymbolicLink(Path.Join(driverDir, address), $"../../../../devices/pci0000:00/0000:00:01.0/{address}");
        }

        return this;
    }

    /// <summary>An AMD GPU at 0000:03:00 (VGA on amdgpu, HDMI audio on snd_hda_intel), both in group 14.</summary>
    public SimulatedHost AmdGpu(int group = 14) =>
        Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "amdgpu", group)
            .Function("0000:03:00.1", 0x1002, 0xab30, 0x040300, "snd_hda_intel", group);

    /// <summary>An NVIDIA GPU at 0000:01:00 on the nvidia driver, with its audio, in group 12.</summary>
    public SimulatedHost NvidiaGpu(int group = 12) =>
        Function("0000:01:00.0", 0x10de, 0x1e87, 0x030000, "nvidia", group)
            .Function("0000:01:00.1", 0x10de, 0x10f8, 0x040300, "snd_hda_intel", group);

    public SimulatedHost VtConsole(int n, string name, bool bound)
    {
        var dir = Sys($"class/vtconsole/vtcon{n}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Join(dir, "name"), name + "\n");
        File.WriteAllText(Path.Join(dir, "bind"), bound ? "1\n" : "0\n");
        return this;
    }

    /// <summary>A platform framebuffer device (efi-framebuffer.0) bound to its driver.</summary>
    public SimulatedHost PlatformFramebuffer(string driver)
    {
        var device = driver + ".0";
        var real = Sys($"devices/platform/{device}");
        Directory.CreateDirectory(real);
        File.WriteAllText(Path.Join(real, "driver_override"), "(null)\n");
        Directory.CreateDirectory(Sys("bus/platform/devices"));
        File.CreateSymbolicLink(Sys($"bus/platform/devices/{device}"), $"../../../devices/platform/{device}");
        Kernel.RegisterDriver("platform", driver);
        File.CreateSymbolicLink(Path.Join(real, "driver"), $"../../../bus/platform/drivers/{driver}");
        File.CreateSymbolicLink(Sys($"bus/platform/drivers/{driver}/{device}"), $"../../../../devices/platform/{device}");
        Kernel.NativeDrivers[device] = driver;
        return this;
    }

    public SimulatedHost Drm(string address, string node)
    {
        Directory.CreateDirectory(Sys($"bus/pci/devices/{address}/drm/{node}"));
        return this;
    }

    public SimulatedHost Sound(string address, int card)
    {
        Directory.CreateDirectory(Sys($"bus/pci/devices/{address}/sound/card{card.ToString(CultureInfo.InvariantCulture)}"));
        return this;
    }

    /// <summary>A process with a device node open (ROOT/proc/PID/fd/N links to it).</summary>
    public SimulatedHost Process(int pid, string command, params string[] nodes)
    {
        var dir = Path.Join(Root, "proc", pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(Path.Join(dir, "fd"));
        File.WriteAllText(Path.Join(dir, "comm"), command + "\n");
        for (var i = 0; i < nodes.Length; i++)
        {
            File.CreateSymbolicLink(Path.Join(dir, "fd", (i + 3).ToString(CultureInfo.InvariantCulture)), nodes[i]);
        }

        return this;
    }

    /// <summary>
    /// A resizable BAR as sysfs shows it without root's config space: `resourceN_resize` (the offered sizes,
    /// bit 0 = 1 MiB) and line N of `resource` with the current size.
    /// </summary>
    public SimulatedHost ResizableBar(string address, int index, ulong offeredMask, long currentBytes)
    {
        var dir = Sys($"bus/pci/devices/{address}");
        File.WriteAllText(Path.Join(dir, $"resource{index.ToString(CultureInfo.InvariantCulture)}_resize"), $"{offeredMask:x16}\n");
        var resource = Path.Join(dir, "resource");
        var lines = File.Exists(resource) ? File.ReadAllLines(resource) : [.. Enumerable.Repeat("0x0000000000000000 0x0000000000000000 0x0000000000000000", 13)];
        var start = 0x7800000000L + (index * 0x400000000L);
        lines[index] = $"0x{start:x16} 0x{start + currentBytes - 1:x16} 0x000000000014220c";
        File.WriteAllLines(resource, lines);
        return this;
    }

    /// <summary>Who a process runs as: ROOT/proc/PID/status with its real uid, and that user in ROOT/etc/passwd.</summary>
    public SimulatedHost RunsAs(int pid, string user, int uid)
    {
        var id = uid.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Join(Root, "proc", pid.ToString(CultureInfo.InvariantCulture), "status"), $"Name:\tx\nUmask:\t0022\nUid:\t{id}\t{id}\t{id}\t{id}\nGid:\t{id}\t{id}\t{id}\t{id}\n");
        Directory.CreateDirectory(Path.Join(Root, "etc"));
        File.AppendAllText(Path.Join(Root, "etc", "passwd"), $"{user}:x:{id}:{id}::/home/{user}:/bin/bash\n");
        return this;
    }

    public void RemoveProcess(int pid) => Directory.Delete(Path.Join(Root, "proc", pid.ToString(CultureInfo.InvariantCulture)), recursive: true);

    /// <summary>The driver a function is on now.</summary>
    public string? DriverOf(string address)
    {
        var link = new FileInfo(Sys($"bus/pci/devices/{address}/driver")).LinkTarget;
        return link is null ? null : Path.GetFileName(link);
    }

    public string Read(string relative) => File.ReadAllText(Path.Join(Root, relative)).Trim();

    /// <summary>Everything under sys/ (paths with file contents and link targets) and the loaded modules (their order does not matter).</summary>
    public string Snapshot() =>
        TreeSnapshot.Take(Path.Join(Root, "sys"))
        + "modules: " + string.Join(' ', File.ReadAllLines(Path.Join(Root, "proc", "modules")).Select(l => l.Split(' ')[0]).Order(StringComparer.Ordinal)) + "\n";

    /// <summary>/sys/devices/system/cpu/online, as the kernel shows it ("0-7").</summary>
    public SimulatedHost OnlineCpus(string list)
    {
        Directory.CreateDirectory(Sys("devices/system/cpu"));
        File.WriteAllText(Sys("devices/system/cpu/online"), list + "\n");
        return this;
    }

    /// <summary>
    /// A hugepage pool of <paramref name="pageKiB"/> (also the default size in /proc/meminfo when it is the first) and
    /// /proc/sys/vm/compact_memory; the simulated kernel finds at most <paramref name="findable"/> pages in all.
    /// </summary>
    public SimulatedHost HugepagePool(long pageKiB, int total, int free, int findable)
    {
        var dir = Sys($"kernel/mm/hugepages/hugepages-{pageKiB.ToString(CultureInfo.InvariantCulture)}kB");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Join(dir, "nr_hugepages"), $"{total.ToString(CultureInfo.InvariantCulture)}\n");
        File.WriteAllText(Path.Join(dir, "free_hugepages"), $"{free.ToString(CultureInfo.InvariantCulture)}\n");
        Directory.CreateDirectory(Path.Join(Root, "proc", "sys", "vm"));
        File.WriteAllText(Path.Join(Root, "proc", "sys", "vm", "compact_memory"), string.Empty);
        var meminfo = Path.Join(Root, "proc", "meminfo");
        if (!File.Exists(meminfo))
        {
            File.WriteAllText(meminfo, $"MemTotal:       16318440 kB\nHugepagesize:    {pageKiB.ToString(CultureInfo.InvariantCulture)} kB\n");
        }

        Kernel.HugepageLimits[pageKiB] = findable;
        return this;
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>A textual picture of a tree: one line per entry, links with their targets, files with contents.</summary>
public static class TreeSnapshot
{
    public static string Take(string path)
    {
        var lines = new List<string>();
        if (File.Exists(path))
        {
            lines.Add($"{path} = {File.ReadAllText(path)}");
        }
        else if (Directory.Exists(path))
        {
            Walk(path, lines);
        }

        return string.Join('\n', lines.Order(StringComparer.Ordinal)) + "\n";
    }

    private static void Walk(string dir, List<string> lines)
    {
        foreach (var entry in Directory.GetFileSystemEntries(dir))
        {
            var info = new FileInfo(entry);
            if (info.LinkTarget is { } target)
            {
                lines.Add($"{entry} -> {target}");
            }
            else if (Directory.Exists(entry))
            {
                lines.Add($"{entry}/");
                Walk(entry, lines);
            }
            else
            {
                lines.Add($"{entry} = {File.ReadAllText(entry).Trim()}");
            }
        }
    }
}
