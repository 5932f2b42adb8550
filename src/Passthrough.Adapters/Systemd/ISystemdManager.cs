using Passthrough.Host;

namespace Passthrough.Adapters.Systemd;

/// <summary>
/// The slice of org.freedesktop.systemd1.Manager that Passthrough uses (systemd's
/// org.freedesktop.systemd1(5)). Implemented over D-Bus (Tmds.DBus.Protocol); the bus address is a
/// constructor parameter so tests point it at a private dbus-daemon. D-Bus errors surface as
/// PassthroughException carrying the D-Bus error name.
/// </summary>
public interface ISystemdManager : IDisposable
{
    /// <summary>The unit's primary name (Id) following aliases: "display-manager.service" -> "gdm.service".
    /// Null when the unit is not loaded (org.freedesktop.systemd1.NoSuchUnit).</summary>
    Task<string?> ResolveUnitAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>ActiveState of a loaded unit: active, inactive, failed, activating, deactivating, reloading.</summary>
    Task<string> GetActiveStateAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Each unit's primary name (aliases followed) and ActiveState, in the order asked; null for a unit systemd does
    /// not have. The D-Bus client asks all of them in one call (Manager.ListUnitsByNames): under a slow machine every
    /// round trip through the bus daemon counts, and the single-GPU swap asks before it stops the display manager.
    /// </summary>
    Task<IReadOnlyList<UnitState?>> GetUnitStatesAsync(IReadOnlyList<string> units, CancellationToken cancellationToken = default) =>
        UnitStates.OneByOneAsync(this, units, cancellationToken);

    /// <summary>Gets ready to wait for jobs (the JobRemoved match and Subscribe) before the first Start/StopUnit needs it.</summary>
    Task WatchJobsAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>StopUnit(unit, "replace") and wait for its JobRemoved signal; returns the job result ("done", "failed", ...).</summary>
    Task<string> StopUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>StartUnit(unit, "replace") and wait for its JobRemoved signal; returns the job result.</summary>
    Task<string> StartUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Manager.Reload (daemon-reload).</summary>
    Task ReloadAsync(CancellationToken cancellationToken = default);

    /// <summary>Manager.EnableUnitFiles(files, runtime=false, force=true).</summary>
    Task EnableUnitFilesAsync(IReadOnlyList<string> unitFiles, CancellationToken cancellationToken = default);

    /// <summary>AllowedCPUs of a slice, scope or service (empty: no restriction).</summary>
    Task<CpuSet> GetAllowedCpusAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>Manager.SetUnitProperties(unit, runtime=true, [AllowedCPUs]): until reboot, in /run; empty lifts the restriction.</summary>
    Task SetAllowedCpusAsync(string unit, CpuSet cpus, CancellationToken cancellationToken = default);
}

/// <summary>A unit as systemd names it (its Id, not the alias asked for) and its ActiveState.</summary>
public sealed record UnitState(string Id, string ActiveState);

/// <summary>Unit states asked one unit at a time: ResolveUnit, then ActiveState.</summary>
public static class UnitStates
{
    public static async Task<IReadOnlyList<UnitState?>> OneByOneAsync(ISystemdManager systemd, IReadOnlyList<string> units, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(systemd);
        ArgumentNullException.ThrowIfNull(units);
        var states = new List<UnitState?>(units.Count);
        foreach (var unit in units)
        {
            var id = await systemd.ResolveUnitAsync(unit, cancellationToken).ConfigureAwait(false);
            states.Add(id is null ? null : new UnitState(id, await systemd.GetActiveStateAsync(id, cancellationToken).ConfigureAwait(false)));
        }

        return states;
    }
}
