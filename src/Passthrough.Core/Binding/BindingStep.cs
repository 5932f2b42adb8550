using Passthrough.Pci;

namespace Passthrough.Binding;

/// <summary>One kernel operation of a plan (Documentation/ABI/testing/sysfs-bus-pci).</summary>
public enum StepKind
{
    /// <summary>Make sure a PCI driver is registered (modprobe its module when its drivers/NAME is missing).</summary>
    LoadDriver,

    /// <summary>Write a driver name to driver_override; null clears it (an empty write).</summary>
    WriteOverride,

    /// <summary>Write the address to drivers/DRIVER/unbind.</summary>
    Unbind,

    /// <summary>Write the address to drivers/DRIVER/bind; the step's fallback runs when the driver is not registered or refuses.</summary>
    Bind,

    /// <summary>Write the address to drivers_probe: the kernel binds the override or the best match.</summary>
    DriversProbe,

    /// <summary>Read the driver link and compare, for as long as the step's poll says; null expects no driver.</summary>
    Verify,
}

/// <summary>One step of a <see cref="BindingPlan"/> or a restore. Its fallback, poll and remedy come from the plan.</summary>
public sealed record BindingStep(StepKind Kind, PciAddress? Device, string? Driver) : HostStep
{
    /// <summary>
    /// Probing is synchronous for PCI, but a driver may register its link a moment later
    /// (Documentation/driver-api/driver-model/binding.rst): verification looks again briefly.
    /// </summary>
    public static readonly Poll VerifyPoll = new(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(20));

    /// <summary>Runs instead when a Bind step's driver is not registered or refuses the device.</summary>
    public BindingStep? Fallback { get; init; }

    /// <summary>How long a Verify step waits for the expected driver.</summary>
    public Poll? Poll { get; init; }

    /// <summary>What to do when a LoadDriver step's driver is still missing after modprobe.</summary>
    public string? Remedy { get; init; }

    public static BindingStep LoadDriver(string driver, string remedy) => new(StepKind.LoadDriver, null, driver) { Remedy = remedy };

    public static BindingStep WriteOverride(PciAddress device, string? driver) => new(StepKind.WriteOverride, device, driver);

    public static BindingStep Unbind(PciAddress device, string driver) => new(StepKind.Unbind, device, driver);

    /// <summary>Bind to the driver; drivers_probe asks the kernel again when that cannot work (the module
    /// came back without probing this device, or the driver refuses the explicit bind).</summary>
    public static BindingStep Bind(PciAddress device, string driver) => new(StepKind.Bind, device, driver) { Fallback = DriversProbe(device) };

    public static BindingStep DriversProbe(PciAddress device) => new(StepKind.DriversProbe, device, null);

    public static BindingStep Verify(PciAddress device, string? driver) => new(StepKind.Verify, device, driver) { Poll = VerifyPoll };

    /// <summary>What the step does, for errors and logs ("unbind 0000:03:00.0 from amdgpu").</summary>
    public override string ToString() => Kind switch
    {
        StepKind.LoadDriver => $"load {Driver}",
        StepKind.WriteOverride => Driver is null ? $"clear driver_override of {Device}" : $"set driver_override of {Device} to {Driver}",
        StepKind.Unbind => $"unbind {Device} from {Driver}",
        StepKind.Bind => $"bind {Device} to {Driver}",
        StepKind.DriversProbe => $"probe drivers for {Device}",
        StepKind.Verify => Driver is null ? $"check that {Device} has no driver" : $"check that {Device} is on {Driver}",
        _ => Kind.ToString(),
    };
}
