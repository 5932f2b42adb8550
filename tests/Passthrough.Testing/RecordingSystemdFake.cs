using Passthrough.Adapters.Systemd;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Testing;

/// <summary>
/// A systemd manager that keeps unit states in memory and records every call into a shared event
/// list, so tests can check the order of stops, starts and kernel writes. The real client is
/// tested against a private dbus-daemon elsewhere.
/// </summary>
public sealed class RecordingSystemdFake : ISystemdManager
{
    private readonly List<string> _events;

    public RecordingSystemdFake(List<string> events)
    {
        _events = events;
    }

    /// <summary>Unit name to ActiveState.</summary>
    public Dictionary<string, string> Units { get; } = new(StringComparer.Ordinal);

    /// <summary>Alias to unit Id (display-manager.service to gdm.service).</summary>
    public Dictionary<string, string> Aliases { get; } = new(StringComparer.Ordinal);

    /// <summary>Units whose stop job ends with this result instead of "done".</summary>
    public Dictionary<string, string> StopResults { get; } = new(StringComparer.Ordinal);

    /// <summary>Runs when a unit stops (a display manager closing its device nodes).</summary>
    public Dictionary<string, Action> OnStop { get; } = new(StringComparer.Ordinal);

    public int Opened { get; set; }

    public bool Disposed { get; private set; }

    public Task<string?> ResolveUnitAsync(string unit, CancellationToken cancellationToken = default)
    {
        var id = Aliases.GetValueOrDefault(unit, unit);
        return Task.FromResult(Units.ContainsKey(id) ? id : null);
    }

    public Task<string> GetActiveStateAsync(string unit, CancellationToken cancellationToken = default) =>
        Units.TryGetValue(unit, out var state)
            ? Task.FromResult(state)
            : throw PassthroughException.Failure($"Unit {unit} not loaded. (org.freedesktop.systemd1.NoSuchUnit)");

    public Task<string> StopUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        _events.Add($"systemd stop {unit}");
        var result = StopResults.GetValueOrDefault(unit, "done");
        if (result == "done")
        {
            Units[unit] = "inactive";
            if (OnStop.TryGetValue(unit, out var action))
            {
                action();
            }
        }

        return Task.FromResult(result);
    }

    public Task<string> StartUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        _events.Add($"systemd start {unit}");
        Units[unit] = "active";
        return Task.FromResult("done");
    }

    public Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        _events.Add("systemd reload");
        return Task.CompletedTask;
    }

    public Task EnableUnitFilesAsync(IReadOnlyList<string> unitFiles, CancellationToken cancellationToken = default)
    {
        _events.Add($"systemd enable {string.Join(' ', unitFiles)}");
        return Task.CompletedTask;
    }

    /// <summary>AllowedCPUs by unit (absent: no restriction).</summary>
    public Dictionary<string, CpuSet> AllowedCpus { get; } = new(StringComparer.Ordinal);

    public Task<CpuSet> GetAllowedCpusAsync(string unit, CancellationToken cancellationToken = default) =>
        Task.FromResult(AllowedCpus.GetValueOrDefault(unit, CpuSet.Empty));

    public Task SetAllowedCpusAsync(string unit, CpuSet cpus, CancellationToken cancellationToken = default)
    {
        _events.Add($"systemd set {unit} AllowedCPUs={cpus}");
        AllowedCpus[unit] = cpus;
        return Task.CompletedTask;
    }

    public void Dispose() => Disposed = true;
}
