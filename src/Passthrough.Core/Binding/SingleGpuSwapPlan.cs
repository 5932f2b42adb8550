using Passthrough.Pci;

namespace Passthrough.Binding;

/// <summary>A systemd unit as the adapters found it before the swap.</summary>
public sealed record UnitFact(string Unit, bool Running);

/// <summary>A virtual console (/sys/class/vtconsole/vtconN): its name and whether it is bound.</summary>
public sealed record ConsoleFact(string Id, string Name, bool Bound);

/// <summary>A platform device bound to a platform driver (/sys/bus/platform/drivers/DRIVER/DEVICE).</summary>
public sealed record PlatformDeviceFact(string Driver, string Device);

/// <summary>
/// What the adapters read before a single-GPU swap: the units, consoles, platform framebuffers and
/// modules that hold the host's only GPU. Read once, before anything changes.
/// </summary>
public sealed record SwapFacts
{
    /// <summary>The display manager unit (configured, or behind display-manager.service); null when there is none.</summary>
    public UnitFact? DisplayManager { get; init; }

    /// <summary>nvidia-persistenced.service, when loaded.</summary>
    public UnitFact? Persistenced { get; init; }

    public IReadOnlyList<ConsoleFact> Consoles { get; init; } = [];

    /// <summary>Bound devices of the <see cref="SingleGpuSwapPlan.FramebufferDrivers"/>.</summary>
    public IReadOnlyList<PlatformDeviceFact> Framebuffers { get; init; } = [];

    /// <summary>Loaded modules (/proc/modules); null when unreadable: then every planned module is unloaded.</summary>
    public IReadOnlySet<string>? LoadedModules { get; init; }

    /// <summary>The module behind a PCI driver (drivers/NAME/module); a driver not listed is its own module.</summary>
    public IReadOnlyDictionary<string, string> DriverModules { get; init; } = new Dictionary<string, string>();

    public SwapFacts WithDisplayManager(UnitFact? unit) => this with { DisplayManager = unit };

    public SwapFacts WithPersistenced(UnitFact? unit) => this with { Persistenced = unit };

    public SwapFacts WithConsoles(IReadOnlyList<ConsoleFact> consoles) => this with { Consoles = consoles };

    public SwapFacts WithFramebuffers(IReadOnlyList<PlatformDeviceFact> framebuffers) => this with { Framebuffers = framebuffers };

    public SwapFacts WithLoadedModules(IReadOnlySet<string>? modules) => this with { LoadedModules = modules };

    public SwapFacts WithDriverModules(IReadOnlyDictionary<string, string> modules) => this with { DriverModules = modules };

    /// <summary>The module that provides <paramref name="driver"/> ("vfio-pci" is vfio_pci: modprobe treats - and _ alike).</summary>
    public string ModuleOf(string driver) => DriverModules.GetValueOrDefault(driver) ?? driver.Replace('-', '_');
}

/// <summary>
/// The single-GPU swap as a pure plan: the host desktop lets go of the GPU (display manager, a
/// remaining holder, framebuffer consoles, the platform framebuffer, GPU modules) before the bind,
/// and gets it back in the reverse order after, the display manager last. Every step that changes
/// something carries its journal entry.
/// </summary>
public sealed record SingleGpuSwapPlan(IReadOnlyList<HostStep> Steps, IReadOnlySet<string> UnloadedModules)
{
    /// <summary>systemd's alias for the display manager in use.</summary>
    public const string DisplayManagerAlias = "display-manager.service";

    /// <summary>Holds /dev/nvidia* open on its own, outside any session.</summary>
    public const string NvidiaPersistenced = "nvidia-persistenced.service";

    /// <summary>NVIDIA's modules in the order they can be unloaded (each uses the next).</summary>
    public static readonly IReadOnlyList<string> NvidiaModules = ["nvidia_drm", "nvidia_modeset", "nvidia_uvm", "nvidia"];

    /// <summary>Platform framebuffer drivers that hold the boot display's memory (drivers/firmware/sysfb.c).</summary>
    public static readonly IReadOnlyList<string> FramebufferDrivers = ["efi-framebuffer", "simple-framebuffer", "vesa-framebuffer"];

    /// <summary>fbcon's consoles say so in their name (drivers/video/console/fbcon.c).</summary>
    private const string FramebufferConsoleName = "frame buffer";

