using Passthrough.Errors;
using Passthrough.Host;
using Tmds.DBus.Protocol;

namespace Passthrough.Adapters.Systemd;

/// <summary>
/// <see cref="ISystemdManager"/> over D-Bus (Tmds.DBus.Protocol), following org.freedesktop.systemd1(5):
/// units are resolved with GetUnit (LoadUnit when not loaded), properties are read through
/// org.freedesktop.DBus.Properties.Get, and Start/StopUnit jobs are awaited through the Manager's
/// JobRemoved(u id, o job, s unit, s result) signal, matched before the call so none is missed.
/// </summary>
public sealed class SystemdManager : ISystemdManager
{
    private const string Service = "org.freedesktop.systemd1";
    private const string ManagerPath = "/org/freedesktop/systemd1";
    private const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    private const string UnitInterface = "org.freedesktop.systemd1.Unit";
    private const string PropertiesInterface = "org.freedesktop.DBus.Properties";

    // The bus daemon's own default reply limit (dbus-daemon(1), reply_timeout) for plain calls.
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(25);

    private readonly BusConnection _bus;
    private readonly SemaphoreSlim _watchGate = new(1, 1);
    private readonly Lock _jobsGate = new();

    // JobRemoved results by job path, kept while one of our job calls runs: the signal may arrive
    // before the StartUnit/StopUnit reply that tells which job is ours.
    private readonly Dictionary<string, TaskCompletionSource<string>> _jobs = new(StringComparer.Ordinal);
    private int _jobsRunning;
    private IDisposable? _jobRemovedWatch;
    private volatile bool _disposed;

    /// <summary>Connects to the bus at <paramref name="address"/> (e.g. unix:path=/run/dbus/system_bus_socket).</summary>
    public SystemdManager(string address)
        : this(address, address)
    {
    }

    private SystemdManager(string address, string description)
    {
        // Connected here, so a missing bus fails before a caller has changed anything.
        _bus = Task.Run(() => BusConnection.OpenAsync(address, description)).GetAwaiter().GetResult();
    }

    /// <summary>systemd on the system bus ($DBUS_SYSTEM_BUS_ADDRESS, else the standard socket).</summary>
    public static SystemdManager ConnectSystem()
    {
        var address = DBusAddress.System ?? "unix:path=/run/dbus/system_bus_socket";
        return new SystemdManager(address, $"the system bus ({address})");
    }

