using System.Diagnostics;
using Passthrough.Adapters.Processes;
using Passthrough.Adapters.Sysfs;

namespace Passthrough.Testing;

/// <summary>
/// A test double for the kernel's side of sysfs: applies bind, unbind, driver_override and
/// drivers_probe (Documentation/ABI/testing/sysfs-bus-pci) to a fixture tree by moving the
/// device's `driver` link and the driver's back-link, and answers `modprobe` like the module
/// loader (registering a driver probes its devices; unloading unbinds them). Every write and
/// modprobe is appended to <see cref="Events"/>.
/// </summary>
public class SimulatedKernel : IKernelWriter, IProcessRunner
{
    private readonly Lock _gate = new();
    private int _writes;

    public SimulatedKernel(string root, IReadOnlyDictionary<string, string>? nativeDrivers = null, List<string>? events = null)
    {
        Root = Path.GetFullPath(root);
        NativeDrivers = new Dictionary<string, string>(nativeDrivers ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        Events = events ?? [];
    }

    public string Root { get; }

    /// <summary>The driver the kernel would pick for a device without driver_override (device name to driver).</summary>
    public Dictionary<string, string> NativeDrivers { get; }

    /// <summary>"write /sys/... VALUE" and "modprobe ARGS", in order; shared with other recording fakes.</summary>
    public List<string> Events { get; }

    /// <summary>How many hugepages of a size (KiB) the kernel can find in all; a larger nr_hugepages write gets this many.</summary>
    public Dictionary<long, int> HugepageLimits { get; } = [];

    /// <summary>Number of sysfs writes so far.</summary>
    public int Writes => _writes;

    public void Write(string path, string value)
    {
        var host = "/" + Path.GetRelativePath(Root, path).Replace('\\', '/');
        int index;
        lock (_gate)
        {
            index = _writes++;
            Events.Add($"write {host} {value.Trim()}");
        }

        BeforeWrite(index, host, value);
        lock (_gate)
        {
            Apply(host, value.Trim());
        }
    }

    /// <summary>Failure injection point for <see cref="FailingKernelFake"/>.</summary>
    protected virtual void BeforeWrite(int index, string hostPath, string value)
    {
    }

    /// <summary>Failure injection point for modprobe; return non-null to fail with that message.</summary>
    protected virtual string? BeforeModprobe(IReadOnlyList<string> arguments) => null;

    public Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, ProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        var command = string.Join(' ', new[] { program }.Concat(arguments));
        lock (_gate)
        {
            Events.Add(command);
        }

        if (program != "modprobe" || arguments.Count == 0)
        {
            return Task.FromResult(new ProcessResult(command, 127, string.Empty, $"{program}: not simulated", false, TimeSpan.Zero));
        }

        if (BeforeModprobe(arguments) is { } failure)
        {
            return Task.FromResult(new ProcessResult(command, 1, string.Empty, failure, false, TimeSpan.Zero));
        }

        lock (_gate)
        {
            var remove = arguments[0] == "-r";
            var module = arguments[^1].Replace('-', '_');
            var loaded = Modules();
            if (remove)
            {
                if (!loaded.Remove(module))
                {
                    return Task.FromResult(new ProcessResult(command, 1, string.Empty, $"modprobe: FATAL: Module {module} is not in kernel.", false, TimeSpan.Zero));
                }

                var driverDir = Sys("bus/pci/drivers/" + DriverOfModule(module));
                if (Directory.Exists(driverDir))
                {
                    foreach (var device in Directory.GetFileSystemEntries(driverDir).Where(e => new FileInfo(e).LinkTarget is not null))
                    {
                        Detach("pci", Path.GetFileName(device));
                    }

                    Directory.Delete(driverDir, recursive: true);
                }
            }
            else if (!loaded.Contains(module))
            {
                loaded.Add(module);
                var driver = DriverOfModule(module);
                if (module == "vfio_pci" || NativeDrivers.ContainsValue(driver))
                {
                    RegisterDriver("pci", driver);
                    foreach (var device in Directory.GetFileSystemEntries(Sys("bus/pci/devices")).Select(Path.GetFileName).OfType<string>())
                    {
                        if (CurrentDriver("pci", device) is null && (Override("pci", device) ?? NativeDrivers.GetValueOrDefault(device)) == driver)
                        {
                            Attach("pci", device, driver);
                        }
                    }
                }
            }

            File.WriteAllLines(Path.Join(Root, "proc", "modules"), loaded.Select(m => $"{m} 16384 0 - Live 0x0000000000000000"));
        }

        return Task.FromResult(new ProcessResult(command, 0, string.Empty, string.Empty, false, TimeSpan.Zero));
    }

