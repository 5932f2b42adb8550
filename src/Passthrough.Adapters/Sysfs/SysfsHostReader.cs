using System.Globalization;
using Passthrough.Adapters.Native;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Adapters.Sysfs;

/// <summary>The read-only view of a host. The mutating side (binding) is a separate interface.</summary>
public interface IHostReader
{
    HostInventory Read();
}

/// <summary>
/// Reads the host model straight from sysfs and procfs under a <see cref="HostRoot"/>. File names
/// and formats follow the kernel's Documentation/ABI/testing/sysfs-bus-pci and
/// sysfs-kernel-iommu_groups. Nothing here throws for a missing or unreadable file: the value is unknown.
/// </summary>
public sealed class SysfsHostReader : IHostReader
{
    /// <summary>Where distributions keep pci.ids: Fedora (hwdata) first, then Debian (pciutils).</summary>
    private static readonly string[] PciIdsPaths = ["/usr/share/hwdata/pci.ids", "/usr/share/misc/pci.ids", "/usr/share/pci.ids"];

    /// <summary>PCI Express extended configuration space (PCIe base spec, 7.2): what sysfs `config` holds for root.</summary>
    private const int ConfigSpaceSize = 4096;

    private readonly HostRoot _root;
    private readonly bool _names;
    private readonly Dictionary<string, UpstreamBridge> _bridges = new(StringComparer.Ordinal);
    private readonly VfioVariantDrivers _variants;

    /// <param name="root">The directory treated as /.</param>
    /// <param name="names">Look up vendor and device names in pci.ids (skip for speed when not shown).</param>
    public SysfsHostReader(HostRoot root, bool names = true)
    {
        _root = root;
        _names = names;
        _variants = new VfioVariantDrivers(root);
    }

    public HostInventory Read()
    {
        _bridges.Clear();
        var entries = SysfsFiles.Names(_root.Path("/sys/bus/pci/devices"));
        var read = new PciFunction?[entries.Length];
        // Each function is a dozen small files; on a big host two threads halve the wait.
        var half = entries.Length / 2;
        var other = entries.Length >= 64 ? Task.Run(() => ReadRange(entries, read, half, entries.Length)) : null;
        ReadRange(entries, read, 0, other is null ? entries.Length : half);
        other?.GetAwaiter().GetResult();
        var functions = new List<PciFunction>(entries.Length);
        foreach (var f in read)
        {
            if (f is not null)
            {
                functions.Add(f);
            }
        }

        if (_names && functions.Count > 0)
        {
            functions = AddNames(functions);
        }

        return new HostInventory(functions, ReadGroups(), ReadFacts());
    }

    private void ReadRange(string[] names, PciFunction?[] into, int from, int to)
    {
        var devicesDir = _root.Path("/sys/bus/pci/devices");
        for (var i = from; i < to; i++)
        {
            if (PciAddress.TryParse(names[i], out var address))
            {
                into[i] = ReadFunction(Path.Join(devicesDir, names[i]), address);
            }
        }
    }

    private PciFunction ReadFunction(string dir, PciAddress address)
    {
        string F(string name) => Path.Join(dir, name);

        // One open and one listing of the directory: the files a function lacks cost nothing (SysfsFiles).
        using var listed = SysfsFiles.ListDirectory(dir);
        var classCode = SysfsFiles.ReadHex(F("class"));
        // Root may read 4096 bytes of config; others get 64 (then capabilities are unknown).
        Span<byte> configBytes = stackalloc byte[ConfigSpaceSize];
        var configLength = SysfsFiles.ReadInto(F("config"), configBytes);
        var config = configLength < 0 ? null : new PciConfigSpace(configBytes[..configLength]);
        var resetText = SysfsFiles.ReadText(F("reset_method"));
        var overrideText = SysfsFiles.ReadLine(F("driver_override"));
        var bootVga = SysfsFiles.ReadLine(F("boot_vga"));
        var driver = SysfsFiles.LinkTargetName(F("driver"));

        return new PciFunction
        {
            Address = address,
            VendorId = SysfsFiles.ReadHex(F("vendor")),
            DeviceId = SysfsFiles.ReadHex(F("device")),
            SubsystemVendorId = SysfsFiles.ReadHex(F("subsystem_vendor")),
            SubsystemDeviceId = SysfsFiles.ReadHex(F("subsystem_device")),
            Class = classCode is int c ? new PciClass(c) : null,
            Revision = SysfsFiles.ReadHex(F("revision")),
            Driver = driver,
            DriverUsesVfioPciCore = _variants.UsesVfioPciCore(driver),
            PhysicalFunction = PciAddress.TryParse(SysfsFiles.LinkTargetName(F("physfn")), out var physfn) ? physfn : null,
            DriverOverride = overrideText is null or "(null)" or "" ? null : overrideText,
            IommuGroup = int.TryParse(SysfsFiles.LinkTargetName(F("iommu_group")), NumberStyles.Integer, CultureInfo.InvariantCulture, out var g) ? g : null,
            ResetMethods = resetText?.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Flr = config?.FunctionLevelReset,
            BootVga = bootVga is null ? null : bootVga == "1",
            HasRom = SysfsFiles.Exists(F("rom")),
            SriovTotalVfs = SysfsFiles.ReadInt(F("sriov_totalvfs")),
            SriovNumVfs = SysfsFiles.ReadInt(F("sriov_numvfs")),
            ResizableBar = config?.HasResizableBar,
            ResizableBars = SysfsResizableBars.Read(dir, config),
            Multifunction = config?.Multifunction,
            Acs = config?.HasAcs,
            UpstreamBridges = ReadUpstream(dir, address),
        };
    }