    public async Task<string?> ResolveUnitAsync(string unit, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var path = await FindUnitPathAsync(unit, cancellationToken).ConfigureAwait(false);
        return path is null ? null : await GetStringPropertyAsync(path, "Id", unit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> GetActiveStateAsync(string unit, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var path = await RequireUnitPathAsync(unit, cancellationToken).ConfigureAwait(false);
        return await GetStringPropertyAsync(path, "ActiveState", unit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<UnitState?>> GetUnitStatesAsync(IReadOnlyList<string> units, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(units);
        ThrowIfDisposed();
        MessageBuffer call;
        using (var writer = _bus.Connection.GetMessageWriter())
        {
            writer.WriteMethodCallHeader(Service, ManagerPath, ManagerInterface, "ListUnitsByNames", "as");
            writer.WriteArray(units);
            call = writer.CreateMessage();
        }

        try
        {
            // One reply for all (systemd >= 230): loads each name like LoadUnit and reports the unit's own Id.
            return await _bus.CallAsync(call, ReadUnitStates, $"systemd ListUnitsByNames({string.Join(", ", units)})", CallTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (DBusException e) when (e.ErrorName == "org.freedesktop.DBus.Error.UnknownMethod")
        {
            // An older systemd: one unit at a time.
            return await UnitStates.OneByOneAsync(this, units, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task WatchJobsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return EnsureJobRemovedWatchAsync(cancellationToken);
    }

    /// <summary>The unit's object path; a unit systemd does not know is an error that says how to check the name.</summary>
    private async Task<string> RequireUnitPathAsync(string unit, CancellationToken cancellationToken) =>
        await FindUnitPathAsync(unit, cancellationToken).ConfigureAwait(false) ?? throw new DBusException(
            FailureKind.Failed,
            "org.freedesktop.systemd1.NoSuchUnit",
            $"systemd has no unit {unit}.",
            "Check the unit name with `systemctl list-units`.");

    public Task<string> StopUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunJobAsync("StopUnit", "stopping", unit, timeout, cancellationToken);

    public Task<string> StartUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunJobAsync("StartUnit", "starting", unit, timeout, cancellationToken);

    public Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _bus.CallAsync(ManagerCall("Reload"), "systemd Reload (daemon-reload)", CallTimeout, cancellationToken);
    }

    public Task EnableUnitFilesAsync(IReadOnlyList<string> unitFiles, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        MessageBuffer call;
        using (var writer = _bus.Connection.GetMessageWriter())
        {
            writer.WriteMethodCallHeader(Service, ManagerPath, ManagerInterface, "EnableUnitFiles", "asbb");
            writer.WriteArray(unitFiles);
            writer.WriteBool(false); // runtime: enable in /etc, not /run
            writer.WriteBool(true); // force: replace symlinks that point elsewhere
            call = writer.CreateMessage();
        }

        return _bus.CallAsync(call, $"systemd EnableUnitFiles({string.Join(", ", unitFiles)})", CallTimeout, cancellationToken);
    }

    public async Task<CpuSet> GetAllowedCpusAsync(string unit, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var path = await RequireUnitPathAsync(unit, cancellationToken).ConfigureAwait(false);
        MessageBuffer call;
        using (var writer = _bus.Connection.GetMessageWriter())
        {
            writer.WriteMethodCallHeader(Service, path, PropertiesInterface, "Get", "ss");
            writer.WriteString(CgroupInterfaceOf(unit));
            writer.WriteString("AllowedCPUs");
            call = writer.CreateMessage();
        }

        var mask = await _bus.CallAsync(call, ReadByteArrayVariant, $"reading AllowedCPUs of {unit}", CallTimeout, cancellationToken).ConfigureAwait(false);
        return CpuSet.FromMask(mask);
    }

    public Task SetAllowedCpusAsync(string unit, CpuSet cpus, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        MessageBuffer call;
        using (var writer = _bus.Connection.GetMessageWriter())
        {
            // SetUnitProperties(in s name, in b runtime, in a(sv) properties); AllowedCPUs is an "ay" bitmask.
            writer.WriteMethodCallHeader(Service, ManagerPath, ManagerInterface, "SetUnitProperties", "sba(sv)");
            writer.WriteString(unit);
            writer.WriteBool(true); // runtime: a drop-in under /run, gone at reboot like the VM
            var properties = writer.WriteArrayStart(DBusType.Struct);
            writer.WriteStructureStart();
            writer.WriteString("AllowedCPUs");
            writer.WriteSignature("ay");
            writer.WriteArray(cpus.ToMask());
            writer.WriteArrayEnd(properties);
            call = writer.CreateMessage();
        }

        return _bus.CallAsync(call, $"systemd SetUnitProperties({unit}, AllowedCPUs={cpus})", CallTimeout, cancellationToken);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _jobRemovedWatch?.Dispose();
        _bus.Dispose();
        lock (_jobsGate)
        {
            foreach (var job in _jobs.Values)
            {
                job.TrySetException(new ObjectDisposedException(nameof(SystemdManager)));
            }

            _jobs.Clear();
        }

        _watchGate.Dispose();
    }

    private static JobRemoved ReadJobRemoved(Message message, object? state)
    {
        if (message.SignatureAsString != "uoss")
        {
            return default; // not systemd's JobRemoved: ignored
        }

        var reader = message.GetBodyReader();
        reader.ReadUInt32();
        var job = reader.ReadObjectPathAsString();
        reader.ReadString();
        return new JobRemoved(job, reader.ReadString());
    }

    private static string ReadObjectPath(Message message, object? state)
    {
        var reader = message.GetBodyReader();
        return reader.ReadObjectPathAsString();
    }

    private static byte[] ReadByteArrayVariant(Message message, object? state)
    {
        var reader = message.GetBodyReader();
        reader.ReadSignature("ay");
        return reader.ReadArrayOfByte();
    }

    /// <summary>The unit-type interface that carries the cgroup properties (org.freedesktop.systemd1(5)).</summary>
    private static string CgroupInterfaceOf(string unit) => Path.GetExtension(unit) switch
    {
        ".slice" => "org.freedesktop.systemd1.Slice",
        ".scope" => "org.freedesktop.systemd1.Scope",
        ".socket" => "org.freedesktop.systemd1.Socket",
        ".mount" => "org.freedesktop.systemd1.Mount",
        ".swap" => "org.freedesktop.systemd1.Swap",
        _ => "org.freedesktop.systemd1.Service",
    };

    /// <summary>ListUnitsByNames' a(ssssssouso): name (the Id), description, load, active and sub state, following,
    /// unit path, job id, type and path; a unit without a file is there with load state "not-found".</summary>
    private static List<UnitState?> ReadUnitStates(Message message, object? state)
    {
        var reader = message.GetBodyReader();
        var states = new List<UnitState?>();
        var end = reader.ReadArrayStart(DBusType.Struct);
        while (reader.HasNext(end))
        {
            reader.AlignStruct();
            var id = reader.ReadString();
            reader.ReadString();
            var load = reader.ReadString();
            var active = reader.ReadString();
            reader.ReadString();
            reader.ReadString();
            reader.ReadObjectPathAsString();
            reader.ReadUInt32();
            reader.ReadString();
            reader.ReadObjectPathAsString();
            states.Add(load == "not-found" ? null : new UnitState(id, active));
        }

        return states;
    }

    private static string ReadStringVariant(Message message, object? state)
    {
        var reader = message.GetBodyReader();
        reader.ReadSignature("s");
        return reader.ReadString();
    }

    private void OnJobRemoved(Notification<JobRemoved> notification)
    {
        if (!notification.HasValue || notification.Value.Job is not { } job)
        {
            return;
        }

        lock (_jobsGate)
        {
            if (_jobsRunning > 0)
            {
                JobFor(job).TrySetResult(notification.Value.Result);
            }
        }
    }

    private TaskCompletionSource<string> JobFor(string job)
    {
        if (!_jobs.TryGetValue(job, out var finished))
        {
            finished = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _jobs[job] = finished;
        }

        return finished;
    }

    private async Task<string> RunJobAsync(string method, string verb, string unit, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await EnsureJobRemovedWatchAsync(cancellationToken).ConfigureAwait(false);
        lock (_jobsGate)
        {
            _jobsRunning++;
        }

        try
        {
            var job = await _bus.CallAsync(
                ManagerCall(method, unit, "replace"),
                ReadObjectPath,
                $"systemd {method}({unit})",
                timeout < CallTimeout ? CallTimeout : timeout,
                cancellationToken).ConfigureAwait(false);
            Task<string> finished;
            lock (_jobsGate)
            {
                finished = JobFor(job).Task;
            }

            try
            {
                return await finished.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException e)
            {
                throw PassthroughException.Failure(
                    $"systemd did not finish {verb} {unit} within {BusConnection.FormatSeconds(timeout)} s (job {job}).",
                    $"See `systemctl status {unit}` and `journalctl -u {unit}`; if it is only slow, raise the timeout in <passthrough:timeouts>.",
                    e);
            }
        }
        finally
        {
            lock (_jobsGate)
            {
                if (--_jobsRunning == 0)
                {
                    _jobs.Clear();
                }
            }
        }
    }

    private async Task EnsureJobRemovedWatchAsync(CancellationToken cancellationToken)
    {
        if (_jobRemovedWatch is not null)
        {
            return;
        }

        await _watchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_jobRemovedWatch is not null)
            {
                return;
            }

            // Returns once the bus daemon has acknowledged the match: installed before any job exists.
            IDisposable watch;
            try
            {
                watch = await _bus.Connection.WatchSignalAsync<JobRemoved>(
                    Service, ManagerPath, ManagerInterface, "JobRemoved", ReadJobRemoved, OnJobRemoved, ObserverFlags.None, emitOnCapturedContext: false).ConfigureAwait(false);
            }
            catch (DBusExceptionBase e)
            {
                throw _bus.Translate(e, "subscribing to systemd's JobRemoved");
            }

            try
            {
                // Subscribe() asks systemd to broadcast job signals (org.freedesktop.systemd1(5)); without it
                // systemd still sends JobRemoved to the client that queued the job.
                await _bus.CallAsync(ManagerCall("Subscribe"), "systemd Subscribe", CallTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (DBusException e) when (e.ErrorName == "org.freedesktop.systemd1.AlreadySubscribed")
            {
                // Already subscribed on this connection: nothing to do.
            }
            catch
            {
                watch.Dispose();
                throw;
            }

            _jobRemovedWatch = watch;
        }
        finally
        {
            _watchGate.Release();
        }
    }

    private async Task<string?> FindUnitPathAsync(string unit, CancellationToken cancellationToken)
    {
        try
        {
            return await CallForPathAsync("GetUnit", unit, cancellationToken).ConfigureAwait(false);
        }
        catch (DBusException e) when (e.IsNoSuchUnit)
        {
            // Not loaded: LoadUnit reads it from disk; a unit file that does not exist loads as "not-found".
        }

        try
        {
            var path = await CallForPathAsync("LoadUnit", unit, cancellationToken).ConfigureAwait(false);
            return await GetStringPropertyAsync(path, "LoadState", unit, cancellationToken).ConfigureAwait(false) == "not-found" ? null : path;
        }
        catch (DBusException e) when (e.IsNoSuchUnit)
        {
            return null;
        }
    }

    private Task<string> CallForPathAsync(string method, string unit, CancellationToken cancellationToken) =>
        _bus.CallAsync(ManagerCall(method, unit), ReadObjectPath, $"systemd {method}({unit})", CallTimeout, cancellationToken);

    private Task<string> GetStringPropertyAsync(string unitPath, string property, string unit, CancellationToken cancellationToken)
    {
        MessageBuffer call;
        using (var writer = _bus.Connection.GetMessageWriter())
        {
            writer.WriteMethodCallHeader(Service, unitPath, PropertiesInterface, "Get", "ss");
            writer.WriteString(UnitInterface);
            writer.WriteString(property);
            call = writer.CreateMessage();
        }

        return _bus.CallAsync(call, ReadStringVariant, $"reading {property} of {unit}", CallTimeout, cancellationToken);
    }

    /// <summary>A Manager method call with zero, one or two string arguments.</summary>
    private MessageBuffer ManagerCall(string member, string? first = null, string? second = null)
    {
        using var writer = _bus.Connection.GetMessageWriter();
        writer.WriteMethodCallHeader(Service, ManagerPath, ManagerInterface, member, second is not null ? "ss" : first is not null ? "s" : null);
        if (first is not null)
        {
            writer.WriteString(first);
        }

        if (second is not null)
        {
            writer.WriteString(second);
        }

        return writer.CreateMessage();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>The parts of JobRemoved(u id, o job, s unit, s result) we use; Job is null for a malformed signal.</summary>
    private readonly record struct JobRemoved(string? Job, string Result);
}
