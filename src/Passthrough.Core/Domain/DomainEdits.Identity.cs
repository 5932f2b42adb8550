using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>Device identity in our metadata: recorded when hostdevs are written, used when bus numbers moved.</summary>
public static partial class DomainEdits
{
    /// <summary>
    /// Records the identity of every hostdev of <paramref name="slot"/> the host has, in our config;
    /// without our config nothing (adding it would hand the devices to our hook).
    /// </summary>
    public static void RecordIdentities(DomainDocument domain, HostInventory host, PciSlot slot)
    {
        if (domain.PassthroughConfig is not { } config)
        {
            return;
        }

        foreach (var hostdev in domain.PciHostdevs.Where(h => h.Source.Slot == slot))
        {
            if (host.Find(hostdev.Source) is { } function && DeviceIdentity.Of(function) is { } identity)
            {
                config.SetIdentity(hostdev.Source, identity);
            }
        }
    }

    /// <summary>
    /// Records the identity of every hostdev that has none yet (our config just added by `set --passthrough-mode`
    /// to a domain that already passes devices); recorded ones stay, since their address may have moved.
    /// </summary>
    public static void RecordMissingIdentities(DomainDocument domain, HostInventory host)
    {
        if (domain.PassthroughConfig is not { } config)
        {
            return;
        }

        var recorded = config.Identities.Select(i => i.Address).ToHashSet();
        foreach (var hostdev in domain.PciHostdevs.Where(h => !recorded.Contains(h.Source)))
        {
            if (host.Find(hostdev.Source) is { } function && DeviceIdentity.Of(function) is { } identity)
            {
                config.SetIdentity(hostdev.Source, identity);
            }
        }
    }

    /// <summary>Forgets the identities recorded for functions of <paramref name="slot"/> that no hostdev passes any more.</summary>
    public static void ForgetIdentities(DomainDocument domain, PciSlot slot)
    {
        if (domain.PassthroughConfig is not { } config)
        {
            return;
        }

        var passed = domain.PciHostdevs.Select(h => h.Source).ToHashSet();
        foreach (var (address, _) in config.Identities.Where(i => i.Address.Slot == slot && !passed.Contains(i.Address)))
        {
            config.RemoveIdentity(address);
        }
    }

    /// <summary>Where each function with a recorded identity is on <paramref name="host"/> now.</summary>
    public static IReadOnlyList<DeviceLocation> LocateRecorded(DomainDocument domain, HostInventory host) =>
        domain.PassthroughConfig is { } config
            ? [.. config.Identities.Select(i => DeviceLocator.Locate(i.Address, i.Identity, host))]
            : [];

    /// <summary>
    /// `xml fix-addresses`: points every hostdev whose function moved at its new address (and its
    /// recorded identity with it). Refuses, changing nothing, when a function is ambiguous or gone.
    /// </summary>
    public static IReadOnlyList<DeviceLocation> FixAddresses(DomainDocument domain, HostInventory host)
    {
        var locations = LocateRecorded(domain, host);
        if (locations.FirstOrDefault(l => l.Whereabouts is DeviceWhereabouts.Ambiguous or DeviceWhereabouts.Gone) is { } lost)
        {
            throw PassthroughException.Input(
                $"{domain.Source}: {lost.Describe()}; nothing was changed.",
                lost.Whereabouts == DeviceWhereabouts.Ambiguous
                    ? $"Pass the right card by hand: `passthrough xml remove-gpu --slot {lost.Recorded.Slot}`, then `passthrough xml add-gpu --slot SLOT` with one of {string.Join(", ", lost.Candidates.Select(c => c.Slot).Distinct())}."
                    : $"Put the card back, or take it out of the VM: `passthrough xml remove-gpu --slot {lost.Recorded.Slot}`.");
        }

        var moves = locations.Where(l => l.Whereabouts == DeviceWhereabouts.Moved).ToDictionary(l => l.Recorded, l => l.Found!.Value);
        var hostdevs = domain.PciHostdevs.Where(h => moves.ContainsKey(h.Source)).ToList();
        foreach (var hostdev in hostdevs)
        {
            hostdev.Source = moves[hostdev.Source];
        }

        domain.PassthroughConfig?.MoveIdentities(moves);
        return locations;
    }
}
