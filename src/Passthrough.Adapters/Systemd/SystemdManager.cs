using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Passthrough.Errors;

namespace Passthrough.Systemd;

/// <summary>
/// <see cref="ISystemdManager"/> over libsystemd's sd-bus, following org.freedesktop.systemd1(5):
/// units are resolved with GetUnit (LoadUnit when not loaded), properties are read through
/// org.freedesktop.DBus.Properties.Get, and Start/StopUnit jobs are awaited through the Manager's
/// JobRemoved(u id, o job, s unit, s result) signal, matched before the call so none is missed.
/// </summary>
public sealed unsafe class SystemdManager : ISystemdManager
{
    private const string Service = "org.freedesktop.systemd1";
    private const string ManagerPath = "/org/freedesktop/systemd1";
    private const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    private const string UnitInterface = "org.freedesktop.systemd1.Unit";
    private const string PropertiesInterface = "org.freedesktop.DBus.Properties";

    // Without a sender clause: sd-bus would compare a well-known name with the unique sender locally.
    private const string JobRemovedRule =
        "type='signal',path='/org/freedesktop/systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'";

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(25);
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private readonly BusConnection _bus;
    private readonly Dictionary<string, string> _finishedJobs = new(StringComparer.Ordinal);
    private GCHandle _self;
    private SdBusSlotHandle? _jobRemovedMatch;
    private bool _disposed;

    /// <summary>Connects to the bus at <paramref name="address"/> (e.g. unix:path=/run/dbus/system_bus_socket).</summary>
    public SystemdManager(string address)
        : this(BusConnection.Open(address))
    {
    }

    private SystemdManager(BusConnection bus)
    {
        _bus = bus;
    }

    /// <summary>systemd on the system bus (sd_bus_open_system).</summary>
    public static SystemdManager ConnectSystem() => new(BusConnection.OpenSystem());

    public Task<string?> ResolveUnitAsync(string unit, CancellationToken cancellationToken = default) =>
        RunAsync(() =>
        {
            var path = FindUnitPath(unit);
            return path is null ? null : GetStringProperty(path, "Id", unit);
        }, cancellationToken);

    public Task<string> GetActiveStateAsync(string unit, CancellationToken cancellationToken = default) =>
        RunAsync(() =>
        {
            var path = FindUnitPath(unit) ?? throw new DBusException(
                FailureKind.Failed,
                "org.freedesktop.systemd1.NoSuchUnit",
                $"systemd has no unit {unit}.",
                "Check the unit name with `systemctl list-units`.");
            return GetStringProperty(path, "ActiveState", unit);
        }, cancellationToken);

    public Task<string> StopUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunAsync(() => RunJob("StopUnit", "stopping", unit, timeout, cancellationToken), cancellationToken);

    public Task<string> StartUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunAsync(() => RunJob("StartUnit", "starting", unit, timeout, cancellationToken), cancellationToken);

    public Task ReloadAsync(CancellationToken cancellationToken = default) =>
        RunAsync(() =>
        {
            using var call = _bus.NewMethodCall(Service, ManagerPath, ManagerInterface, "Reload");
            using var reply = _bus.Call(call, "systemd Reload (daemon-reload)", CallTimeout);
            return true;
        }, cancellationToken);

