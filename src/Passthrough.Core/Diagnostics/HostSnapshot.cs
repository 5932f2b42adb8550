using System.Globalization;
using Passthrough.Host;

namespace Passthrough.Diagnostics;

/// <summary>One PCI function in a snapshot: identity (ids, subsystem ids, class) and binding.</summary>
public sealed record SnapshotDevice(string Address, string Ids, string? Subsystem, string? Class, string? Name, string? Driver, int? Group);

/// <summary>One IOMMU group in a snapshot.</summary>
public sealed record SnapshotGroup(int Id, string? Type, IReadOnlyList<string> Members);

/// <summary>A ROM file and its SHA-256.</summary>
public sealed record SnapshotRom(string Path, string Sha256);

/// <summary>
/// A host's passthrough-relevant state as a reviewable artifact (seed 001's "one text file per
/// host": firmware versions, command line, IOMMU groups, bindings), to compare after updates.
/// </summary>
public sealed record HostSnapshot
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public string? Taken { get; init; }

    public string? BiosVendor { get; init; }

    public string? BiosVersion { get; init; }

    public string? BiosDate { get; init; }

    public string? Board { get; init; }

    public string? Kernel { get; init; }

    public string? CommandLine { get; init; }

    public IReadOnlyList<SnapshotGroup> Groups { get; init; } = [];

    public IReadOnlyList<SnapshotDevice> Devices { get; init; } = [];

    public IReadOnlyList<string> Modules { get; init; } = [];

    public IReadOnlyList<SnapshotRom> Roms { get; init; } = [];

    public static HostSnapshot From(HostInventory host, IReadOnlyList<SnapshotRom> roms, DateTimeOffset? taken = null)
    {
        var f = host.Facts;
        return new HostSnapshot
        {
            Taken = taken?.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            BiosVendor = f.BiosVendor,
            BiosVersion = f.BiosVersion,
            BiosDate = f.BiosDate,
            Board = f.BoardVendor is null && f.BoardName is null ? null : $"{f.BoardVendor} {f.BoardName}".Trim(),
            Kernel = f.KernelRelease,
            CommandLine = f.KernelCommandLine,
            Groups = [.. host.Groups.Select(g => new SnapshotGroup(g.Id, g.Type, [.. g.Members.Select(m => m.ToString())]))],
            Devices = [.. host.Functions.Select(d => new SnapshotDevice(
                d.Address.ToString(),
                d.IdsText,
                d.SubsystemVendorId is int sv && d.SubsystemDeviceId is int sd ? string.Create(CultureInfo.InvariantCulture, $"{sv:x4}:{sd:x4}") : null,
                d.Class?.Hex,
                d.DeviceName,
                d.Driver,
                d.IommuGroup))],
            Modules = [.. (f.LoadedModules ?? new HashSet<string>()).Order(StringComparer.Ordinal)],
            Roms = [.. roms.OrderBy(r => r.Path, StringComparer.Ordinal)],
        };
    }
}

