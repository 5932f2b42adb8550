using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Binding;

/// <summary>What a function was before we touched it: the journal keeps this to give it back.</summary>
public sealed record FunctionState(PciAddress Address, string? Driver, string? Override);

/// <summary>The steps that move one function to vfio-pci, and what it was before.</summary>
public sealed record FunctionBinding(FunctionState Original, IReadOnlyList<BindingStep> Steps)
{
    /// <summary>The driver it goes to: vfio-pci, or the VFIO variant driver the VM's hostdev asks for (&lt;driver model&gt;).</summary>
    public string Target { get; init; } = BindingPlan.VfioDriver;

    public PciAddress Address => Original.Address;

    public bool AlreadyBound => Steps.Count == 0;
}

/// <summary>
/// The pure plan to hand functions to vfio-pci. Built from the host inventory; checks every IOMMU
/// group first, because vfio refuses a group with an endpoint still on a host driver
/// (Documentation/driver-api/vfio.rst, "Groups, Devices, and IOMMUs").
/// </summary>
public sealed record BindingPlan(IReadOnlyList<BindingStep> Preparation, IReadOnlyList<FunctionBinding> Functions)
{
    public const string VfioDriver = "vfio-pci";

    private const string VfioMissing = "Check that the kernel has VFIO (CONFIG_VFIO_PCI) and `modprobe vfio-pci` works.";

    public IEnumerable<BindingStep> AllSteps => Preparation.Concat(Functions.SelectMany(f => f.Steps));

    /// <summary>Plans binding the devices for <paramref name="owner"/> ("VM 'win11'", or the devices of a manual bind), for messages.</summary>
    /// <param name="driverModels">Per function, the VFIO variant driver its hostdev names (&lt;driver model&gt;); others go to vfio-pci.</param>
    public static BindingPlan Build(IReadOnlyList<PciAddress> devices, HostInventory inventory, string owner, IReadOnlyDictionary<PciAddress, string>? driverModels = null)
    {
        var functions = Resolve(devices, inventory, owner);
        CheckGroups(devices, inventory, owner);

        var bindings = functions.Select(f =>
        {
            var original = new FunctionState(f.Address, f.Driver, f.DriverOverride);
            var target = driverModels?.GetValueOrDefault(f.Address) ?? VfioDriver;
            // vfio-pci asked: any VFIO driver (a variant too) already holds it for a guest. A variant asked: exactly that one.
            if (target == VfioDriver ? f.IsVfioBound : f.Driver == target)
            {
                return new FunctionBinding(original, []) { Target = target };
            }

            // Unbinding a PF's driver removes its VFs (drivers/pci/iov.c): refuse before anything changes.
            if (f.SriovNumVfs is > 0 && f.Driver is not null)
            {
                var vfs = inventory.Functions.Where(v => v.PhysicalFunction == f.Address).ToList();
                throw SriovRules.PhysicalFunctionWithVirtualFunctions(f, vfs.Count > 0 ? vfs : [f]);
            }

            return new FunctionBinding(original, StepsFor(f.Address, f.Driver, target)) { Target = target };
        }).ToList();

        var preparation = bindings.Where(b => !b.AlreadyBound).Select(b => b.Target).Distinct()
            .Select(t => BindingStep.LoadDriver(t, t == VfioDriver ? VfioMissing : $"Check that the {t} module is installed for this kernel (`modinfo {t}`), or remove <driver model='{t}'/> from the hostdev."))
            .ToArray();
        return new BindingPlan(preparation, bindings);
    }

    /// <summary>
    /// The steps for one function on <paramref name="driver"/> now (Documentation/ABI/testing/sysfs-bus-pci,
    /// driver_override): set the override, unbind, then drivers_probe binds the override and nothing else.
    /// </summary>
    public static IReadOnlyList<BindingStep> StepsFor(PciAddress address, string? driver, string target = VfioDriver)
    {
        if (driver == target)
        {
            return [];
        }

        var steps = new List<BindingStep> { BindingStep.WriteOverride(address, target) };
        if (driver is not null)
        {
            steps.Add(BindingStep.Unbind(address, driver));
        }

        steps.Add(BindingStep.DriversProbe(address));
        steps.Add(BindingStep.Verify(address, target));
        return steps;
    }

