using Passthrough.Adapters.Processes;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// The mutating side of the host, kept apart from the read-only <see cref="IHostReader"/>: PCI
/// driver binding through sysfs (Documentation/ABI/testing/sysfs-bus-pci), module loading, and the
/// few other attributes the single-GPU swap writes.
/// </summary>
public interface IDriverBinder
{
    /// <summary>The driver the function is bound to now (its `driver` link), or null.</summary>
    string? DriverOf(PciAddress device);

    /// <summary>The function's driver_override, null when unset.</summary>
    string? OverrideOf(PciAddress device);

    /// <summary>A PCI driver is registered (/sys/bus/pci/drivers/NAME exists).</summary>
    bool IsDriverLoaded(string driver);

    void WriteOverride(PciAddress device, string? driver);

    void Unbind(PciAddress device, string driver);

    void Bind(PciAddress device, string driver);

    void DriversProbe(PciAddress device);

    /// <summary>Writes any other attribute (vtconsole bind, platform bind/unbind), time-bounded like the rest.</summary>
    void WriteAttribute(string hostPath, string value, string what);

    Task LoadModuleAsync(string module, CancellationToken cancellationToken = default);

    Task UnloadModuleAsync(string module, CancellationToken cancellationToken = default);
}

/// <summary>
/// Executes binding steps against ROOT/sys. Every write runs on its own thread with a time limit:
/// an unbind stuck in a driver's remove() must not hang libvirt, and the error names the write.
/// </summary>
public sealed class SysfsDriverBinder : IDriverBinder
{
    /// <summary>Every binder's writes, one at a time, on one reused thread.</summary>
    private static readonly KernelWriteThread Writes = new();

    private readonly HostRoot _root;
    private readonly IKernelWriter _writer;
    private readonly IProcessRunner _runner;

    /// <param name="root">The directory treated as /.</param>
    /// <param name="writer">The kernel (LiveKernelWriter) or a simulated one.</param>
    /// <param name="runner">Runs modprobe. Under a root other than / it must not be the real runner.</param>
    /// <param name="writeTimeout">How long one sysfs write may take.</param>
    public SysfsDriverBinder(HostRoot root, IKernelWriter writer, IProcessRunner runner, TimeSpan writeTimeout)
    {
        _root = root;
        _writer = writer;
        _runner = runner;
        WriteTimeout = writeTimeout;
    }

    public TimeSpan WriteTimeout { get; }

    public TimeSpan ModuleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    private static string DevicePath(PciAddress device, string attribute) => $"/sys/bus/pci/devices/{device}/{attribute}";

    public string? DriverOf(PciAddress device) => SysfsFiles.LinkTargetName(_root.Path(DevicePath(device, "driver")));

    public string? OverrideOf(PciAddress device) =>
        SysfsFiles.ReadLine(_root.Path(DevicePath(device, "driver_override"))) is { Length: > 0 } text && text != "(null)" ? text : null;

    public bool IsDriverLoaded(string driver) => Directory.Exists(_root.Path($"/sys/bus/pci/drivers/{driver}"));

    // An empty write ("\n") clears driver_override (drivers/pci/pci-sysfs.c, driver_override_store).
    public void WriteOverride(PciAddress device, string? driver) =>
        Write(DevicePath(device, "driver_override"), driver ?? "\n", driver is null ? $"clear driver_override of {device}" : $"set driver_override of {device} to {driver}");

    public void Unbind(PciAddress device, string driver) =>
        Write($"/sys/bus/pci/drivers/{driver}/unbind", device.ToString(), $"unbind {device} from {driver}");

    public void Bind(PciAddress device, string driver) =>
        Write($"/sys/bus/pci/drivers/{driver}/bind", device.ToString(), $"bind {device} to {driver}");

    public void DriversProbe(PciAddress device) =>
        Write("/sys/bus/pci/drivers_probe", device.ToString(), $"probe drivers for {device}");

    public void WriteAttribute(string hostPath, string value, string what) => Write(hostPath, value, what);

    public Task LoadModuleAsync(string module, CancellationToken cancellationToken = default) =>
        ModprobeAsync([module], $"load module {module}", cancellationToken);

    public Task UnloadModuleAsync(string module, CancellationToken cancellationToken = default) =>
        ModprobeAsync(["-r", module], $"unload module {module}", cancellationToken);

    private async Task ModprobeAsync(string[] arguments, string what, CancellationToken cancellationToken)
    {
        if (!_root.IsLiveSystem && _runner is ProcessRunner)
        {
            // A fixture or captured tree must never change the modules of the machine running the tests.
            throw PassthroughException.Host(
                $"Refusing to {what} on this machine while --root is {_root}.",
                "Module changes only happen on the live system (--root /).");
        }

        var result = await _runner.RunAsync("modprobe", arguments, new ProcessOptions().WithTimeout(ModuleTimeout), cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw PassthroughException.Failure(
                result.TimedOut
                    ? $"Could not {what}: `{result.Command}` did not finish in {ModuleTimeout.TotalSeconds:0} s."
                    : $"Could not {what}: `{result.Command}` failed: {result.Stderr.Trim()}",
                "Something still uses the module: `lsmod` shows its users, `fuser -v /dev/dri/* /dev/nvidia*` the processes.");
        }
    }

    private void Write(string hostPath, string value, string what)
    {
        var path = _root.Path(hostPath);
        var shown = value.Trim().Length == 0 ? "an empty line" : $"'{value.Trim()}'";

        // On a thread of its own: a write stuck in the kernel cannot be cancelled, only abandoned. What the
        // writer throws arrives unchanged; anything but these (a bug, a simulated crash) travels on as it is.
        bool finished;
        try
        {
            finished = Writes.Run(() => _writer.Write(path, value), WriteTimeout);
        }
        catch (Exception inner) when (inner is PassthroughException or UnauthorizedAccessException or IOException or ArgumentException)
        {
            throw inner switch
            {
                PassthroughException p => p,
                UnauthorizedAccessException => PassthroughException.Host(
                    $"Could not {what}: permission denied writing {shown} to {hostPath}.",
                    "Run it as root (sudo); the libvirt hook runs as root.",
                    inner),
                FileNotFoundException or DirectoryNotFoundException => PassthroughException.Failure(
                    $"Could not {what}: {hostPath} does not exist (the driver is not loaded, or the device is gone).",
                    "`lsmod` shows the loaded modules; `passthrough list --all` the devices.",
                    inner),
                _ => PassthroughException.Failure(
                    $"Could not {what}: writing {shown} to {hostPath} failed: {inner.Message}",
                    "`dmesg | tail` shows why the kernel refused; `passthrough status` shows the bindings now.",
                    inner),
            };
        }

        if (!finished)
        {
            throw PassthroughException.Failure(
                $"Could not {what}: writing {shown} to {hostPath} did not return within {WriteTimeout.TotalSeconds:0.#} s (the driver is stuck).",
                "`dmesg` shows the driver's messages; a stuck unbind usually needs a reboot. Raise <passthrough:timeouts sysfs-write=...> if the driver is only slow.");
        }
    }
}
