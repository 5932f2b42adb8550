using System.Buffers.Binary;
using System.Globalization;
using Passthrough.Adapters.Capture;
using Passthrough.Capture;
using Passthrough.Pci;

namespace Passthrough.Testing;

/// <summary>
/// Builds host trees laid out exactly as the kernel does, for tests and fixtures:
/// <code>
/// var root = new HostTreeBuilder()
///     .Intel().Kernel("6.8.12-2-pve").Cmdline("BOOT_IMAGE=... intel_iommu=on iommu=pt").Modules("vfio_pci", "nvidia")
///     .Function("0000:00:00.0", "8086:3e0f", 0x060000, group: 0)                      // on the root bus
///     .RootPort("0000:00:01.0", "8086:1901", group: 1, acs: true, below: b => b
///         .Function("0000:01:00.0", "10de:1e87", 0x030000, driver: "nvidia", group: 12, flr: true, bootVga: true)
///         .Function("0000:01:00.1", "10de:10f8", 0x040300, driver: "snd_hda_intel", group: 12))
///     .File("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:1e87\n")
///     .WriteTo(dir);                                 // or .ToCapture() for the committed text
/// </code>
/// Each function gets sys/devices/pci0000:00/[bridges/]ADDRESS with vendor, device, subsystem_*, class,
/// revision, irq and resource (lspci needs them), driver_override "(null)", reset_method (default as the kernel's: "flr" with FLR, plus "bus"
/// when alone on its bus; "" = no file), boot_vga (VGA class only), rom (display class by default), sriov_* files,
/// a binary config (4096 bytes by default; 256 = conventional PCI, 64 = what non-root reads) with header
/// type and multifunction bit (set when a slot has several functions), capability list, PCIe capability
/// (Device Capabilities bit 28 = FLR) and extended capabilities ACS, SR-IOV, Resizable BAR as asked; the
/// bus/pci/devices link, driver link (and the driver's back-link) and iommu_group link (and the group's
/// devices link and `type`). File/Bytes/Link add or replace anything; Without removes a path and what is under it.
/// </summary>
public sealed class HostTreeBuilder
{
    private readonly PciBus _rootBus = new(null);
    private readonly List<string> _comments = [];
    private readonly Dictionary<string, CaptureEntry> _extra = new(StringComparer.Ordinal);
    private readonly List<string> _without = [];
    private readonly Dictionary<int, string> _groupTypes = [];
    private readonly SortedSet<string> _drivers = new(StringComparer.Ordinal);
    private string _defaultGroupType = "DMA-FQ";
    private bool _iommu = true;

    /// <summary>A comment line written at the top of the capture text.</summary>
    public HostTreeBuilder Describe(string comment)
    {
        _comments.Add(comment);
        return this;
    }

    /// <summary>An Intel CPU (GenuineIntel, vmx unless <paramref name="virtualization"/> is false) and a VT-d unit dmar0.</summary>
    public HostTreeBuilder Intel(string model = "Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz", int cores = 8, int threads = 16, bool virtualization = true)
    {
        Cpu("GenuineIntel", 6, model, cores, threads, virtualization ? "vmx" : null);
        Link("/sys/class/iommu/dmar0", "../../devices/virtual/iommu/dmar0");
        Dir("/sys/devices/virtual/iommu/dmar0");
        return this;
    }

    /// <summary>An AMD CPU (AuthenticAMD, svm) and an AMD-Vi unit ivhd0 (on 0000:00:00.2, as the kernel shows it).</summary>
    public HostTreeBuilder Amd(string model = "AMD Ryzen 9 9950X3D 16-Core Processor", int cores = 16, int threads = 32, bool virtualization = true)
    {
        Cpu("AuthenticAMD", 26, model, cores, threads, virtualization ? "svm" : null);
        Link("/sys/class/iommu/ivhd0", "../../devices/pci0000:00/0000:00:00.2/iommu/ivhd0");
        Dir("/sys/devices/pci0000:00/0000:00:00.2/iommu/ivhd0");
        return this;
    }

