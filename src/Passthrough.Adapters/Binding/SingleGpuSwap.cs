using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;
using Passthrough.Sysfs;
using Passthrough.Systemd;

namespace Passthrough.Binding;

/// <summary>
/// The single-GPU swap around the binding: the host desktop lets go of the GPU (display manager,
/// remaining holders, framebuffer consoles, platform framebuffer, GPU modules) before the bind,
/// and gets it back in the reverse order after, the display manager last. Every change is
/// journaled before it is made.
/// </summary>
internal sealed class SingleGpuSwap
{
    /// <summary>NVIDIA's modules in the order they can be unloaded (each uses the next).</summary>
    public static readonly IReadOnlyList<string> NvidiaModules = ["nvidia_drm", "nvidia_modeset", "nvidia_uvm", "nvidia"];

    /// <summary>Platform framebuffer drivers that hold the boot display's memory (drivers/firmware/sysfb.c).</summary>
    private static readonly string[] FramebufferDrivers = ["efi-framebuffer", "simple-framebuffer", "vesa-framebuffer"];

    private const string DisplayManagerAlias = "display-manager.service";
    private const string NvidiaPersistenced = "nvidia-persistenced.service";

    private readonly HostRoot _root;
    private readonly IDriverBinder _binder;
    private readonly Func<ISystemdManager> _systemdFactory;
    private readonly BindingTimeouts _timeouts;
    private ISystemdManager? _systemd;

    public SingleGpuSwap(HostRoot root, IDriverBinder binder, Func<ISystemdManager> systemd, BindingTimeouts timeouts)
    {
        _root = root;
        _binder = binder;
        _systemdFactory = systemd;
        _timeouts = timeouts;
    }

    private ISystemdManager Systemd => _systemd ??= _systemdFactory();

