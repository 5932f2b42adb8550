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

    /// <summary>Write the address to drivers/DRIVER/bind, and to drivers_probe when that fails.</summary>
    Bind,

    /// <summary>Write the address to drivers_probe: the kernel binds the override or the best match.</summary>
    DriversProbe,

    /// <summary>Read the driver link and compare; null expects no driver.</summary>
    Verify,
}

/// <summary>One step of a <see cref="BindingPlan"/> or a restore.</summary>
public sealed record BindingStep(StepKind Kind, PciAddress? Device, string? Driver)
{
    public static BindingStep LoadDriver(string driver) => new(StepKind.LoadDriver, null, driver);

    public static BindingStep WriteOverride(PciAddress device, string? driver) => new(StepKind.WriteOverride, device, driver);

    public static BindingStep Unbind(PciAddress device, string driver) => new(StepKind.Unbind, device, driver);

    public static BindingStep Bind(PciAddress device, string driver) => new(StepKind.Bind, device, driver);

    public static BindingStep DriversProbe(PciAddress device) => new(StepKind.DriversProbe, device, null);

    public static BindingStep Verify(PciAddress device, string? driver) => new(StepKind.Verify, device, driver);

    /// <summary>What the step does, for errors and logs ("unbind 0000:03:00.0 from amdgpu").</summary>
    public override string ToString() => Kind switch
    {
        StepKind.LoadDriver => $"load {Driver}",
        StepKind.WriteOverride => Driver is null ? $"clear driver_override of {Device}" : $"set driver_override of {Device} to {Driver}",
        StepKind.Unbind => $"unbind {Device} from {Driver}",
        StepKind.Bind => $"bind {Device} to {Driver}",
        StepKind.DriversProbe => $"probe drivers for {Device}",
        _ => Driver is null ? $"check that {Device} has no driver" : $"check that {Device} is on {Driver}",
    };
}