    /// <summary>The IOMMU is off: no /sys/class/iommu units, an empty iommu_groups directory, no iommu_group links.</summary>
    public HostTreeBuilder NoIommu()
    {
        _iommu = false;
        _without.Add("sys/class/iommu");
        return this;
    }

    /// <summary>/proc/cmdline (an empty string gives an empty line, as seed 004's Limine boot did).</summary>
    public HostTreeBuilder Cmdline(string cmdline) => File("/proc/cmdline", cmdline + "\n");

    /// <summary>/proc/sys/kernel/osrelease.</summary>
    public HostTreeBuilder Kernel(string release) => File("/proc/sys/kernel/osrelease", release + "\n");

    /// <summary>/proc/modules with these module names loaded.</summary>
    public HostTreeBuilder Modules(params string[] names) =>
        File("/proc/modules", string.Concat(names.Select(n => $"{n} 16384 0 - Live 0x0000000000000000\n")));

    /// <summary>/sys/class/dmi/id: firmware and board.</summary>
    public HostTreeBuilder Dmi(string boardVendor, string boardName, string biosVendor, string biosVersion, string biosDate)
    {
        File("/sys/class/dmi/id/board_vendor", boardVendor + "\n");
        File("/sys/class/dmi/id/board_name", boardName + "\n");
        File("/sys/class/dmi/id/bios_vendor", biosVendor + "\n");
        File("/sys/class/dmi/id/bios_version", biosVersion + "\n");
        return File("/sys/class/dmi/id/bios_date", biosDate + "\n");
    }

    /// <summary>The `type` of every IOMMU group not named in <see cref="GroupType"/> (default DMA-FQ; identity with iommu=pt).</summary>
    public HostTreeBuilder DefaultGroupType(string type)
    {
        _defaultGroupType = type;
        return this;
    }

    /// <summary>The `type` of one IOMMU group.</summary>
    public HostTreeBuilder GroupType(int group, string type)
    {
        _groupTypes[group] = type;
        return this;
    }

    /// <summary>A registered PCI driver with no device bound (sys/bus/pci/drivers/NAME).</summary>
    public HostTreeBuilder Driver(string name)
    {
        _drivers.Add(name);
        return this;
    }

    /// <summary>A function on the root bus (host bridge, iGPU, chipset devices). See <see cref="PciBus.Function"/>.</summary>
    public HostTreeBuilder Function(string address, string ids, int cls, string? subsystem = null, int revision = 0, string? driver = null,
        int? group = null, bool flr = false, bool bootVga = false, string? resetMethods = null, bool? rom = null, int sriovTotalVfs = 0,
        int sriovNumVfs = 0, bool rebar = false, int config = 4096, string? driverOverride = null, string? physfn = null, int? rebarCurrent = null, uint rebarSizes = 0x0003fff0)
    {
        _rootBus.Function(address, ids, cls, subsystem, revision, driver, group, flr, bootVga, resetMethods, rom, sriovTotalVfs, sriovNumVfs, rebar, config, driverOverride, physfn, rebarCurrent, rebarSizes);
        return this;
    }

    /// <summary>
    /// A PCI driver's module as the kernel shows it: sys/bus/pci/drivers/DRIVER/module -> sys/module/MODULE, and when
    /// <paramref name="usesVfioPciCore"/> (vfio-pci and the VFIO variant drivers) sys/module/vfio_pci_core/holders/MODULE.
    /// </summary>
    public HostTreeBuilder DriverModule(string driver, string module, bool usesVfioPciCore = false)
    {
        _drivers.Add(driver);
        Link($"/sys/bus/pci/drivers/{driver}/module", $"../../../../module/{module}");
        Dir($"/sys/module/{module}");
        return usesVfioPciCore ? Link($"/sys/module/vfio_pci_core/holders/{module}", $"../../{module}") : this;
    }