    /// <summary>Creates /sys/bus/BUS/drivers/NAME with its bind and unbind attributes.</summary>
    public void RegisterDriver(string bus, string driver)
    {
        var dir = Sys($"bus/{bus}/drivers/{driver}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Join(dir, "bind"), string.Empty);
        File.WriteAllText(Path.Join(dir, "unbind"), string.Empty);
    }

    private static string DriverOfModule(string module) => module == "vfio_pci" ? "vfio-pci" : module;

    private List<string> Modules()
    {
        var path = Path.Join(Root, "proc", "modules");
        return File.Exists(path) ? [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => l.Split(' ')[0])] : [];
    }

    private string Sys(string relative) => Path.Join(Root, "sys", relative);

    private void Apply(string host, string value)
    {
        var parts = host.Split('/', StringSplitOptions.RemoveEmptyEntries);

        // /sys/bus/BUS/devices/DEV/driver_override
        if (parts is ["sys", "bus", var bus, "devices", var dev, "driver_override"])
        {
            RequireDevice(bus, dev);
            File.WriteAllText(Sys($"bus/{bus}/devices/{dev}/driver_override"), (value.Length == 0 ? "(null)" : value) + "\n");
            return;
        }

        // /sys/bus/BUS/drivers/DRV/unbind, bind
        if (parts is ["sys", "bus", var b, "drivers", var drv, "unbind" or "bind"])
        {
            if (!Directory.Exists(Sys($"bus/{b}/drivers/{drv}")))
            {
                throw new DirectoryNotFoundException($"Could not find a part of the path '{host}'.");
            }

            RequireDevice(b, value);
            var current = CurrentDriver(b, value);
            if (parts[^1] == "unbind")
            {
                if (current != drv)
                {
                    throw new IOException("No such device");
                }

                Detach(b, value);
                return;
            }

            if (current is not null)
            {
                throw new IOException("Device or resource busy");
            }

            var wanted = Override(b, value) ?? NativeDrivers.GetValueOrDefault(value);
            if (wanted != drv)
            {
                throw new IOException("No such device");
            }

            Attach(b, value, drv);
            return;
        }

        // /sys/bus/BUS/drivers_probe
        if (parts is ["sys", "bus", var pb, "drivers_probe"])
        {
            RequireDevice(pb, value);
            if (CurrentDriver(pb, value) is null
                && (Override(pb, value) ?? NativeDrivers.GetValueOrDefault(value)) is { } candidate
                && Directory.Exists(Sys($"bus/{pb}/drivers/{candidate}")))
            {
                Attach(pb, value, candidate);
            }

            return;
        }

        // compact_memory is write-only: compaction leaves nothing to read back.
        if (host == "/proc/sys/vm/compact_memory")
        {
            return;
        }

        // /sys/kernel/mm/hugepages/hugepages-SIZEkB/nr_hugepages: the pool grows by what the kernel finds, free pages with it.
        if (parts is ["sys", "kernel", "mm", "hugepages", var pool, "nr_hugepages"]
            && long.TryParse(pool["hugepages-".Length..^2], System.Globalization.CultureInfo.InvariantCulture, out var size)
            && int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var pages))
        {
            var dir = Sys($"kernel/mm/hugepages/{pool}");
            var total = int.Parse(File.ReadAllText(Path.Join(dir, "nr_hugepages")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var free = int.Parse(File.ReadAllText(Path.Join(dir, "free_hugepages")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var got = Math.Min(pages, HugepageLimits.GetValueOrDefault(size, int.MaxValue));
            var inUse = total - free;
            got = Math.Max(got, inUse); // pages in use are never taken away (they become surplus)
            File.WriteAllText(Path.Join(dir, "nr_hugepages"), $"{got}\n");
            File.WriteAllText(Path.Join(dir, "free_hugepages"), $"{got - inUse}\n");
            return;
        }

        // /sys/bus/pci/devices/DEV/resourceN_resize (drivers/pci/pci-sysfs.c): EBUSY while a driver is bound,
        // EINVAL for a size the mask does not offer; else BAR N takes the new size (line N of `resource`).
        if (parts is ["sys", "bus", "pci", "devices", var rdev, var attribute] && attribute.StartsWith("resource", StringComparison.Ordinal) && attribute.EndsWith("_resize", StringComparison.Ordinal))
        {
            ResizeBar(rdev, int.Parse(attribute["resource".Length..^"_resize".Length], System.Globalization.CultureInfo.InvariantCulture), value);
            return;
        }

        var file = Path.Join(Root, host);
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"Could not find file '{host}'.");
        }

        File.WriteAllText(file, value + "\n");
    }

    private void ResizeBar(string device, int n, string value)
    {
        var dir = DeviceDir("pci", device);
        var mask = Convert.ToUInt64(File.ReadAllText(Path.Join(dir, $"resource{n}_resize")).Trim(), 16);
        if (CurrentDriver("pci", device) is not null)
        {
            throw new IOException("Device or resource busy");
        }

        if (!int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var code) || code < 0 || code > 43 || (mask & (1UL << code)) == 0)
        {
            throw new IOException("Invalid argument");
        }

        var resource = Path.Join(dir, "resource");
        var lines = File.ReadAllLines(resource);
        var parts = lines[n].Split(' ');
        var start = Convert.ToInt64(parts[0], 16);
        lines[n] = $"0x{start:x16} 0x{start + (1L << (20 + code)) - 1:x16} {parts[2]}";
        File.WriteAllLines(resource, lines);
    }

