using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Passthrough.Host;
using Tmds.DBus.Protocol;

namespace Passthrough.Testing;

/// <summary>
/// A stand-in for systemd on a private bus, for failure injection: owns org.freedesktop.systemd1 and,
/// as a Tmds.DBus.Protocol method handler for /org/freedesktop/systemd1 and the paths below it,
/// answers the Manager methods Passthrough calls and Properties.Get on unit objects; runs each job
/// after <see cref="JobDelay"/> and then emits JobRemoved. A unit's jobs can be made to fail, to never
/// finish, or to be refused with AccessDenied. SetUnitProperties records AllowedCPUs, which Get serves.
/// </summary>
public sealed class SystemdServiceFake : IPathMethodHandler, IDisposable
{
    private const string ManagerPath = "/org/freedesktop/systemd1";
    private const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    private const string PropertiesInterface = "org.freedesktop.DBus.Properties";
    private const string UnitPrefix = "/org/freedesktop/systemd1/unit";

    private readonly DBusConnection _connection;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _state = new();
    private readonly Dictionary<string, Unit> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Unit> _byPath = new(StringComparer.Ordinal);
    private readonly HashSet<string> _failing = new(StringComparer.Ordinal);
    private readonly HashSet<string> _hanging = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refusedProperties = new(StringComparer.Ordinal);
    private uint _nextJob = 100;
    private bool _disposed;

    private SystemdServiceFake(DBusConnection connection)
    {
        _connection = connection;
    }

    public string Path => ManagerPath;

    public bool HandlesChildPaths => true;

    /// <summary>How long a job takes before JobRemoved is emitted.</summary>
    public TimeSpan JobDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Answer ListUnitsByNames with UnknownMethod, as a systemd older than 230 does.</summary>
    public bool ListUnitsByNamesUnknown { get; set; }