    /// <summary>A PCIe root port on the root bus, with what is below it.</summary>
    public HostTreeBuilder RootPort(string address, string ids, int? group = null, bool acs = false, Action<PciBus>? below = null, int revision = 0, int config = 4096)
    {
        _rootBus.Bridge(address, ids, group, acs, below, revision, config, portType: 4);
        return this;
    }

    /// <summary>A file with exactly this text (add the trailing newline sysfs files have). Replaces what is there.</summary>
    public HostTreeBuilder File(string hostPath, string text)
    {
        var path = Relative(hostPath);
        _extra[path] = CaptureFile.Text(path, text);
        return this;
    }

    /// <summary>A binary file (config space, ROM image). Replaces what is there.</summary>
    public HostTreeBuilder Bytes(string hostPath, byte[] content)
    {
        var path = Relative(hostPath);
        _extra[path] = new CaptureFile(path, content);
        return this;
    }

    /// <summary>A symbolic link. Replaces what is there.</summary>
    public HostTreeBuilder Link(string hostPath, string target)
    {
        var path = Relative(hostPath);
        _extra[path] = new CaptureLink(path, target);
        return this;
    }

    /// <summary>An empty directory.</summary>
    public HostTreeBuilder Dir(string hostPath)
    {
        var path = Relative(hostPath);
        _extra[path] = new CaptureDirectory(path);
        return this;
    }

    /// <summary>Leaves out a path and everything under it (a file the kernel lacks, or a reader may not open).</summary>
    public HostTreeBuilder Without(string hostPath)
    {
        _without.Add(Relative(hostPath));
        return this;
    }