    private void RequireDevice(string bus, string device)
    {
        if (!Path.Exists(Sys($"bus/{bus}/devices/{device}")))
        {
            throw new IOException("No such device");
        }
    }

    private string DeviceDir(string bus, string device)
    {
        var entry = Sys($"bus/{bus}/devices/{device}");
        var target = new FileInfo(entry).LinkTarget;
        return target is null ? entry : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(entry)!, target));
    }

    private string? CurrentDriver(string bus, string device)
    {
        var link = new FileInfo(Path.Join(DeviceDir(bus, device), "driver")).LinkTarget;
        return link is null ? null : Path.GetFileName(link.TrimEnd('/'));
    }

    private string? Override(string bus, string device)
    {
        var path = Path.Join(DeviceDir(bus, device), "driver_override");
        var text = File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        return text is null or "" or "(null)" ? null : text;
    }

    private void Attach(string bus, string device, string driver)
    {
        var deviceDir = DeviceDir(bus, device);
        var driverDir = Sys($"bus/{bus}/drivers/{driver}");
        File.CreateSymbolicLink(Path.Join(deviceDir, "driver"), Path.GetRelativePath(deviceDir, driverDir));
        File.CreateSymbolicLink(Path.Join(driverDir, device), Path.GetRelativePath(driverDir, deviceDir));
    }

    private void Detach(string bus, string device)
    {
        var deviceDir = DeviceDir(bus, device);
        var driver = CurrentDriver(bus, device);
        File.Delete(Path.Join(deviceDir, "driver"));
        if (driver is not null)
        {
            File.Delete(Sys($"bus/{bus}/drivers/{driver}/{device}"));
        }
    }
}

/// <summary>The simulated kernel with failure injection: fail, hang or crash at a chosen write, fail a modprobe.</summary>
public sealed class FailingKernelFake : SimulatedKernel, IDisposable
{
    private readonly ManualResetEventSlim _release = new(false);

    public FailingKernelFake(string root, IReadOnlyDictionary<string, string>? nativeDrivers = null, List<string>? events = null)
        : base(root, nativeDrivers, events)
    {
    }

    /// <summary>The write (0-based) that fails with an I/O error, as a driver refusing would.</summary>
    public int? FailAt { get; set; }

    /// <summary>The write that never returns (a driver stuck in remove()).</summary>
    public int? HangAt { get; set; }

    /// <summary>The write at which the process "dies": an exception nothing in the engine catches.</summary>
    public int? CrashAt { get; set; }

    /// <summary>Modules whose `modprobe -r` fails as if in use.</summary>
    public HashSet<string> BusyModules { get; } = new(StringComparer.Ordinal);

    protected override void BeforeWrite(int index, string hostPath, string value)
    {
        if (index == FailAt)
        {
            throw new IOException("Device or resource busy");
        }

        if (index == CrashAt)
        {
            throw new SimulatedCrashException($"crash before write {index} to {hostPath}");
        }

        if (index == HangAt)
        {
            _release.Wait();
            throw new IOException("abandoned");
        }
    }

    protected override string? BeforeModprobe(IReadOnlyList<string> arguments) =>
        arguments[0] == "-r" && BusyModules.Contains(arguments[^1]) ? $"modprobe: FATAL: Module {arguments[^1]} is in use." : null;

    public void Dispose()
    {
        _release.Set();
        _release.Dispose();
    }
}

/// <summary>Stands for the process dying mid-bind (power loss, OOM kill): the engine does not catch it.</summary>
[DebuggerDisplay("{Message}")]
public sealed class SimulatedCrashException : Exception
{
    public SimulatedCrashException(string message)
        : base(message)
    {
    }

    public SimulatedCrashException()
    {
    }

    public SimulatedCrashException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