    /// <summary>
    /// Every step of the bind in order: the preparation, then per function its steps, the first one
    /// recording the function's original driver in the journal. <paramref name="driverAfter"/> says
    /// which driver a function will be on when its turn comes (the single-GPU swap unloads modules
    /// first); by default the one it is on now.
    /// </summary>
    public IReadOnlyList<HostStep> Steps(Func<FunctionState, string?>? driverAfter = null)
    {
        var steps = new List<HostStep>(Preparation);
        foreach (var function in Functions.Where(f => !f.AlreadyBound))
        {
            var original = function.Original;
            var own = StepsFor(function.Address, driverAfter is null ? original.Driver : driverAfter(original), function.Target);
            var record = new JournalEntry(JournalKind.Function, function.Address.ToString(), original.Driver, original.Override);
            steps.AddRange(own.Select((s, i) => i == 0 ? s.WithRecords(record) : s));
        }

        return steps;
    }

    /// <summary>Static mode: the functions must already be on vfio-pci (bound at boot); nothing is changed.</summary>
    public static void VerifyStatic(IReadOnlyList<PciAddress> devices, HostInventory inventory, string owner)
    {
        var functions = Resolve(devices, inventory, owner);
        var wrong = functions.Where(f => !f.IsVfioBound).ToList();
        if (wrong.Count > 0)
        {
            var list = string.Join(", ", wrong.Select(f => $"{f.Address} is on {f.Driver ?? "no driver"}"));
            throw PassthroughException.Failure(
                $"{owner} uses mode=\"static\" but {list}, not vfio-pci.",
                "Bind it at boot (`passthrough setup`, vfio-pci.ids= on the kernel command line) or set mode=\"dynamic\" in the VM's <passthrough:config>.");
        }

        CheckGroups(devices, inventory, owner);
    }

    private static List<PciFunction> Resolve(IReadOnlyList<PciAddress> devices, HostInventory inventory, string owner)
    {
        if (devices.Count == 0)
        {
            throw PassthroughException.Input(
                $"{owner} has no PCI host device to bind.",
                "Add the GPU's functions as <hostdev mode='subsystem' type='pci' managed='no'> (`passthrough xml`), or list them with <passthrough:device address=.../>.");
        }

        var missing = devices.Where(d => inventory.Find(d) is null).ToList();
        if (missing.Count > 0)
        {
            throw PassthroughException.Input(
                $"{owner} asks for {string.Join(", ", missing)}, which this host does not have.",
                "Check the addresses with `passthrough list --all`; a card moved to another slot gets a new address.");
        }

        return [.. devices.Distinct().Order().Select(d => inventory.Find(d)!)];
    }

    private static void CheckGroups(IReadOnlyList<PciAddress> devices, HostInventory inventory, string owner)
    {
        var noGroup = devices.Where(d => inventory.GroupOf(d) is null).ToList();
        if (noGroup.Count > 0)
        {
            throw PassthroughException.Host(
                $"{string.Join(", ", noGroup)} has no IOMMU group: the IOMMU is off, so vfio cannot take it.",
                "Turn on VT-d/AMD-Vi in the firmware and intel_iommu=on or amd_iommu=on on the kernel command line; `passthrough doctor` says more.");
        }

        var assigned = devices.ToHashSet();
        var blocked = devices
            .Select(d => inventory.GroupOf(d)!)
            .DistinctBy(g => g.Id)
            .Select(inventory.Viability(assigned))
            .Where(v => !v.Viable)
            .ToList();
        if (blocked.Count > 0)
        {
            var inTheWay = blocked.SelectMany(b => b.InTheWay).Select(f => f.Address).Distinct().Order();
            throw PassthroughException.Failure(
                $"Cannot give {owner} its devices: {string.Join("; ", blocked.Select(b => b.Reason))}.",
                $"Add {string.Join(", ", inTheWay)} to the VM too (<passthrough:device address=.../>), or move the card to a slot with its own IOMMU group.");
        }
    }
}

internal static class InventoryViabilityExtensions
{
    public static Func<IommuGroup, GroupViability> Viability(this HostInventory inventory, IReadOnlyCollection<PciAddress> assigned) =>
        group => inventory.Viability(group, assigned);
}
