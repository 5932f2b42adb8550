using Passthrough.Diagnostics;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>Lint (and doctor --vm/--xml) rules on the device identities add-gpu records.</summary>
public static partial class DomainLint
{
    private static void IdentityRules(DomainDocument domain, HostInventory host, List<Finding> findings)
    {
        foreach (var location in DomainEdits.LocateRecorded(domain, host).Where(l => l.Whereabouts != DeviceWhereabouts.InPlace))
        {
            var at = domain.PciHostdevs.FirstOrDefault(h => h.Source == location.Recorded)?.Line is int line ? $"{domain.Source}:{line}: " : $"{domain.Source}: ";
            findings.Add(location.Whereabouts switch
            {
                DeviceWhereabouts.Moved => new Finding(
                    "device-moved",
                    Severity.Error,
                    $"{at}{location.Describe()}.",
                    "Point the hostdevs at the new address: `passthrough xml fix-addresses FILE --in-place` (or `--vm NAME` for a defined VM)."),
                DeviceWhereabouts.Ambiguous => new Finding(
                    "device-ambiguous",
                    Severity.Error,
                    $"{at}{location.Describe()}.",
                    $"Pass the right card by hand: `passthrough xml remove-gpu --slot {location.Recorded.Slot}`, then `passthrough xml add-gpu --slot SLOT` with one of {string.Join(", ", location.Candidates.Select(c => c.Slot).Distinct())}."),
                _ => new Finding(
                    "device-gone",
                    Severity.Error,
                    $"{at}{location.Describe()}.",
                    $"Put the card back, or take it out of the VM: `passthrough xml remove-gpu --slot {location.Recorded.Slot}`."),
            });
        }
    }
}