    /// <summary>Plans the swap for the GPU's <paramref name="functions"/>.</summary>
    public static SingleGpuSwapPlan Build(SwapFacts facts, IReadOnlyList<PciFunction> functions, IReadOnlyList<string> configuredModules, BindingTimeouts timeouts)
    {
        var steps = new List<HostStep>();

        // 1. The display manager.
        if (facts.DisplayManager is { Running: true } dm)
        {
            steps.Add(new UnitStep(UnitAction.Stop, dm.Unit, timeouts.UnitStop) { Records = new JournalEntry(JournalKind.DisplayManager, dm.Unit) });
        }

        // 2. Whatever still holds the GPU's device nodes: nvidia-persistenced may, on its own; anything else is the user's.
        if (facts.Persistenced is { Running: true } persistenced)
        {
            steps.Add(new UnitStep(UnitAction.Stop, persistenced.Unit, timeouts.UnitStop)
            {
                OnlyWhileHeld = functions,
                Records = new JournalEntry(JournalKind.StoppedUnit, persistenced.Unit),
            });
        }

        steps.Add(new RequireFreeStep(functions));

        // 3. Framebuffer consoles.
        foreach (var console in facts.Consoles.Where(c => c.Bound && c.Name.Contains(FramebufferConsoleName, StringComparison.OrdinalIgnoreCase)).OrderBy(c => c.Id, StringComparer.Ordinal))
        {
            steps.Add(new AttributeStep($"/sys/class/vtconsole/{console.Id}/bind", "0", $"unbind console {console.Id}") { Records = new JournalEntry(JournalKind.VtConsole, console.Id) });
        }

        // 4. The platform framebuffer on the boot GPU's memory.
        foreach (var driver in FramebufferDrivers)
        {
            foreach (var fb in facts.Framebuffers.Where(f => f.Driver == driver).OrderBy(f => f.Device, StringComparer.Ordinal))
            {
                steps.Add(new AttributeStep($"/sys/bus/platform/drivers/{driver}/unbind", fb.Device, $"unbind {fb.Device} from {driver}") { Records = new JournalEntry(JournalKind.Framebuffer, fb.Device, driver) });
            }
        }

        // 5. GPU modules, users first.
        var unloaded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var module in ModulesToUnload(configuredModules, functions).Where(m => facts.LoadedModules?.Contains(m) ?? true))
        {
            unloaded.Add(module);
            steps.Add(new ModuleStep(Load: false, module) { Records = new JournalEntry(JournalKind.Module, module) });
        }

        return new SingleGpuSwapPlan(steps, unloaded);
    }

    /// <summary>The configured modules; by default NVIDIA's stack when the GPU is on the nvidia driver.</summary>
    public static IReadOnlyList<string> ModulesToUnload(IReadOnlyList<string> configured, IEnumerable<PciFunction> functions) =>
        configured.Count > 0 ? configured
        : functions.Any(f => f.IsDisplay && f.Driver == "nvidia") ? NvidiaModules
        : [];

    /// <summary>The driver a function is on once the swap ran: none when the swap unloaded its module.</summary>
    public string? DriverAfter(FunctionState function, SwapFacts facts) =>
        function.Driver is { } driver && UnloadedModules.Contains(facts.ModuleOf(driver)) ? null : function.Driver;

    /// <summary>Undoes a journal's swap entries, after the functions are back: framebuffer, consoles, units, the display manager last.</summary>
    public static IReadOnlyList<HostStep> Restore(IReadOnlyList<JournalEntry> entries, BindingTimeouts timeouts)
    {
        var steps = new List<HostStep>();
        steps.AddRange(entries.Where(e => e.Kind == JournalKind.Framebuffer).Reverse().Select(e =>
            new AttributeStep($"/sys/bus/platform/drivers/{e.Driver}/bind", e.Target, $"bind {e.Target} to {e.Driver}")
            {
                UnlessExists = $"/sys/bus/platform/drivers/{e.Driver}/{e.Target}",
            }));
        steps.AddRange(entries.Where(e => e.Kind == JournalKind.VtConsole).Reverse().Select(e =>
            new AttributeStep($"/sys/class/vtconsole/{e.Target}/bind", "1", $"bind console {e.Target}")));
        steps.AddRange(entries.Where(e => e.Kind == JournalKind.StoppedUnit).Reverse().Select(e =>
            new UnitStep(UnitAction.Start, e.Target, timeouts.UnitStart)));
        steps.AddRange(entries.Where(e => e.Kind == JournalKind.DisplayManager).Select(e =>
            new UnitStep(UnitAction.Start, e.Target, timeouts.UnitStart)));
        return steps;
    }
}