    /// <summary>Every entry of the tree, sorted by path.</summary>
    public IReadOnlyList<CaptureEntry> Entries()
    {
        var entries = new SortedDictionary<string, CaptureEntry>(StringComparer.Ordinal);
        void Add(CaptureEntry e) => entries[e.Path] = e;

        var all = _rootBus.AllFunctions().ToList();
        // SR-IOV VFs are found through the PF's capability, not the header's multifunction bit.
        var slots = all.Where(f => f.Physfn is null).GroupBy(f => f.Address.Slot).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var byAddress = new Dictionary<PciAddress, FunctionSpec>();
        foreach (var f in all)
        {
            byAddress[f.Address] = f; // a test may declare an address twice; the kernel would show the last
        }

        var virtfnCount = new Dictionary<PciAddress, int>();
        Add(new CaptureDirectory("sys/bus/pci/drivers"));
        Add(new CaptureDirectory("sys/kernel/iommu_groups"));
        foreach (var driver in _drivers)
        {
            Add(new CaptureDirectory($"sys/bus/pci/drivers/{driver}"));
        }

        var busCounts = all.GroupBy(f => (f.Address.Domain, f.Address.Bus)).ToDictionary(g => g.Key, g => g.Count());
        var groups = new SortedSet<int>();
        foreach (var f in all)
        {
            var dir = f.Directory;
            var a = f.Address.ToString();
            Add(new CaptureLink($"sys/bus/pci/devices/{a}", RelativeLink("sys/bus/pci/devices", dir)));
            Add(new CaptureDirectory(dir));
            Text(Add, dir, "vendor", Hex(f.Vendor, 4));
            Text(Add, dir, "device", Hex(f.Device, 4));
            Text(Add, dir, "subsystem_vendor", Hex(f.SubVendor, 4));
            Text(Add, dir, "subsystem_device", Hex(f.SubDevice, 4));
            Text(Add, dir, "class", Hex(f.Class, 6));
            Text(Add, dir, "revision", Hex(f.Revision, 2));
            Text(Add, dir, "irq", f.IsBridge ? "122" : "16");
            Text(Add, dir, "driver_override", f.DriverOverride ?? "(null)");
            // One unassigned BAR line: lspci insists on the file; the kernel writes 13 (17 for bridges).
            if (f.RebarCurrent is int code)
            {
                // drivers/pci/pci-sysfs.c: resource has 13 lines (BARs, ROM, SR-IOV BARs); resource0_resize the offered sizes, bit 0 = 1 MiB.
                var size = 1L << (20 + code);
                var lines = Enumerable.Repeat("0x0000000000000000 0x0000000000000000 0x0000000000000000", 13).ToArray();
                lines[0] = string.Create(CultureInfo.InvariantCulture, $"0x{0x7800000000L:x16} 0x{0x7800000000L + size - 1:x16} 0x000000000014220c");
                Text(Add, dir, "resource", string.Join('\n', lines));
                Text(Add, dir, "resource0_resize", string.Create(CultureInfo.InvariantCulture, $"{(ulong)(f.RebarSizes >> 4):x16}"));
            }
            else
            {
                Text(Add, dir, "resource", "0x0000000000000000 0x0000000000000000 0x0000000000000000");
            }

            var reset = f.ResetMethods ?? DefaultResetMethods(f, busCounts);
            if (reset.Length > 0)
            {
                Text(Add, dir, "reset_method", reset);
            }

            if (f.Class >> 8 == 0x0300)
            {
                Text(Add, dir, "boot_vga", f.BootVga ? "1" : "0");
            }

            if (f.Rom ?? (f.Class >> 16 == 0x03))
            {
                Add(new CaptureFile($"{dir}/rom", []));
            }

            if (f.SriovTotalVfs > 0)
            {
                Text(Add, dir, "sriov_totalvfs", f.SriovTotalVfs.ToString(CultureInfo.InvariantCulture));
                Text(Add, dir, "sriov_numvfs", f.SriovNumVfs.ToString(CultureInfo.InvariantCulture));
            }

            Add(new CaptureFile($"{dir}/config", f.Config(slots.Contains(f.Address.Slot))));
            if (f.Driver is not null)
            {
                Add(new CaptureLink($"{dir}/driver", RelativeLink(dir, $"sys/bus/pci/drivers/{f.Driver}")));
                Add(new CaptureLink($"sys/bus/pci/drivers/{f.Driver}/{a}", RelativeLink($"sys/bus/pci/drivers/{f.Driver}", dir)));
            }

            if (f.Physfn is { } pfAddress)
            {
                // physfn in the VF, virtfnN in the PF, numbered in address order (drivers/pci/iov.c pci_iov_add_virtfn).
                var pf = byAddress[PciAddress.Parse(pfAddress)];
                var n = virtfnCount[pf.Address] = virtfnCount.GetValueOrDefault(pf.Address) + 1;
                Add(new CaptureLink($"{dir}/physfn", RelativeLink(dir, pf.Directory)));
                Add(new CaptureLink($"{pf.Directory}/virtfn{(n - 1).ToString(CultureInfo.InvariantCulture)}", RelativeLink(pf.Directory, dir)));
            }

            if (_iommu && f.Group is int g)
            {
                groups.Add(g);
                var groupDir = $"sys/kernel/iommu_groups/{g.ToString(CultureInfo.InvariantCulture)}";
                Add(new CaptureLink($"{dir}/iommu_group", RelativeLink(dir, groupDir)));
                Add(new CaptureLink($"{groupDir}/devices/{a}", RelativeLink($"{groupDir}/devices", dir)));
            }
        }

        foreach (var g in groups)
        {
            Text(Add, $"sys/kernel/iommu_groups/{g.ToString(CultureInfo.InvariantCulture)}", "type", _groupTypes.GetValueOrDefault(g, _defaultGroupType));
        }

        foreach (var e in _extra.Values)
        {
            Add(e);
        }

        foreach (var path in entries.Keys.ToList())
        {
            if (_without.Any(w => path == w || path.StartsWith(w + "/", StringComparison.Ordinal)))
            {
                entries.Remove(path);
            }
        }

        // Directory entries only where nothing else lives (as the capture format writes them).
        var paths = entries.Keys.ToList();
        for (var i = 0; i < paths.Count - 1; i++)
        {
            if (entries[paths[i]] is CaptureDirectory && paths[i + 1].StartsWith(paths[i] + "/", StringComparison.Ordinal))
            {
                entries.Remove(paths[i]);
            }
        }

        return [.. entries.Values];
    }

