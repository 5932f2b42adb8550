using Passthrough.Pci;

namespace Passthrough.Host;

/// <summary>Everything read from one host (or fixture tree): the PCI functions, IOMMU groups and facts.</summary>
public sealed class HostInventory
{
    private readonly Dictionary<PciAddress, PciFunction> _byAddress;

    public HostInventory(IEnumerable<PciFunction> functions, IEnumerable<IommuGroup> groups, HostFacts facts)
    {
        // Plain sorts and loops rather than LINQ keyed on PciAddress: every `list` builds this, and
        // generic LINQ over a struct key is code the runtime must compile at each start.
        var sorted = new List<PciFunction>(functions);
        sorted.Sort(static (a, b) => a.Address.CompareTo(b.Address));
        var sortedGroups = new List<IommuGroup>(groups);
        sortedGroups.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        Functions = sorted;
        Groups = sortedGroups;
        Facts = facts;
        _byAddress = new Dictionary<PciAddress, PciFunction>(sorted.Count);
        foreach (var f in sorted)
        {
            if (!_byAddress.TryAdd(f.Address, f))
            {
                throw new ArgumentException($"PCI function {f.Address} appears twice.", nameof(functions));
            }
        }
    }

    public IReadOnlyList<PciFunction> Functions { get; }

    public IReadOnlyList<IommuGroup> Groups { get; }

    public HostFacts Facts { get; }

    public IReadOnlyDictionary<PciAddress, PciFunction> ByAddress => _byAddress;

    public bool HasIommuGroups => Groups.Count > 0;

    public PciFunction? Find(PciAddress address) => _byAddress.GetValueOrDefault(address);

    public IommuGroup? GroupOf(PciAddress address) =>
        Find(address)?.IommuGroup is int id ? Groups.FirstOrDefault(g => g.Id == id) : null;

    public IReadOnlyList<PciFunction> FunctionsOf(PciSlot slot)
    {
        var result = new List<PciFunction>();
        foreach (var f in Functions)
        {
            if (f.Address.Slot == slot)
            {
                result.Add(f);
            }
        }

        return result;
    }

    /// <summary>Every slot that has a display-class function, with all of that slot's functions; SR-IOV virtual
    /// functions are never functions of a GPU (they sit in <see cref="Pci.Gpu.VirtualFunctions"/> of their PF's GPU).</summary>
    public IReadOnlyList<Gpu> Gpus
    {
        get
        {
            // Functions are sorted, so one slot's functions are adjacent.
            var gpus = new List<Gpu>();
            foreach (var f in Functions)
            {
                if (f.IsDisplay && !f.IsVirtualFunction && (gpus.Count == 0 || gpus[^1].Slot != f.Address.Slot))
                {
                    gpus.Add(GpuOf(f.Address.Slot));
                }
            }

            return gpus;
        }
    }

    /// <summary>The GPU in a slot (its functions without SR-IOV virtual functions); throws the library's input error
    /// naming the slot when there is none, or when the slot holds only virtual functions.</summary>
    public Gpu Gpu(PciSlot slot)
    {
        var functions = FunctionsOf(slot);
        if (functions.Count == 0)
        {
            throw Errors.PassthroughException.Input(
                $"No PCI device at {slot}.",
                "Run `passthrough list` to see the GPUs and their slots.");
        }

        if (functions.All(f => f.IsVirtualFunction))
        {
            throw SriovRules.SlotOfVirtualFunctions(slot, functions);
        }

        return GpuOf(slot);
    }

    private Gpu GpuOf(PciSlot slot)
    {
        var own = FunctionsOf(slot).Where(f => !f.IsVirtualFunction).ToList();
        var vfs = Functions.Where(f => f.PhysicalFunction is { } pf && pf.Slot == slot).ToList();
        return new Gpu(slot, own) { VirtualFunctions = vfs };
    }

    public GroupViability Viability(IommuGroup group) => GroupRules.EvaluateStandalone(group, _byAddress);

    public GroupViability Viability(IommuGroup group, IReadOnlyCollection<PciAddress> assigned) =>
        GroupRules.Evaluate(group, assigned, _byAddress);
}