/// <summary>What changed between two snapshots, in words.</summary>
public static class SnapshotDiff
{
    public static IReadOnlyList<string> Compare(HostSnapshot old, HostSnapshot now)
    {
        var changes = new List<string>();
        if (old.BiosVersion != now.BiosVersion || old.BiosDate != now.BiosDate)
        {
            changes.Add($"BIOS updated: {old.BiosVersion ?? "?"} ({old.BiosDate ?? "?"}) → {now.BiosVersion ?? "?"} ({now.BiosDate ?? "?"}). Firmware updates reshuffle groups and reset VT-d/IOMMU settings: re-run `passthrough doctor`.");
        }

        if (old.Board != now.Board)
        {
            changes.Add($"Board changed: {old.Board ?? "?"} → {now.Board ?? "?"}.");
        }

        if (old.Kernel != now.Kernel)
        {
            changes.Add($"Kernel changed: {old.Kernel ?? "?"} → {now.Kernel ?? "?"}.");
        }

        if (old.CommandLine != now.CommandLine)
        {
            var before = Words(old.CommandLine);
            var after = Words(now.CommandLine);
            var added = after.Except(before).ToList();
            var removed = before.Except(after).ToList();
            var parts = new List<string>();
            if (added.Count > 0)
            {
                parts.Add("added " + string.Join(' ', added));
            }

            if (removed.Count > 0)
            {
                parts.Add("removed " + string.Join(' ', removed));
            }

            changes.Add($"Kernel command line changed: {(parts.Count > 0 ? string.Join("; ", parts) : "reordered")}.");
        }

        // Devices: matched by identity (ids + subsystem + class) so a card in another slot reads as "moved".
        static string Key(SnapshotDevice d) => $"{d.Ids}|{d.Subsystem}|{d.Class}";
        var oldByAddress = old.Devices.ToDictionary(d => d.Address, StringComparer.Ordinal);
        var newByAddress = now.Devices.ToDictionary(d => d.Address, StringComparer.Ordinal);
        var goneOld = old.Devices.Where(d => !newByAddress.TryGetValue(d.Address, out var n) || Key(n) != Key(d)).ToList();
        var cameNew = now.Devices.Where(d => !oldByAddress.TryGetValue(d.Address, out var o) || Key(o) != Key(d)).ToList();
        foreach (var gone in goneOld.ToList())
        {
            var moved = cameNew.FirstOrDefault(n => Key(n) == Key(gone));
            if (moved is not null)
            {
                changes.Add($"Device moved address: {Label(gone)} {gone.Address} → {moved.Address}. VM definitions that name {gone.Address} point at the wrong device now.");
                cameNew.Remove(moved);
                goneOld.Remove(gone);
            }
        }

        changes.AddRange(goneOld.Select(d => $"Device gone: {d.Address} {Label(d)}."));
        changes.AddRange(cameNew.Select(d => $"New device: {d.Address} {Label(d)}."));

        foreach (var d in now.Devices)
        {
            if (oldByAddress.TryGetValue(d.Address, out var o) && Key(o) == Key(d) && o.Driver != d.Driver)
            {
                changes.Add($"Driver changed on {d.Address} {Label(d)}: {o.Driver ?? "none"} → {d.Driver ?? "none"}.");
            }
        }

        // Groups: compare membership, not numbers (numbers alone may shift without harm).
        var oldSets = old.Groups.ToDictionary(g => string.Join(' ', g.Members), g => g, StringComparer.Ordinal);
        var newSets = now.Groups.ToDictionary(g => string.Join(' ', g.Members), g => g, StringComparer.Ordinal);
        var reshuffled = now.Groups.Where(g => !oldSets.ContainsKey(string.Join(' ', g.Members))).ToList();
        if (reshuffled.Count > 0 || old.Groups.Any(g => !newSets.ContainsKey(string.Join(' ', g.Members))))
        {
            foreach (var g in reshuffled)
            {
                var before = g.Members.Select(m => old.Devices.FirstOrDefault(d => d.Address == m)?.Group).OfType<int>().Distinct().ToList();
                changes.Add($"IOMMU groups reshuffled: group {g.Id} now holds {string.Join(", ", g.Members)}{(before.Count > 0 ? $" (before: group{(before.Count > 1 ? "s" : string.Empty)} {string.Join(", ", before)})" : string.Empty)}.");
            }

            if (reshuffled.Count == 0)
            {
                changes.Add("IOMMU groups reshuffled: some groups were merged or removed.");
            }
        }
        else
        {
            foreach (var g in now.Groups)
            {
                var o = oldSets[string.Join(' ', g.Members)];
                if (o.Id != g.Id)
                {
                    changes.Add($"IOMMU group renumbered: {string.Join(", ", g.Members)} was group {o.Id}, now {g.Id}.");
                }

                if (o.Type != g.Type)
                {
                    changes.Add($"IOMMU group {g.Id} type changed: {o.Type ?? "?"} → {g.Type ?? "?"}.");
                }
            }
        }

        var addedModules = now.Modules.Except(old.Modules).ToList();
        var removedModules = old.Modules.Except(now.Modules).ToList();
        if (addedModules.Count > 0)
        {
            changes.Add("Modules now loaded: " + string.Join(", ", addedModules) + ".");
        }

        if (removedModules.Count > 0)
        {
            changes.Add("Modules no longer loaded: " + string.Join(", ", removedModules) + ".");
        }

        var oldRoms = old.Roms.ToDictionary(r => r.Path, r => r.Sha256, StringComparer.Ordinal);
        foreach (var rom in now.Roms)
        {
            if (!oldRoms.TryGetValue(rom.Path, out var hash))
            {
                changes.Add($"New ROM: {rom.Path}.");
            }
            else if (hash != rom.Sha256)
            {
                changes.Add($"ROM changed: {rom.Path} (sha256 {hash[..Math.Min(12, hash.Length)]}… → {rom.Sha256[..Math.Min(12, rom.Sha256.Length)]}…).");
            }
        }

        changes.AddRange(old.Roms.Where(r => now.Roms.All(n => n.Path != r.Path)).Select(r => $"ROM gone: {r.Path}."));
        return changes;
    }

    private static List<string> Words(string? text) => [.. (text ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries)];

    private static string Label(SnapshotDevice d) => d.Name is null ? $"[{d.Ids}]" : $"{d.Name} [{d.Ids}]";
}
