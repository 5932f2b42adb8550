using Passthrough.Pci;

namespace Passthrough.Host;

/// <summary>Everything read from one host (or fixture tree): the PCI functions, IOMMU groups and facts.</summary>
public sealed class HostInventory
{
    private readonly Dictionary<PciAddress, PciFunction> _byAddress;

    public HostInventory(IEnumerable<PciFunction> functions, IEnumerable<IommuGroup> groups, HostFacts facts)
    {
        Functions = [.. functions.OrderBy(f => f.Address)];
        Groups = [.. groups.OrderBy(g => g.Id)];
        Facts = facts;
        _byAddress = Functions.ToDictionary(f => f.Address);
    }

    public IReadOnlyList<PciFunction> Functions { get; }

    public IReadOnlyList<IommuGroup> Groups { get; }

    public HostFacts Facts { get; }

    public IReadOnlyDictionary<PciAddress, PciFunction> ByAddress => _byAddress;

    public bool HasIommuGroups => Groups.Count > 0;

    public PciFunction? Find(PciAddress address) => _byAddress.GetValueOrDefault(address);

    public IommuGroup? GroupOf(PciAddress address) =>
        Find(address)?.IommuGroup is int id ? Groups.FirstOrDefault(g => g.Id == id) : null;

    public IReadOnlyList<PciFunction> FunctionsOf(PciSlot slot) =>
        [.. Functions.Where(f => f.Address.Slot == slot)];

    /// <summary>Every slot that has a display-class function, with all of that slot's functions.</summary>
    public IReadOnlyList<Gpu> Gpus =>
        [.. Functions
            .Where(f => f.IsDisplay)
            .Select(f => f.Address.Slot)
            .Distinct()
            .Select(slot => new Gpu(slot, FunctionsOf(slot)))];

    /// <summary>The GPU in a slot; throws the library's input error naming the slot when there is none.</summary>
    public Gpu Gpu(PciSlot slot)
    {
        var functions = FunctionsOf(slot);
        if (functions.Count == 0)
        {
            throw Errors.PassthroughException.Input(
                $"No PCI device at {slot}.",
                "Run `passthrough list` to see the GPUs and their slots.");
        }

        return new Gpu(slot, functions);
    }

    public GroupViability Viability(IommuGroup group) => GroupRules.EvaluateStandalone(group, _byAddress);

    public GroupViability Viability(IommuGroup group, IReadOnlyCollection<PciAddress> assigned) =>
        GroupRules.Evaluate(group, assigned, _byAddress);
}
