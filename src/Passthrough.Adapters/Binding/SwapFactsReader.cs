using Passthrough.Adapters.Sysfs;
using Passthrough.Adapters.Systemd;
using Passthrough.Binding;
using Passthrough.Errors;

namespace Passthrough.Adapters.Binding;

/// <summary>
/// Reads the facts a single-GPU swap is planned from (<see cref="SwapFacts"/>): the units systemd
/// has, the virtual consoles, the bound platform framebuffers, the loaded modules and which module
/// provides each PCI driver. Reads only; what to do with them is <see cref="SingleGpuSwapPlan"/>'s.
/// </summary>
public sealed class SwapFactsReader
{
    private readonly HostRoot _root;

    public SwapFactsReader(HostRoot root)
    {
        _root = root;
    }

    /// <param name="systemd">The systemd client.</param>
    /// <param name="displayManager">The configured unit; null: the unit behind <see cref="SingleGpuSwapPlan.DisplayManagerAlias"/>.</param>
    /// <param name="drivers">The PCI drivers whose modules matter (the GPU functions' drivers).</param>
    /// <param name="cancellationToken">Cancels the systemd calls.</param>
    public async Task<SwapFacts> ReadAsync(ISystemdManager systemd, string? displayManager, IEnumerable<string> drivers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(systemd);

        // Both units in one question, and the job watch the display manager's stop needs set up meanwhile: the bus
        // answers while the files below are read.
        var asked = displayManager ?? SingleGpuSwapPlan.DisplayManagerAlias;
        var states = systemd.GetUnitStatesAsync([asked, SingleGpuSwapPlan.NvidiaPersistenced], cancellationToken);
        var watch = systemd.WatchJobsAsync(cancellationToken);
        var facts = new SwapFacts()
            .WithConsoles(Consoles())
            .WithFramebuffers([.. SingleGpuSwapPlan.FramebufferDrivers.SelectMany(BoundPlatformDevices)])
            .WithLoadedModules(LoadedModules())
            .WithDriverModules(DriverModules(drivers));
        await Task.WhenAll(states, watch).ConfigureAwait(false);
        var units = await states.ConfigureAwait(false);

        if (displayManager is not null && units[0] is null)
        {
            // A configured unit must exist: skipping its stop would leave it holding the GPU.
            throw new DBusException(
                FailureKind.Failed,
                "org.freedesktop.systemd1.NoSuchUnit",
                $"systemd has no unit {displayManager}.",
                "Check the unit name with `systemctl list-units`.");
        }

        return facts
            .WithDisplayManager(units[0] is { } dm ? new UnitFact(dm.Id, IsRunning(dm.ActiveState)) : null)
            .WithPersistenced(units[1] is { } persistenced ? new UnitFact(persistenced.Id, IsRunning(persistenced.ActiveState)) : null);
    }

    /// <summary>systemd's ActiveState values that mean the unit is up or coming up.</summary>
    private static bool IsRunning(string state) => state is "active" or "activating" or "reloading";

    private List<ConsoleFact> Consoles() =>
        [.. SysfsFiles.Entries(_root.Path("/sys/class/vtconsole"))
            .Select(dir => new ConsoleFact(
                Path.GetFileName(dir),
                SysfsFiles.ReadLine(Path.Join(dir, "name")) ?? string.Empty,
                SysfsFiles.ReadLine(Path.Join(dir, "bind")) == "1"))];

    /// <summary>A platform driver's directory links its bound devices, named DRIVER.N (beside bind, unbind, module).</summary>
    private IEnumerable<PlatformDeviceFact> BoundPlatformDevices(string driver) =>
        SysfsFiles.Entries(_root.Path($"/sys/bus/platform/drivers/{driver}"))
            .Where(e => new FileInfo(e).LinkTarget is not null && Path.GetFileName(e).StartsWith(driver + ".", StringComparison.Ordinal))
            .Select(e => new PlatformDeviceFact(driver, Path.GetFileName(e)));

    private HashSet<string>? LoadedModules() =>
        SysfsFiles.ReadText(_root.Path("/proc/modules"))?
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2)[0])
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>drivers/NAME/module links to /sys/module/MODULE (absent for built-in drivers).</summary>
    private Dictionary<string, string> DriverModules(IEnumerable<string> drivers)
    {
        var modules = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var driver in drivers.Distinct(StringComparer.Ordinal))
        {
            if (new FileInfo(_root.Path($"/sys/bus/pci/drivers/{driver}/module")).LinkTarget is { } target)
            {
                modules[driver] = Path.GetFileName(target);
            }
        }

        return modules;
    }
}
