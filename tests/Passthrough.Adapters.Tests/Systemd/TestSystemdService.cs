using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Passthrough.Systemd;

namespace Passthrough.Tests.Systemd;

/// <summary>
/// A stand-in for systemd on a private bus, over sd-bus like the client: owns org.freedesktop.systemd1,
/// answers the Manager methods Passthrough calls and Properties.Get on unit objects, runs each job
/// after <see cref="JobDelay"/> and then emits JobRemoved. Failure injection: a unit's jobs can be
/// made to fail or to never finish.
/// </summary>
internal sealed unsafe class TestSystemdService : IDisposable
{
    private const string ManagerPath = "/org/freedesktop/systemd1";
    private const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    private const string UnitPrefix = "/org/freedesktop/systemd1/unit";

    private readonly Lock _state = new();
    private readonly Dictionary<string, Unit> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Unit> _byPath = new(StringComparer.Ordinal);
    private readonly HashSet<string> _failing = new(StringComparer.Ordinal);
    private readonly HashSet<string> _hanging = new(StringComparer.Ordinal);
    private readonly List<PendingJob> _pending = [];
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _ready = new();
    private readonly string _address;
    private Exception? _startFailure;
    private volatile bool _stopping;
    private uint _nextJob = 100;
    private GCHandle _self;

    public TestSystemdService(string address)
    {
        _address = address;
        _thread = new Thread(Serve) { IsBackground = true, Name = "test systemd" };
        _thread.Start();
        _ready.Wait(TimeSpan.FromSeconds(10));
        if (_startFailure is not null)
        {
            throw new InvalidOperationException("the test systemd service did not start", _startFailure);
        }
    }

    /// <summary>How long a job takes before JobRemoved is emitted.</summary>
    public TimeSpan JobDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Every method call received, as "Member arg1 arg2".</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

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

    public string ActiveStateOf(string id)
    {
        lock (_state)
        {
            return _byName[id].ActiveState;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join(TimeSpan.FromSeconds(5));
        _ready.Dispose();
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

    [UnmanagedCallersOnly]
    private static int OnMessage(nint message, nint userdata, nint error)
    {
        try
        {
            var self = (TestSystemdService)GCHandle.FromIntPtr(userdata).Target!;
            using var call = new BusMessage(SdBusMessageHandle.Borrow(message));
            return call.IsMethodCall ? self.Handle(message, call) : 0;
        }
#pragma warning disable CA1031 // Never let an exception cross into sd-bus.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine("test systemd: " + e);
            return 0;
        }
    }

    private void Serve()
    {
        BusConnection bus;
        try
        {
            bus = BusConnection.Open(_address);
            bus.RequestName("org.freedesktop.systemd1");
        }
#pragma warning disable CA1031 // Reported to the constructor.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _startFailure = e;
            _ready.Set();
            return;
        }

        _self = GCHandle.Alloc(this);
        Bus = bus;
        using (bus)
        using (bus.AddObject(ManagerPath, &OnMessage, GCHandle.ToIntPtr(_self)))
        using (bus.AddFallback(UnitPrefix, &OnMessage, GCHandle.ToIntPtr(_self)))
        {
            _ready.Set();
            while (!_stopping)
            {
                while (bus.ProcessOne())
                {
                }

                EmitDueJobs(bus);
                bus.Wait(TimeSpan.FromMilliseconds(10));
            }
        }

        _self.Free();
    }

    private BusConnection? Bus { get; set; }