    /// <summary>The capture text (what is committed under tests/fixtures/hosts).</summary>
    public string ToCapture() => CaptureText.Format(Entries(), _comments);

    /// <summary>Lays the tree out under <paramref name="directory"/> (through the capture format, so a fixture's
    /// text and its tree never differ) and returns the directory.</summary>
    public string WriteTo(string directory)
    {
        HostCapture.Expand(new StringReader(ToCapture()), "builder", directory);
        return directory;
    }

    private void Cpu(string vendor, int family, string model, int cores, int threads, string? virtFlag)
    {
        var flags = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq monitor"
            + (virtFlag is null ? string.Empty : " " + virtFlag)
            + " ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch";
        File("/proc/cpuinfo", string.Create(CultureInfo.InvariantCulture, $"""
            processor	: 0
            vendor_id	: {vendor}
            cpu family	: {family}
            model		: 1
            model name	: {model}
            stepping	: 0
            physical id	: 0
            siblings	: {threads}
            core id		: 0
            cpu cores	: {cores}
            flags		: {flags}

            """));
    }

    /// <summary>What the kernel offers (drivers/pci/pci.c): "flr" with FLR; "bus" (secondary bus reset) only for a
    /// function alone on a bus below a bridge, so never for the functions of a multifunction GPU.</summary>
    private static string DefaultResetMethods(FunctionSpec f, Dictionary<(int, int), int> busCounts)
    {
        if (f.IsBridge)
        {
            return string.Empty;
        }

        var bus = f.Bus.HasBridge && busCounts[(f.Address.Domain, f.Address.Bus)] == 1;
        return string.Join(' ', new[] { f.Flr ? "flr" : null, bus ? "bus" : null }.OfType<string>());
    }

    private static void Text(Action<CaptureEntry> add, string dir, string name, string value) =>
        add(CaptureFile.Text($"{dir}/{name}", value + "\n"));

    private static string Hex(int value, int digits) => "0x" + value.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string Relative(string hostPath) =>
        hostPath.StartsWith('/') ? hostPath.TrimStart('/') : throw new ArgumentException($"host paths are absolute: {hostPath}", nameof(hostPath));

    /// <summary>The relative target the kernel writes for a link in <paramref name="fromDir"/> to <paramref name="to"/>.</summary>
    private static string RelativeLink(string fromDir, string to) => Path.GetRelativePath("/" + fromDir, "/" + to);

    /// <summary>The functions below one bridge (or on the root bus).</summary>
    public sealed class PciBus
    {
        private readonly FunctionSpec? _bridge;
        private readonly List<FunctionSpec> _functions = [];

        internal PciBus(FunctionSpec? bridge)
        {
            _bridge = bridge;
        }

        /// <summary>
        /// An endpoint. <paramref name="ids"/> "vvvv:dddd", <paramref name="subsystem"/> likewise (default: none, 0000:0000),
        /// <paramref name="cls"/> the 24-bit class (0x030000 VGA, 0x040300 HDMI audio, 0x0c0330 xHCI, 0x0c8000 serial bus).
        /// </summary>
        public PciBus Function(string address, string ids, int cls, string? subsystem = null, int revision = 0, string? driver = null,
            int? group = null, bool flr = false, bool bootVga = false, string? resetMethods = null, bool? rom = null, int sriovTotalVfs = 0,
            int sriovNumVfs = 0, bool rebar = false, int config = 4096, string? driverOverride = null, string? physfn = null, int? rebarCurrent = null, uint rebarSizes = 0x0003fff0)
        {
            var (vendor, device) = Ids(ids);
            var (subVendor, subDevice) = subsystem is null ? (0, 0) : Ids(subsystem);
            _functions.Add(new FunctionSpec(this, PciAddress.Parse(address), vendor, device, cls)
            {
                SubVendor = subVendor,
                SubDevice = subDevice,
                Revision = revision,
                Driver = driver,
                Group = group,
                Flr = flr,
                BootVga = bootVga,
                ResetMethods = resetMethods,
                Rom = rom,
                SriovTotalVfs = sriovTotalVfs,
                SriovNumVfs = sriovNumVfs,
                Rebar = rebar || rebarCurrent is not null,
                RebarCurrent = rebarCurrent,
                RebarSizes = rebarSizes,
                ConfigLength = config,
                DriverOverride = driverOverride,
                Physfn = physfn,
                PortType = _bridge is null ? 9 : 0,
            });
            return this;
        }