    /// <summary>Every method call received, as "Member arg1 arg2".</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Connects to the bus at <paramref name="address"/> and owns org.freedesktop.systemd1 there.</summary>
    public static async Task<SystemdServiceFake> StartAsync(string address)
    {
        var connection = new DBusConnection(address);
        try
        {
            await connection.ConnectAsync();
            var fake = new SystemdServiceFake(connection);
            connection.AddMethodHandler(fake);
            await connection.RequestNameAsync("org.freedesktop.systemd1");
            return fake;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void AddUnit(string id, string activeState, params string[] aliases)
    {
        lock (_state)
        {
            var unit = new Unit(id, UnitPrefix + "/" + Escape(id)) { ActiveState = activeState };
            _byPath[unit.Path] = unit;
            foreach (var name in aliases.Prepend(id))
            {
                _byName[name] = unit;
            }
        }
    }

    /// <summary>Jobs on this unit end with result "failed" and leave it failed.</summary>
    public void FailJobsOf(string id)
    {
        lock (_state)
        {
            _failing.Add(id);
        }
    }

    /// <summary>Jobs on this unit never emit JobRemoved (a unit stuck in its stop).</summary>
    public void NeverFinishJobsOf(string id)
    {
        lock (_state)
        {
            _hanging.Add(id);
        }
    }

    /// <summary>StartUnit/StopUnit on this unit are refused the way an unprivileged caller is.</summary>
    public void RefuseJobsOf(string id)
    {
        lock (_state)
        {
            _refused.Add(id);
        }
    }

    /// <summary>JobRemoved goes out before the StartUnit/StopUnit reply that names the job (a job
    /// systemd finishes at once): a client that matches the signal only after the reply misses it.</summary>
    public bool FinishJobsBeforeReplying { get; set; }

    public string ActiveStateOf(string id)
    {
        lock (_state)
        {
            return _byName[id].ActiveState;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping.Cancel();
        _connection.Dispose();
        _stopping.Dispose();
    }

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        var request = context.Request;
        var member = request.MemberAsString;
        if (request.InterfaceAsString == PropertiesInterface && member == "Get" && request.SignatureAsString == "ss" && IsAllowedCpusGet(request))
        {
            GetAllowedCpus(context);
        }
        else if (request.InterfaceAsString == PropertiesInterface && member == "Get" && request.SignatureAsString == "ss")
        {
            GetProperty(context);
        }
        else if (request.InterfaceAsString == ManagerInterface && request.PathAsString == ManagerPath)
        {
            Manager(context, member);
        }
        else
        {
            context.ReplyUnknownMethodError();
        }

        return default;
    }

    /// <summary>systemd's object path escaping (bus_path_encode): [A-Za-z0-9] kept, others _XX.</summary>
    private static string Escape(string name)
    {
        var builder = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            if (char.IsAsciiLetterOrDigit((char)b))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('_').Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static void ReplyEmpty(MethodContext context)
    {
        using var writer = context.CreateReplyWriter(null);
        context.Reply(writer.CreateMessage());
    }

    private static void ReplyObjectPath(MethodContext context, string path)
    {
        using var writer = context.CreateReplyWriter("o");
        writer.WriteObjectPath(path);
        context.Reply(writer.CreateMessage());
    }

    private void GetProperty(MethodContext context)
    {
        var request = context.Request;
        var reader = request.GetBodyReader();
        var iface = reader.ReadString();
        var property = reader.ReadString();
        Calls.Enqueue($"Get {request.PathAsString} {iface} {property}");
        string? value;
        lock (_state)
        {
            value = !_byPath.TryGetValue(request.PathAsString ?? string.Empty, out var unit) ? null : property switch
            {
                "Id" => unit.Id,
                "ActiveState" => unit.ActiveState,
                "LoadState" => unit.LoadState,
                _ => null,
            };
        }

        if (value is null)
        {
            context.ReplyError("org.freedesktop.DBus.Error.UnknownProperty", $"Unknown property {property} on {request.PathAsString}");
            return;
        }

        using var writer = context.CreateReplyWriter("v");
        writer.WriteVariantString(value);
        context.Reply(writer.CreateMessage());
    }

    private void Manager(MethodContext context, string? member)
    {
        var request = context.Request;
        var reader = request.GetBodyReader();
        switch (member, request.SignatureAsString)
        {
            case ("Subscribe" or "Reload", null or ""):
                Calls.Enqueue(member);
                ReplyEmpty(context);
                break;
            case ("GetUnit", "s"):
                {
                    var name = reader.ReadString();
                    Calls.Enqueue($"GetUnit {name}");
                    var unit = Find(name);
                    if (unit is null)
                    {
                        context.ReplyError("org.freedesktop.systemd1.NoSuchUnit", $"Unit {name} not loaded.");
                    }
                    else
                    {
                        ReplyObjectPath(context, unit.Path);
                    }

                    break;
                }

            case ("ListUnitsByNames", "as"):
                {
                    var names = reader.ReadArrayOfString();
                    Calls.Enqueue($"ListUnitsByNames {string.Join(',', names)}");
                    if (ListUnitsByNamesUnknown)
                    {
                        context.ReplyUnknownMethodError();
                        break;
                    }

                    // a(ssssssouso): like systemd, each name is loaded and reported under the unit's own Id; a name
                    // without a unit file is there with load state "not-found".
                    using var writer = context.CreateReplyWriter("a(ssssssouso)");
                    var units = writer.WriteArrayStart(DBusType.Struct);
                    foreach (var name in names)
                    {
                        var unit = Find(name) ?? new Unit(name, UnitPrefix + "/" + Escape(name)) { LoadState = "not-found" };
                        writer.WriteStructureStart();
                        writer.WriteString(unit.Id);
                        writer.WriteString(string.Empty);
                        writer.WriteString(unit.LoadState);
                        writer.WriteString(unit.ActiveState);
                        writer.WriteString(unit.ActiveState == "active" ? "running" : "dead");
                        writer.WriteString(string.Empty);
                        writer.WriteObjectPath(unit.Path);
                        writer.WriteUInt32(0);
                        writer.WriteString(string.Empty);
                        writer.WriteObjectPath("/");
                    }

                    writer.WriteArrayEnd(units);
                    context.Reply(writer.CreateMessage());
                    break;
                }

            case ("LoadUnit", "s"):
                {
                    var name = reader.ReadString();
                    Calls.Enqueue($"LoadUnit {name}");
                    Unit unit;
                    lock (_state)
                    {
                        // Like systemd: a unit without a file loads with LoadState "not-found".
                        if (!_byName.TryGetValue(name, out unit!))
                        {
                            unit = new Unit(name, UnitPrefix + "/" + Escape(name)) { ActiveState = "inactive", LoadState = "not-found" };
                            _byPath[unit.Path] = unit;
                        }
                    }

                    ReplyObjectPath(context, unit.Path);
                    break;
                }

            case ("StartUnit" or "StopUnit", "ss"):
                {
                    var name = reader.ReadString();
                    var mode = reader.ReadString();
                    Calls.Enqueue($"{member} {name} {mode}");
                    var unit = Find(name);
                    if (unit is null || unit.LoadState == "not-found")
                    {
                        context.ReplyError("org.freedesktop.systemd1.NoSuchUnit", $"Unit {name} not found.");
                    }
                    else if (IsRefused(unit))
                    {
                        context.ReplyError("org.freedesktop.DBus.Error.AccessDenied", "Access denied");
                    }
                    else
                    {
                        ReplyObjectPath(context, Queue(unit, start: member == "StartUnit"));
                    }

                    break;
                }

            case ("SetUnitProperties", "sba(sv)"):
                SetUnitProperties(context, reader);
                break;

            case ("EnableUnitFiles", "asbb"):
                {
                    var files = reader.ReadArrayOfString();
                    var runtime = reader.ReadBool();
                    var force = reader.ReadBool();
                    Calls.Enqueue($"EnableUnitFiles {string.Join(',', files)} runtime={runtime} force={force}");
                    using var writer = context.CreateReplyWriter("ba(sss)");
                    writer.WriteBool(true);
                    writer.WriteArrayEnd(writer.WriteArrayStart(DBusType.Struct));
                    context.Reply(writer.CreateMessage());
                    break;
                }

            default:
                context.ReplyUnknownMethodError();
                break;
        }
    }

    /// <summary>AllowedCPUs of a unit as systemd would answer it ("ay" bitmask), or null for an unknown unit.</summary>
    public CpuSet? AllowedCpusOf(string id)
    {
        lock (_state)
        {
            return _byName.TryGetValue(id, out var unit) ? CpuSet.FromMask(unit.AllowedCpus) : null;
        }
    }

    /// <summary>Sets a unit's AllowedCPUs as a unit file or an earlier set-property would have.</summary>
    public void SetAllowedCpus(string id, CpuSet cpus)
    {
        lock (_state)
        {
            _byName[id].AllowedCpus = cpus.ToMask();
        }
    }

    /// <summary>SetUnitProperties on this unit is refused the way an unprivileged caller is.</summary>
    public void RefusePropertiesOf(string id)
    {
        lock (_state)
        {
            _refusedProperties.Add(id);
        }
    }

    private static bool IsAllowedCpusGet(Message request)
    {
        var reader = request.GetBodyReader();
        reader.ReadString();
        return reader.ReadString() == "AllowedCPUs";
    }

    private void GetAllowedCpus(MethodContext context)
    {
        var request = context.Request;
        var reader = request.GetBodyReader();
        var iface = reader.ReadString();
        Calls.Enqueue($"Get {request.PathAsString} {iface} AllowedCPUs");
        byte[]? mask;
        lock (_state)
        {
            // systemd serves the cgroup properties on the unit type's interface only.
            mask = _byPath.TryGetValue(request.PathAsString ?? string.Empty, out var unit) && iface == CgroupInterfaceOf(unit.Id) ? unit.AllowedCpus : null;
        }

        if (mask is null)
        {
            context.ReplyError("org.freedesktop.DBus.Error.UnknownProperty", $"Unknown interface {iface} or property AllowedCPUs on {request.PathAsString}");
            return;
        }

        using var writer = context.CreateReplyWriter("v");
        writer.WriteSignature("ay");
        writer.WriteArray(mask);
        context.Reply(writer.CreateMessage());
    }

    private void SetUnitProperties(MethodContext context, Reader reader)
    {
        var name = reader.ReadString();
        var runtime = reader.ReadBool();
        var values = new List<(string Name, byte[]? Mask)>();
        var end = reader.ReadArrayStart(DBusType.Struct);
        while (reader.HasNext(end))
        {
            reader.AlignStruct();
            var property = reader.ReadString();
            var signature = reader.ReadSignatureAsString();
            if (property != "AllowedCPUs" || signature != "ay")
            {
                Calls.Enqueue($"SetUnitProperties {name} runtime={runtime} {property} (not simulated)");
                context.ReplyError("org.freedesktop.DBus.Error.InvalidArgs", $"Cannot set property {property}, or unknown property.");
                return;
            }

            values.Add((property, reader.ReadArrayOfByte()));
        }

        Calls.Enqueue($"SetUnitProperties {name} runtime={runtime} {string.Join(' ', values.Select(v => $"{v.Name}={CpuSet.FromMask(v.Mask)}"))}");
        lock (_state)
        {
            if (!_byName.TryGetValue(name, out var unit))
            {
                context.ReplyError("org.freedesktop.systemd1.NoSuchUnit", $"Unit {name} not loaded.");
                return;
            }

            if (_refusedProperties.Contains(unit.Id))
            {
                context.ReplyError("org.freedesktop.DBus.Error.AccessDenied", "Access denied");
                return;
            }

            foreach (var value in values)
            {
                unit.AllowedCpus = value.Mask ?? [];
            }
        }

        ReplyEmpty(context);
    }

    private static string CgroupInterfaceOf(string unit) => System.IO.Path.GetExtension(unit) switch
    {
        ".slice" => "org.freedesktop.systemd1.Slice",
        ".scope" => "org.freedesktop.systemd1.Scope",
        _ => "org.freedesktop.systemd1.Service",
    };

    private Unit? Find(string name)
    {
        lock (_state)
        {
            return _byName.GetValueOrDefault(name);
        }
    }

    private bool IsRefused(Unit unit)
    {
        lock (_state)
        {
            return _refused.Contains(unit.Id);
        }
    }

    private string Queue(Unit unit, bool start)
    {
        Job job;
        lock (_state)
        {
            var id = _nextJob++;
            job = new Job(id, ManagerPath + "/job/" + id.ToString(CultureInfo.InvariantCulture), unit, start, _failing.Contains(unit.Id) ? "failed" : "done");
            unit.ActiveState = start ? "activating" : "deactivating";
            if (_hanging.Contains(unit.Id))
            {
                return job.Path;
            }
        }

        if (FinishJobsBeforeReplying)
        {
            Finish(job);
        }
        else
        {
            _ = FinishLaterAsync(job, JobDelay, _stopping.Token);
        }

        return job.Path;
    }

    private async Task FinishLaterAsync(Job job, TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, stopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        Finish(job);
    }

    private void Finish(Job job)
    {
        lock (_state)
        {
            job.Unit.ActiveState = job.Result != "done" ? "failed" : job.Start ? "active" : "inactive";
        }

        using var writer = _connection.GetMessageWriter();
        writer.WriteSignalHeader(null, ManagerPath, ManagerInterface, "JobRemoved", "uoss");
        writer.WriteUInt32(job.Id);
        writer.WriteObjectPath(job.Path);
        writer.WriteString(job.Unit.Id);
        writer.WriteString(job.Result);
        _connection.TrySendMessage(writer.CreateMessage());
    }

    private sealed class Unit(string id, string path)
    {
        public string Id { get; } = id;

        public string Path { get; } = path;

        public string ActiveState { get; set; } = "inactive";

        public string LoadState { get; set; } = "loaded";

        public byte[] AllowedCpus { get; set; } = [];
    }

    private sealed record Job(uint Id, string Path, Unit Unit, bool Start, string Result);
}