    public async Task PrepareAsync(VmPassthroughConfig config, HostInventory inventory, BindingPlan plan, JournalRecorder recorder, CancellationToken cancellationToken)
    {
        try
        {
            await PrepareCoreAsync(config, inventory, plan, recorder, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _systemd?.Dispose();
            _systemd = null;
        }
    }

    private async Task PrepareCoreAsync(VmPassthroughConfig config, HostInventory inventory, BindingPlan plan, JournalRecorder recorder, CancellationToken cancellationToken)
    {
        // 1. The display manager (systemd's display-manager.service alias names the one in use).
        var unit = config.DisplayManagerUnit ?? await Systemd.ResolveUnitAsync(DisplayManagerAlias, cancellationToken).ConfigureAwait(false);
        if (unit is not null && IsRunning(await Systemd.GetActiveStateAsync(unit, cancellationToken).ConfigureAwait(false)))
        {
            recorder.Record(new JournalEntry(JournalKind.DisplayManager, unit));
            await StopAsync(unit, cancellationToken).ConfigureAwait(false);
        }

        // 2. Whatever still holds the GPU's device nodes.
        var functions = plan.Functions.Select(f => inventory.Find(f.Address)!).ToList();
        var holders = new DeviceHolders(_root);
        var holding = holders.Find(functions);
        if (holding.Count > 0)
        {
            var persistenced = await Systemd.ResolveUnitAsync(NvidiaPersistenced, cancellationToken).ConfigureAwait(false);
            if (persistenced is not null && IsRunning(await Systemd.GetActiveStateAsync(persistenced, cancellationToken).ConfigureAwait(false)))
            {
                recorder.Record(new JournalEntry(JournalKind.StoppedUnit, persistenced));
                await StopAsync(persistenced, cancellationToken).ConfigureAwait(false);
                holding = holders.Find(functions);
            }

            if (holding.Count > 0)
            {
                throw PassthroughException.Failure(
                    $"The GPU is still in use after stopping the display manager: {string.Join("; ", holding)}.",
                    "Close or stop those programs (a user session, a compositor, a monitoring tool), or stop them in the VM's prepare hook.");
            }
        }

        // 3. Framebuffer consoles (their name says "frame buffer", drivers/video/console/fbcon.c).
        foreach (var vtcon in SysfsFiles.Entries(_root.Path("/sys/class/vtconsole")).Order(StringComparer.Ordinal))
        {
            var name = SysfsFiles.ReadLine(Path.Join(vtcon, "name")) ?? string.Empty;
            var bound = SysfsFiles.ReadLine(Path.Join(vtcon, "bind"));
            if (name.Contains("frame buffer", StringComparison.OrdinalIgnoreCase) && bound == "1")
            {
                var id = Path.GetFileName(vtcon);
                recorder.Record(new JournalEntry(JournalKind.VtConsole, id));
                _binder.WriteAttribute($"/sys/class/vtconsole/{id}/bind", "0", $"unbind console {id}");
            }
        }

        // 4. The platform framebuffer on the boot GPU's memory.
        foreach (var driver in FramebufferDrivers)
        {
            foreach (var device in BoundPlatformDevices(driver))
            {
                recorder.Record(new JournalEntry(JournalKind.Framebuffer, device, driver));
                _binder.WriteAttribute($"/sys/bus/platform/drivers/{driver}/unbind", device, $"unbind {device} from {driver}");
            }
        }

        // 5. GPU modules, users first.
        var loaded = LoadedModules();
        foreach (var module in ModulesToUnload(config, functions))
        {
            if (loaded is not null && !loaded.Contains(module))
            {
                continue;
            }

            recorder.Record(new JournalEntry(JournalKind.Module, module));
            await _binder.UnloadModuleAsync(module, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Undoes the swap's entries (after the functions are back): framebuffer, consoles, units, display manager last.</summary>
    public async Task RestoreAsync(IReadOnlyList<JournalEntry> entries, List<string> failures, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var entry in entries.Where(e => e.Kind == JournalKind.Framebuffer).Reverse())
            {
                await BindingEngine.TryAsync(failures, () =>
                {
                    if (!File.Exists(_root.Path($"/sys/bus/platform/drivers/{entry.Driver}/{entry.Target}")))
                    {
                        _binder.WriteAttribute($"/sys/bus/platform/drivers/{entry.Driver}/bind", entry.Target, $"bind {entry.Target} to {entry.Driver}");
                    }

                    return Task.CompletedTask;
                }).ConfigureAwait(false);
            }

            foreach (var entry in entries.Where(e => e.Kind == JournalKind.VtConsole).Reverse())
            {
                await BindingEngine.TryAsync(failures, () =>
                {
                    _binder.WriteAttribute($"/sys/class/vtconsole/{entry.Target}/bind", "1", $"bind console {entry.Target}");
                    return Task.CompletedTask;
                }).ConfigureAwait(false);
            }

            foreach (var entry in entries.Where(e => e.Kind == JournalKind.StoppedUnit).Reverse())
            {
                await BindingEngine.TryAsync(failures, () => StartAsync(entry.Target, cancellationToken)).ConfigureAwait(false);
            }

            foreach (var entry in entries.Where(e => e.Kind == JournalKind.DisplayManager))
            {
                await BindingEngine.TryAsync(failures, () => StartAsync(entry.Target, cancellationToken)).ConfigureAwait(false);
            }
        }
        finally
        {
            _systemd?.Dispose();
            _systemd = null;
        }
    }

    /// <summary>The configured modules; by default NVIDIA's stack when the GPU is on the nvidia driver.</summary>
    internal static IReadOnlyList<string> ModulesToUnload(VmPassthroughConfig config, IEnumerable<PciFunction> functions) =>
        config.Modules.Count > 0 ? config.Modules
        : functions.Any(f => f.IsDisplay && f.Driver == "nvidia") ? NvidiaModules
        : [];

    private static bool IsRunning(string state) => state is "active" or "activating" or "reloading";

    private async Task StopAsync(string unit, CancellationToken cancellationToken)
    {
        var result = await Systemd.StopUnitAsync(unit, _timeouts.UnitStop, cancellationToken).ConfigureAwait(false);
        if (result != "done")
        {
            throw PassthroughException.Failure(
                $"Stopping {unit} ended with job result '{result}'.",
                $"`journalctl -u {unit}` shows why; raise <passthrough:timeouts unit-stop=...> if it is only slow.");
        }
    }

    private async Task StartAsync(string unit, CancellationToken cancellationToken)
    {
        var result = await Systemd.StartUnitAsync(unit, _timeouts.UnitStart, cancellationToken).ConfigureAwait(false);
        if (result != "done")
        {
            throw PassthroughException.Failure($"Starting {unit} ended with job result '{result}'.", $"`journalctl -u {unit}` shows why.");
        }
    }

    private IEnumerable<string> BoundPlatformDevices(string driver) =>
        SysfsFiles.Entries(_root.Path($"/sys/bus/platform/drivers/{driver}"))
            .Where(e => new FileInfo(e).LinkTarget is not null && Path.GetFileName(e).StartsWith(driver + ".", StringComparison.Ordinal))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal);

    private HashSet<string>? LoadedModules() =>
        SysfsFiles.ReadText(_root.Path("/proc/modules"))?
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2)[0])
            .ToHashSet(StringComparer.Ordinal);
}
