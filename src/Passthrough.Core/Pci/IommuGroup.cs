namespace Passthrough.Pci;

/// <summary>
/// An IOMMU group: the smallest set of functions the IOMMU can isolate
/// (/sys/kernel/iommu_groups/N). Type is the group's default domain (`type`: DMA, DMA-FQ,
/// identity, unmanaged, blocked), null when the kernel has no such file (before 5.11).
/// </summary>
public sealed record IommuGroup(int Id, string? Type, IReadOnlyList<PciAddress> Members)
{
    /// <summary>Identity (passthrough) domain: the device does DMA to host physical addresses.</summary>
    public bool IsIdentity => string.Equals(Type, "identity", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Whether a group can be handed to guests, and why (vfio's rule: every endpoint in it
/// must be assigned or held by vfio-pci/pci-stub or unbound; bridges do not count).</summary>
public sealed record GroupViability(bool Viable, string Reason, IReadOnlyList<PciFunction> InTheWay);

/// <summary>The group rules, pure over the inventory.</summary>
public static class GroupRules
{
    /// <summary>Drivers vfio accepts for group members that are not themselves assigned
    /// (drivers/vfio/group.c; vfio_pci's driver_override and pci-stub).</summary>
    private static readonly HashSet<string> HarmlessDrivers = new(StringComparer.Ordinal) { "vfio-pci", "pci-stub", "pcieport" };

    /// <summary>
    /// Viability for passing the given functions (assigned) to one VM: every other endpoint in
    /// the group must be unbound or on vfio-pci/pci-stub.
    /// </summary>
    public static GroupViability Evaluate(IommuGroup group, IReadOnlyCollection<PciAddress> assigned, IReadOnlyDictionary<PciAddress, PciFunction> functions)
    {
        var inTheWay = new List<PciFunction>();
        foreach (var member in group.Members)
        {
            if (assigned.Contains(member) || !functions.TryGetValue(member, out var f) || f.IsBridge)
            {
                continue;
            }

            // A VFIO variant driver (xe_vfio_pci, ...) is a vfio driver too: the member is held for a guest.
            if (f.Driver is not null && !HarmlessDrivers.Contains(f.Driver) && !f.IsVfioBound)
            {
                inTheWay.Add(f);
            }
        }

        if (inTheWay.Count == 0)
        {
            return new GroupViability(true, "every other endpoint in the group is unbound or on vfio-pci", []);
        }

        var names = string.Join(", ", inTheWay.Select(Describe));
        return new GroupViability(false, $"group {group.Id} also holds {names}", inTheWay);
    }

    /// <summary>
    /// Viability of a group on its own, for listing: the endpoints of one card (one slot) can go to
    /// a VM together; endpoints of other slots that are driven by host drivers are in the way.
    /// </summary>
    public static GroupViability EvaluateStandalone(IommuGroup group, IReadOnlyDictionary<PciAddress, PciFunction> functions)
    {
        var endpoints = group.Members
            .Select(m => functions.GetValueOrDefault(m))
            .OfType<PciFunction>()
            .Where(f => !f.IsBridge)
            .ToList();
        if (endpoints.Count == 0)
        {
            return new GroupViability(false, "only bridges: nothing to assign", []);
        }

        // The card users would pass: a display function's slot first, else the first endpoint's. An SR-IOV virtual
        // function is passed on its own, so it is the card by itself and never part of its PF's slot.
        var first = endpoints.FirstOrDefault(f => f.IsDisplay) ?? endpoints[0];
        var principal = first.Address.Slot;
        var assigned = endpoints.Where(f => first.IsVirtualFunction ? f.Address == first.Address : f.Address.Slot == principal && !f.IsVirtualFunction).Select(f => f.Address).ToHashSet();
        var result = Evaluate(group, assigned, functions);
        if (!result.Viable)
        {
            return result with { Reason = $"{result.Reason}, which is not part of {principal}: assign them together or move the card to another slot" };
        }

        var others = endpoints.Count - assigned.Count;
        return others == 0
            ? new GroupViability(true, $"only the functions of {principal}", [])
            : new GroupViability(true, $"the functions of {principal} plus {others} endpoint(s) already unbound or on vfio-pci", []);
    }

    public static string Describe(PciFunction f) =>
        $"{f.Address} ({f.Class?.Description ?? "device"}, {(f.Driver is null ? "no driver" : "driver " + f.Driver)})";
}