        /// <summary>A switch port below this bridge: an upstream port below a root or downstream port, else a downstream port.</summary>
        public PciBus SwitchPort(string address, string ids, int? group = null, bool acs = false, Action<PciBus>? below = null, int revision = 0, int config = 4096) =>
            Bridge(address, ids, group, acs, below, revision, config, _bridge?.PortType == 5 ? 6 : 5);

        internal PciBus Bridge(string address, string ids, int? group, bool acs, Action<PciBus>? below, int revision, int config, int portType)
        {
            var (vendor, device) = Ids(ids);
            var spec = new FunctionSpec(this, PciAddress.Parse(address), vendor, device, 0x060400)
            {
                Revision = revision,
                Driver = "pcieport",
                Group = group,
                Acs = acs,
                ConfigLength = config,
                PortType = portType,
            };
            spec.Below = new PciBus(spec);
            below?.Invoke(spec.Below);
            _functions.Add(spec);
            return this;
        }

        internal string Directory(FunctionSpec f) =>
            _bridge is null
                ? string.Create(CultureInfo.InvariantCulture, $"sys/devices/pci{f.Address.Domain:x4}:{f.Address.Bus:x2}/{f.Address}")
                : $"{_bridge.Directory}/{f.Address}";

        internal IEnumerable<FunctionSpec> AllFunctions()
        {
            foreach (var f in _functions)
            {
                yield return f;
                if (f.Below is not null)
                {
                    foreach (var child in f.Below.AllFunctions())
                    {
                        yield return child;
                    }
                }
            }
        }

        internal IReadOnlyList<FunctionSpec> Functions => _functions;

        internal bool HasBridge => _bridge is not null;