    /// <summary>
    /// The bus/pci/devices entry links into sys/devices/pci0000:00/.../ADDRESS; every PCI address
    /// on that path before our own is an upstream bridge.
    /// </summary>
    private List<UpstreamBridge> ReadUpstream(string dir, PciAddress self)
    {
        var real = SysfsFiles.ResolveLink(dir);
        if (real is null)
        {
            return [];
        }

        var bridges = new List<UpstreamBridge>();
        var devicesRoot = _root.Path("/sys/devices");
        var current = Path.GetDirectoryName(real);
        while (current is not null && current.StartsWith(devicesRoot, StringComparison.Ordinal) && current.Length > devicesRoot.Length)
        {
            if (PciAddress.TryParse(Path.GetFileName(current), out var address) && address != self)
            {
                // Each bridge is read once, however many functions sit below it.
                UpstreamBridge? bridge;
                lock (_bridges)
                {
                    _bridges.TryGetValue(current, out bridge);
                }

                if (bridge is null)
                {
                    bridge = new UpstreamBridge(address, ReadAcs(current));
                    lock (_bridges)
                    {
                        _bridges[current] = bridge;
                    }
                }

                bridges.Add(bridge);
            }

            current = Path.GetDirectoryName(current);
        }

        bridges.Reverse();
        return bridges;
    }

    /// <summary>Whether a bridge's config space lists ACS; null when it cannot be read.</summary>
    private static bool? ReadAcs(string dir)
    {
        Span<byte> bytes = stackalloc byte[ConfigSpaceSize];
        var length = SysfsFiles.ReadInto(Path.Join(dir, "config"), bytes);
        return length < 0 ? null : new PciConfigSpace(bytes[..length]).HasAcs;
    }

    private List<IommuGroup> ReadGroups()
    {
        var groups = new List<IommuGroup>();
        foreach (var groupDir in SysfsFiles.Entries(_root.Path("/sys/kernel/iommu_groups")))
        {
            if (!int.TryParse(Path.GetFileName(groupDir), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
            {
                continue;
            }

            // sysfs names are fixed-width lowercase hex, so ordinal order is address order.
            var names = SysfsFiles.Names(Path.Join(groupDir, "devices"));
            Array.Sort(names, StringComparer.Ordinal);
            var members = new List<PciAddress>(names.Length);
            foreach (var name in names)
            {
                if (PciAddress.TryParse(name, out var a))
                {
                    members.Add(a);
                }
            }

            groups.Add(new IommuGroup(id, SysfsFiles.ReadLine(Path.Join(groupDir, "type")), members));
        }

        return groups;
    }

    private HostFacts ReadFacts()
    {
        var cpu = CpuInfo.Parse(SysfsFiles.ReadText(_root.Path("/proc/cpuinfo")));
        var modules = SysfsFiles.ReadText(_root.Path("/proc/modules"));
        string? Dmi(string name) => SysfsFiles.ReadLine(_root.Path("/sys/class/dmi/id/" + name));

        return new HostFacts
        {
            KernelCommandLine = SysfsFiles.ReadLine(_root.Path("/proc/cmdline")),
            KernelRelease = SysfsFiles.ReadLine(_root.Path("/proc/sys/kernel/osrelease")),
            LoadedModules = modules?.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' ', 2)[0])
                .ToHashSet(StringComparer.Ordinal),
            CpuVendor = cpu.Vendor,
            CpuModel = cpu.Model,
            VirtualizationFlags = cpu.Flags?.Where(f => f is "vmx" or "svm").ToList(),
            Smt = cpu.Smt,
            IommuUnits = [.. SysfsFiles.Entries(_root.Path("/sys/class/iommu")).Select(p => new IommuUnit(Path.GetFileName(p))).OrderBy(u => u.Name, StringComparer.Ordinal)],
            BiosVendor = Dmi("bios_vendor"),
            BiosVersion = Dmi("bios_version"),
            BiosDate = Dmi("bios_date"),
            BoardVendor = Dmi("board_vendor"),
            BoardName = Dmi("board_name"),
        };
    }

    private List<PciFunction> AddNames(List<PciFunction> functions)
    {
        using var ids = MapPciIds();
        var db = ids is null ? PciIdsDatabase.Empty : PciIdsDatabase.FromBytes(ids.Memory);
        HwdbNames? hwdb = null;
        var hwdbOpened = false;
        HwdbNames? Hwdb()
        {
            if (!hwdbOpened)
            {
                hwdbOpened = true;
                hwdb = Candidates(HwdbNames.Paths).Select(HwdbNames.Open).FirstOrDefault(h => h is not null);
            }

            return hwdb;
        }

        try
        {
            return functions.ConvertAll(f => f with
            {
                VendorName = f.VendorId is int v ? db.Vendor(v) ?? Hwdb()?.Vendor(v) : null,
                DeviceName = f.VendorId is int v2 && f.DeviceId is int d ? db.Device(v2, d) ?? Hwdb()?.Device(v2, d) : null,
            });
        }
        finally
        {
            hwdb?.Dispose();
        }
    }

    /// <summary>A dictionary file's places: the root's first, then the running system's (names are a
    /// dictionary, not host state, so a captured tree without one still gets names).</summary>
    private IEnumerable<string> Candidates(string[] paths) =>
        paths.Select(_root.Path).Concat(_root.IsLiveSystem ? [] : paths);

    /// <summary>The root's pci.ids first, then the running system's, mapped (1.4 MB searched in place, not read into
    /// the heap); null when none can be read: ids alone are still useful.</summary>
    private MappedFile? MapPciIds() => Candidates(PciIdsPaths).Select(MappedFile.Open).FirstOrDefault(m => m is not null);
}