    private int Handle(nint raw, BusMessage call)
    {
        var member = call.Member;
        if (call.Interface == "org.freedesktop.DBus.Properties" && member == "Get")
        {
            var iface = call.ReadString();
            var property = call.ReadString();
            Calls.Enqueue($"Get {call.Path} {iface} {property}");
            Unit? unit;
            lock (_state)
            {
                _byPath.TryGetValue(call.Path ?? string.Empty, out unit);
            }

            var value = unit is null ? null : property switch
            {
                "Id" => unit.Id,
                "ActiveState" => unit.ActiveState,
                "LoadState" => unit.LoadState,
                _ => null,
            };
            if (value is null)
            {
                return ReplyError(raw, "org.freedesktop.DBus.Error.UnknownProperty", $"Unknown property {property} on {call.Path}");
            }

            return Reply(raw, r => r.OpenContainer('v', "s").AppendString(value).CloseContainer());
        }

        if (call.Interface != ManagerInterface || call.Path != ManagerPath)
        {
            return 0;
        }

        switch (member)
        {
            case "Subscribe":
            case "Reload":
                Calls.Enqueue(member);
                return Reply(raw, _ => { });
            case "GetUnit":
                {
                    var name = call.ReadString();
                    Calls.Enqueue($"GetUnit {name}");
                    var unit = Find(name);
                    return unit is null
                        ? ReplyError(raw, "org.freedesktop.systemd1.NoSuchUnit", $"Unit {name} not loaded.")
                        : Reply(raw, r => r.AppendObjectPath(unit.Path));
                }

            case "LoadUnit":
                {
                    var name = call.ReadString();
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

                    return Reply(raw, r => r.AppendObjectPath(unit.Path));
                }

            case "StartUnit":
            case "StopUnit":
                {
                    var name = call.ReadString();
                    var mode = call.ReadString();
                    Calls.Enqueue($"{member} {name} {mode}");
                    var unit = Find(name);
                    if (unit is null || unit.LoadState == "not-found")
                    {
                        return ReplyError(raw, "org.freedesktop.systemd1.NoSuchUnit", $"Unit {name} not found.");
                    }

                    var job = Queue(unit, start: member == "StartUnit");
                    return Reply(raw, r => r.AppendObjectPath(job));
                }

            case "EnableUnitFiles":
                {
                    var files = call.ReadStringArray();
                    var runtime = call.ReadBoolean();
                    var force = call.ReadBoolean();
                    Calls.Enqueue($"EnableUnitFiles {string.Join(',', files)} runtime={runtime} force={force}");
                    return Reply(raw, r => r.AppendBoolean(true).OpenContainer('a', "(sss)").CloseContainer());
                }

            default:
                return 0;
        }
    }

    private Unit? Find(string name)
    {
        lock (_state)
        {
            return _byName.GetValueOrDefault(name);
        }
    }

    private string Queue(Unit unit, bool start)
    {
        lock (_state)
        {
            var id = _nextJob++;
            var path = ManagerPath + "/job/" + id.ToString(CultureInfo.InvariantCulture);
            unit.ActiveState = start ? "activating" : "deactivating";
            var result = _failing.Contains(unit.Id) ? "failed" : "done";
            if (!_hanging.Contains(unit.Id))
            {
                _pending.Add(new PendingJob(id, path, unit, start, result, DateTime.UtcNow + JobDelay));
            }

            return path;
        }
    }

    private void EmitDueJobs(BusConnection bus)
    {
        List<PendingJob> due;
        lock (_state)
        {
            var now = DateTime.UtcNow;
            due = _pending.Where(j => j.Due <= now).ToList();
            _pending.RemoveAll(due.Contains);
            foreach (var job in due)
            {
                job.Unit.ActiveState = job.Result != "done" ? "failed" : job.Start ? "active" : "inactive";
            }
        }

        foreach (var job in due)
        {
            using var signal = bus.NewSignal(ManagerPath, ManagerInterface, "JobRemoved");
            signal.AppendUInt32(job.Id).AppendObjectPath(job.Path).AppendString(job.Unit.Id).AppendString(job.Result);
            bus.Send(signal);
        }
    }

    private int Reply(nint call, Action<BusMessage> fill)
    {
        BusConnection.Check(SdBusNative.sd_bus_message_new_method_return(call, out var handle), "build a reply");
        using var reply = new BusMessage(handle);
        fill(reply);
        Bus!.Send(reply);
        return 1;
    }

    private int ReplyError(nint call, string name, string text)
    {
        var error = new SdBusError { Name = Marshal.StringToCoTaskMemUTF8(name), Message = Marshal.StringToCoTaskMemUTF8(text) };
        try
        {
            BusConnection.Check(SdBusNative.sd_bus_message_new_method_error(call, out var handle, in error), "build an error reply");
            using var reply = new BusMessage(handle);
            Bus!.Send(reply);
            return 1;
        }
        finally
        {
            Marshal.FreeCoTaskMem(error.Name);
            Marshal.FreeCoTaskMem(error.Message);
        }
    }

    private sealed class Unit(string id, string path)
    {
        public string Id { get; } = id;

        public string Path { get; } = path;

        public string ActiveState { get; set; } = "inactive";

        public string LoadState { get; set; } = "loaded";
    }

    private sealed record PendingJob(uint Id, string Path, Unit Unit, bool Start, string Result, DateTime Due);
}
