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
}