    public Task EnableUnitFilesAsync(IReadOnlyList<string> unitFiles, CancellationToken cancellationToken = default) =>
        RunAsync(() =>
        {
            using var call = _bus.NewMethodCall(Service, ManagerPath, ManagerInterface, "EnableUnitFiles");
            call.AppendStringArray(unitFiles).AppendBoolean(false).AppendBoolean(true);
            using var reply = _bus.Call(call, $"systemd EnableUnitFiles({string.Join(", ", unitFiles)})", CallTimeout);
            return true;
        }, cancellationToken);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _jobRemovedMatch?.Dispose();
            _bus.Dispose();
            if (_self.IsAllocated)
            {
                _self.Free();
            }
        }
    }

    [UnmanagedCallersOnly]
    private static int OnJobRemoved(nint message, nint userdata, nint error)
    {
        try
        {
            if (GCHandle.FromIntPtr(userdata).Target is SystemdManager self)
            {
                using var signal = new BusMessage(SdBusMessageHandle.Borrow(message));
                signal.ReadUInt32();
                var job = signal.ReadObjectPath();
                signal.ReadString();
                self._finishedJobs[job] = signal.ReadString();
            }
        }
#pragma warning disable CA1031 // An exception must not cross into sd-bus; a malformed signal is ignored.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        return 0;
    }

    private Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken) =>
        Task.Run(
            () =>
            {
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    return work();
                }
            },
            cancellationToken);

    private string RunJob(string method, string verb, string unit, TimeSpan timeout, CancellationToken cancellationToken)
    {
        EnsureJobRemovedMatch();
        _finishedJobs.Clear();
        string job;
        using (var call = _bus.NewMethodCall(Service, ManagerPath, ManagerInterface, method))
        {
            call.AppendString(unit).AppendString("replace");
            using var reply = _bus.Call(call, $"systemd {method}({unit})", timeout < CallTimeout ? CallTimeout : timeout);
            job = reply.ReadObjectPath();
        }

        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_finishedJobs.Remove(job, out var result))
            {
                return result;
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (_bus.ProcessOne())
            {
                continue;
            }

            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw PassthroughException.Failure(
                    $"systemd did not finish {verb} {unit} within {timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s (job {job}).",
                    $"See `systemctl status {unit}` and `journalctl -u {unit}`; if it is only slow, raise the timeout in <passthrough:timeouts>.");
            }

            _bus.Wait(left < WaitSlice ? left : WaitSlice);
        }
    }

    private void EnsureJobRemovedMatch()
    {
        if (_jobRemovedMatch is not null)
        {
            return;
        }

        if (!_self.IsAllocated)
        {
            _self = GCHandle.Alloc(this);
        }

        // sd_bus_add_match waits for the bus daemon's AddMatch reply: installed before any job exists.
        _jobRemovedMatch = _bus.AddMatch(JobRemovedRule, &OnJobRemoved, GCHandle.ToIntPtr(_self));

        // Subscribe() asks systemd to broadcast job signals (org.freedesktop.systemd1(5)); without it
        // systemd still sends JobRemoved to the client that queued the job.
        using var call = _bus.NewMethodCall(Service, ManagerPath, ManagerInterface, "Subscribe");
        try
        {
            using var reply = _bus.Call(call, "systemd Subscribe", CallTimeout);
        }
        catch (DBusException e) when (e.ErrorName == "org.freedesktop.systemd1.AlreadySubscribed")
        {
            // Already subscribed on this connection: nothing to do.
        }
    }

    private string? FindUnitPath(string unit)
    {
        try
        {
            return CallForPath("GetUnit", unit);
        }
        catch (DBusException e) when (e.IsNoSuchUnit)
        {
            // Not loaded: LoadUnit reads it from disk; a unit file that does not exist loads as "not-found".
        }

        try
        {
            var path = CallForPath("LoadUnit", unit);
            return GetStringProperty(path, "LoadState", unit) == "not-found" ? null : path;
        }
        catch (DBusException e) when (e.IsNoSuchUnit)
        {
            return null;
        }
    }

    private string CallForPath(string method, string unit)
    {
        using var call = _bus.NewMethodCall(Service, ManagerPath, ManagerInterface, method);
        call.AppendString(unit);
        using var reply = _bus.Call(call, $"systemd {method}({unit})", CallTimeout);
        return reply.ReadObjectPath();
    }

    private string GetStringProperty(string unitPath, string property, string unit)
    {
        using var call = _bus.NewMethodCall(Service, unitPath, PropertiesInterface, "Get");
        call.AppendString(UnitInterface).AppendString(property);
        using var reply = _bus.Call(call, $"reading {property} of {unit}", CallTimeout);
        return reply.ReadStringVariant();
    }
}