        private static (int, int) Ids(string ids)
        {
            var parts = ids.Split(':');
            if (parts.Length != 2 || parts[0].Length != 4 || parts[1].Length != 4)
            {
                throw new ArgumentException($"ids are written vvvv:dddd, not {ids}", nameof(ids));
            }

            return (int.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), int.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>What the builder knows about one function; turned into files by <see cref="Entries"/>.</summary>
    internal sealed record FunctionSpec(PciBus Bus, PciAddress Address, int Vendor, int Device, int Class)
    {
        public int SubVendor { get; init; }

        public int SubDevice { get; init; }

        public int Revision { get; init; }

        public string? Driver { get; init; }

        public string? DriverOverride { get; init; }

        /// <summary>The PF's address when this function is an SR-IOV virtual function.</summary>
        public string? Physfn { get; init; }

        public int? Group { get; init; }

        public bool Flr { get; init; }

        public bool BootVga { get; init; }

        public string? ResetMethods { get; init; }

        public bool? Rom { get; init; }

        public int SriovTotalVfs { get; init; }

        public int SriovNumVfs { get; init; }

        public bool Rebar { get; init; }

        /// <summary>BAR 0's encoded current size (0 = 1 MiB); set: the kernel's resource0_resize and a sized resource line too.</summary>
        public int? RebarCurrent { get; init; }

        /// <summary>The ReBAR capability dword: bits 4..31 offer 1 MiB..128 TiB.</summary>
        public uint RebarSizes { get; init; } = 0x0003fff0;

        public bool Acs { get; init; }

        public int ConfigLength { get; init; } = 4096;

        /// <summary>PCIe Device/Port Type: 0 endpoint, 4 root port, 5 upstream, 6 downstream switch port, 9 RC integrated endpoint.</summary>
        public int PortType { get; init; }

        public PciBus? Below { get; set; }

        public bool IsBridge => Below is not null;

        public string Directory => Bus.Directory(this);

        /// <summary>Config space per the PCI Local Bus and PCIe Base specifications (offsets in the comments).</summary>
        public byte[] Config(bool multifunction)
        {
            var c = new byte[Math.Max(4096, ConfigLength)];
            var pcie = ConfigLength >= 4096 || ConfigLength == 64;
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x00), (ushort)Vendor);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x02), (ushort)Device);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x04), 0x0406);                   // command: memory, bus master
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x06), (ushort)(pcie ? 0x0010 : 0)); // status: capability list
            c[0x08] = (byte)Revision;
            c[0x09] = (byte)Class;
            c[0x0A] = (byte)(Class >> 8);
            c[0x0B] = (byte)(Class >> 16);
            c[0x0E] = (byte)((IsBridge ? 1 : 0) | (multifunction ? 0x80 : 0));                   // header type
            if (IsBridge)
            {
                var secondary = Below!.Functions.Count > 0 ? Below.Functions[0].Address.Bus : Address.Bus + 1;
                var subordinate = Below.AllFunctions().Select(f => f.Address.Bus).DefaultIfEmpty(secondary).Max();
                c[0x18] = (byte)Address.Bus;
                c[0x19] = (byte)secondary;
                c[0x1A] = (byte)subordinate;
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x2C), (ushort)SubVendor);
                BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x2E), (ushort)SubDevice);
            }

            c[0x3D] = 1; // interrupt pin INTA
            if (pcie)
            {
                c[0x34] = 0x40;
                c[0x40] = 0x10;                                                                  // PCI Express capability
                BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x42), (ushort)(0x0002 | (PortType << 4)));
                BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0x44), Flr ? 1u << 28 : 0);      // Device Capabilities, bit 28 FLR

                // Extended capabilities from 0x100: (id, length, body).
                var caps = new List<(int Id, int Length, Action<Span<byte>> Body)>();
                if (Acs)
                {
                    caps.Add((0x000D, 8, b => BinaryPrimitives.WriteUInt16LittleEndian(b[4..], 0x001f))); // SV TB RR CR UF
                }

                if (SriovTotalVfs > 0)
                {
                    caps.Add((0x0010, 0x40, b =>
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(b[0x0C..], (ushort)SriovTotalVfs); // initial VFs
                        BinaryPrimitives.WriteUInt16LittleEndian(b[0x0E..], (ushort)SriovTotalVfs); // total VFs
                        BinaryPrimitives.WriteUInt16LittleEndian(b[0x10..], (ushort)SriovNumVfs);   // num VFs
                        BinaryPrimitives.WriteUInt16LittleEndian(b[0x14..], 0x80);                  // first VF offset
                        BinaryPrimitives.WriteUInt16LittleEndian(b[0x16..], 4);                     // VF stride
                    }
                    ));
                }

                if (Rebar)
                {
                    caps.Add((0x0015, 0x0C, b =>
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], RebarSizes);                                // sizes offered (default 1 MB .. 8 GB)
                        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], (1u << 5) | ((uint)(RebarCurrent ?? 8) << 8)); // 1 BAR (BAR 0), current (default 256 MB)
                    }
                    ));
                }

                var offset = 0x100;
                for (var i = 0; i < caps.Count; i++)
                {
                    var next = i + 1 < caps.Count ? offset + caps[i].Length : 0;
                    BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(offset), (uint)(caps[i].Id | (1 << 16) | (next << 20)));
                    caps[i].Body(c.AsSpan(offset, caps[i].Length));
                    offset = next;
                }
            }

            return c[..ConfigLength];
        }
    }
}
