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
