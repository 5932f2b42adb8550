namespace Passthrough.Binding;

/// <summary>
/// How a function goes back to what it was, computed from the recorded original and what the
/// kernel shows now, so it works after any partial bind (a crash, a failed hook, a rollback).
/// Two phases because a driver whose module was unloaded (single-gpu) must be reloaded in between.
/// </summary>
public static class RestorePlan
{
    /// <summary>Phase one: off vfio-pci (or whatever holds it now) and the original driver_override back.</summary>
    public static IReadOnlyList<BindingStep> Release(FunctionState original, FunctionState now)
    {
        var steps = new List<BindingStep>();
        if (now.Driver is not null && now.Driver != original.Driver)
        {
            steps.Add(BindingStep.Unbind(original.Address, now.Driver));
        }

        if (now.Override != original.Override)
        {
            steps.Add(BindingStep.WriteOverride(original.Address, original.Override));
        }

        return steps;
    }

    /// <summary>Phase two: the recorded driver again (bind, drivers_probe as fallback), then verify.</summary>
    public static IReadOnlyList<BindingStep> Rebind(FunctionState original, FunctionState now)
    {
        if (now.Driver == original.Driver)
        {
            return [];
        }

        return original.Driver is null
            ? [BindingStep.Verify(original.Address, null)]
            : [BindingStep.Bind(original.Address, original.Driver), BindingStep.Verify(original.Address, original.Driver)];
    }

    /// <summary>
    /// Everything a journal recorded, given back; each step is tried on its own (restore is best
    /// effort and reports every failure). Functions off vfio-pci first, then the unloaded modules in
    /// reverse (loading a driver also probes its devices), then each function's recorded driver,
    /// then the single-GPU swap's entries, then host tuning (CPU isolation, hugepages). <paramref name="isolation"/>:
    /// what the other journals hold of the CPUs (see <see cref="IsolationLedger"/>; null: nothing).
    /// </summary>
    public static IReadOnlyList<HostStep> ForJournal(BindingJournal journal, BindingTimeouts timeouts, IsolationLedger? isolation = null)
    {
        var functions = journal.FunctionStates().Reverse().ToList();
        var steps = new List<HostStep>();
        steps.AddRange(functions.Select(f => new RestoreFunctionStep(f, RestorePhase.Release)));
        steps.AddRange(BarResizePlan.Restore(journal.Entries));
        steps.AddRange(journal.Entries.Where(e => e.Kind == JournalKind.Module).Reverse().Select(e => new ModuleStep(Load: true, e.Target)));
        steps.AddRange(functions.Select(f => new RestoreFunctionStep(f, RestorePhase.Rebind)));
        steps.AddRange(SingleGpuSwapPlan.Restore(journal.Entries, timeouts));
        steps.AddRange(HostTuningPlan.Restore(journal.Entries, isolation));
        return steps;
    }

    /// <summary>`passthrough unbind` of a function with no journal: off its driver, override cleared, the kernel picks.</summary>
    public static IReadOnlyList<BindingStep> ReleaseUnrecorded(FunctionState now)
    {
        var steps = new List<BindingStep>();
        if (now.Driver is not null)
        {
            steps.Add(BindingStep.Unbind(now.Address, now.Driver));
        }

        steps.Add(BindingStep.WriteOverride(now.Address, null));
        steps.Add(BindingStep.DriversProbe(now.Address));
        return steps;
    }
}
