using Passthrough.Pci;

namespace Passthrough.Binding;

/// <summary>
/// One action of a plan the binding engine executes. <see cref="Records"/> is written to the state
/// journal before the action, so a crash right after it still leaves a journal that undoes it.
/// </summary>
public abstract record HostStep
{
    /// <summary>What the journal records before this step runs; null: the step changes nothing to undo.</summary>
    public JournalEntry? Records { get; init; }

    public HostStep WithRecords(JournalEntry entry) => this with { Records = entry };
}

/// <summary>How long to wait for the kernel to show a result, and how often to look.</summary>
public sealed record Poll(TimeSpan Within, TimeSpan Every);

/// <summary>Stop or start a systemd unit and wait for its job.</summary>
public enum UnitAction
{
    Stop,
    Start,
}

/// <summary>
/// Stop or start a unit and wait for the job's result; anything but "done" fails the step.
/// With <see cref="OnlyWhileHeld"/> a stop runs only while a process still holds one of those functions.
/// </summary>
public sealed record UnitStep(UnitAction Action, string Unit, TimeSpan Timeout) : HostStep
{
    public IReadOnlyList<PciFunction>? OnlyWhileHeld { get; init; }

    public override string ToString() => $"{(Action == UnitAction.Stop ? "stop" : "start")} {Unit}";
}

/// <summary>Fail, naming the processes, when anything still holds the functions' device nodes.</summary>
public sealed record RequireFreeStep(IReadOnlyList<PciFunction> Functions) : HostStep
{
    public override string ToString() => $"check that nothing holds {string.Join(", ", Functions.Select(f => f.Address))}";
}

/// <summary>Write VALUE to a sysfs attribute (host path); skipped when <see cref="UnlessExists"/> exists.</summary>
public sealed record AttributeStep(string Path, string Value, string What) : HostStep
{
    /// <summary>A host path whose presence means the write is already done (a platform device bound again).</summary>
    public string? UnlessExists { get; init; }

    public override string ToString() => What;
}

/// <summary>Load or unload a kernel module (modprobe, modprobe -r).</summary>
public sealed record ModuleStep(bool Load, string Module) : HostStep
{
    public override string ToString() => Load ? $"load module {Module}" : $"unload module {Module}";
}

/// <summary>Which half of giving a function back (see <see cref="RestorePlan"/>).</summary>
public enum RestorePhase
{
    /// <summary>Off vfio-pci, original driver_override back.</summary>
    Release,

    /// <summary>The recorded driver again.</summary>
    Rebind,
}

/// <summary>
/// Give one function back from its recorded original. The writes depend on what the kernel shows at
/// that moment (a restore must work after any partial bind), so the engine reads the function's
/// state and <see cref="Expand"/> turns it into binding steps, by the pure <see cref="RestorePlan"/>.
/// </summary>
public sealed record RestoreFunctionStep(FunctionState Original, RestorePhase Phase) : HostStep
{
    public IReadOnlyList<BindingStep> Expand(FunctionState now) => Phase == RestorePhase.Release
        ? RestorePlan.Release(Original, now)
        : RestorePlan.Rebind(Original, now);

    public override string ToString() => $"{(Phase == RestorePhase.Release ? "release" : "rebind")} {Original.Address}";
}
