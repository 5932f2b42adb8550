using System.Runtime.InteropServices;
using System.Text;
using Passthrough.Errors;

namespace Passthrough.Systemd;

/// <summary>
/// One sd-bus connection (sd-bus is not thread-safe: one thread at a time). Opened on an address
/// (sd_bus_new, sd_bus_set_address, sd_bus_set_bus_client, sd_bus_start) or on the system bus.
/// </summary>
internal sealed unsafe class BusConnection : IDisposable
{
    private BusConnection(SdBusHandle handle, string description)
    {
        Handle = handle;
        Description = description;
    }

    public SdBusHandle Handle { get; }

    /// <summary>The address, or "system bus", for messages.</summary>
    public string Description { get; }

    public static BusConnection Open(string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var (code, bus) = Native(() => (SdBusNative.sd_bus_new(out var handle), handle));
        if (code < 0)
        {
            bus.Dispose();
        }

        Check(code, $"create a D-Bus connection to {address}");
        try
        {
            Check(SdBusNative.sd_bus_set_address(bus, address), $"use the D-Bus address {address}");
            Check(SdBusNative.sd_bus_set_bus_client(bus, 1), $"connect to {address}");
            Check(SdBusNative.sd_bus_start(bus), $"connect to the D-Bus at {address}");
        }
        catch
        {
            bus.Dispose();
            throw;
        }

        return new BusConnection(bus, address);
    }

    public static BusConnection OpenSystem()
    {
        var (code, bus) = Native(() => (SdBusNative.sd_bus_open_system(out var handle), handle));
        if (code < 0)
        {
            bus.Dispose();
        }

        Check(code, "connect to the system D-Bus");
        return new BusConnection(bus, "system bus");
    }

    public BusMessage NewMethodCall(string destination, string path, string @interface, string member)
    {
        Check(SdBusNative.sd_bus_message_new_method_call(Handle, out var message, destination, path, @interface, member), $"build the call {@interface}.{member}");
        return new BusMessage(message);
    }

    public BusMessage NewSignal(string path, string @interface, string member)
    {
        Check(SdBusNative.sd_bus_message_new_signal(Handle, out var message, path, @interface, member), $"build the signal {@interface}.{member}");
        return new BusMessage(message);
    }

    /// <summary>Sends a call and waits for its reply; a D-Bus error becomes <see cref="DBusException"/>.</summary>
    public BusMessage Call(BusMessage call, string what, TimeSpan timeout)
    {
        var error = default(SdBusError);
        try
        {
            var r = SdBusNative.sd_bus_call(Handle, call.Handle, ToMicroseconds(timeout), ref error, out var reply);
            if (r < 0)
            {
                reply.Dispose();
                var name = Marshal.PtrToStringUTF8(error.Name) ?? ErrnoName(-r);
                var text = Marshal.PtrToStringUTF8(error.Message) ?? Marshal.GetPInvokeErrorMessage(-r);
                throw new DBusException(KindOf(name), name, $"{what} failed: {name}: {text}", RemedyOf(name));
            }

            return new BusMessage(reply);
        }
        finally
        {
            SdBusNative.sd_bus_error_free(ref error);
        }
    }

    public void Send(BusMessage message) =>
        Check(SdBusNative.sd_bus_send(Handle, message.Handle, 0), "send a D-Bus message");

    /// <summary>Dispatches one queued message to its callbacks; false when nothing was waiting.</summary>
    public bool ProcessOne()
    {
        nint unhandled = 0;
        var r = SdBusNative.sd_bus_process(Handle, &unhandled);
        if (unhandled != 0)
        {
            SdBusNative.sd_bus_message_unref(unhandled);
        }

        Check(r, $"read from the D-Bus at {Description}");
        return r > 0;
    }

    public void Wait(TimeSpan timeout)
    {
        var r = SdBusNative.sd_bus_wait(Handle, ToMicroseconds(timeout));
        if (r != -4)
        {
            // -EINTR: a signal interrupted the wait; the caller loops anyway.
            Check(r, $"wait on the D-Bus at {Description}");
        }
    }

    public SdBusSlotHandle AddMatch(string rule, delegate* unmanaged<nint, nint, nint, int> callback, nint userdata)
    {
        Check(SdBusNative.sd_bus_add_match(Handle, out var slot, rule, callback, userdata), $"subscribe to {rule}");
        return slot;
    }

    public SdBusSlotHandle AddObject(string path, delegate* unmanaged<nint, nint, nint, int> callback, nint userdata)
    {
        Check(SdBusNative.sd_bus_add_object(Handle, out var slot, path, callback, userdata), $"serve {path}");
        return slot;
    }

    public SdBusSlotHandle AddFallback(string prefix, delegate* unmanaged<nint, nint, nint, int> callback, nint userdata)
    {
        Check(SdBusNative.sd_bus_add_fallback(Handle, out var slot, prefix, callback, userdata), $"serve {prefix}/*");
        return slot;
    }

    public void RequestName(string name) =>
        Check(SdBusNative.sd_bus_request_name(Handle, name, 0), $"own the D-Bus name {name}");

    public void Dispose() => Handle.Dispose();

    /// <summary>Throws for a negative sd-bus return code.</summary>
    public static int Check(int result, string what)
    {
        if (result >= 0)
        {
            return result;
        }

        var name = ErrnoName(-result);
        throw new DBusException(
            FailureKind.Environment,
            name,
            $"Could not {what}: {Marshal.GetPInvokeErrorMessage(-result)}.",
            "Check that the D-Bus daemon (and systemd) run, and that you are root.");
    }

    private static (int Code, SdBusHandle Handle) Native(Func<(int, SdBusHandle)> call)
    {
        try
        {
            return call();
        }
        catch (DllNotFoundException e)
        {
            throw PassthroughException.Host(
                $"{SdBusNative.Library} is not available: {e.Message}",
                "Install libsystemd (Debian: libsystemd0, Fedora: systemd-libs).",
                e);
        }
    }

    private static ulong ToMicroseconds(TimeSpan timeout) =>
        timeout <= TimeSpan.Zero ? 1 : (ulong)Math.Min(timeout.Ticks / 10, long.MaxValue / 10);

    private static string ErrnoName(int errno) => errno switch
    {
        13 => "org.freedesktop.DBus.Error.AccessDenied",
        110 => "org.freedesktop.DBus.Error.Timeout",
        _ => "System.Error.Errno" + errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static FailureKind KindOf(string name) => name switch
    {
        "org.freedesktop.DBus.Error.AccessDenied" or "org.freedesktop.DBus.Error.ServiceUnknown" or "org.freedesktop.DBus.Error.NoReply"
            or "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" => FailureKind.Environment,
        _ => FailureKind.Failed,
    };

    private static string? RemedyOf(string name) => name switch
    {
        "org.freedesktop.DBus.Error.AccessDenied" or "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" => "Run it as root (sudo).",
        "org.freedesktop.systemd1.NoSuchUnit" => "Check the unit name with `systemctl list-units`.",
        "org.freedesktop.DBus.Error.ServiceUnknown" => "systemd is not reachable on this bus: is this a systemd host?",
        _ => null,
    };
}

/// <summary>An sd_bus_message with typed append and read helpers for the types systemd uses.</summary>
internal sealed unsafe class BusMessage : IDisposable
{
    public BusMessage(SdBusMessageHandle handle)
    {
        Handle = handle;
    }

    public SdBusMessageHandle Handle { get; }

    public string? Member => Marshal.PtrToStringUTF8(SdBusNative.sd_bus_message_get_member(Handle));

    public string? Interface => Marshal.PtrToStringUTF8(SdBusNative.sd_bus_message_get_interface(Handle));

    public string? Path => Marshal.PtrToStringUTF8(SdBusNative.sd_bus_message_get_path(Handle));

    public bool IsMethodCall => SdBusNative.sd_bus_message_get_type(Handle, out var type) >= 0 && type == SdBusNative.MethodCallType;

    public BusMessage AppendString(string value) => AppendText((byte)'s', value);

    public BusMessage AppendObjectPath(string value) => AppendText((byte)'o', value);

    public BusMessage AppendBoolean(bool value)
    {
        var v = value ? 1 : 0;
        BusConnection.Check(SdBusNative.sd_bus_message_append_basic(Handle, (byte)'b', &v), "append a boolean");
        return this;
    }

    public BusMessage AppendUInt32(uint value)
    {
        BusConnection.Check(SdBusNative.sd_bus_message_append_basic(Handle, (byte)'u', &value), "append a number");
        return this;
    }

    public BusMessage AppendStringArray(IEnumerable<string> values)
    {
        OpenContainer('a', "s");
        foreach (var value in values)
        {
            AppendString(value);
        }

        return CloseContainer();
    }

    public BusMessage OpenContainer(char type, string contents)
    {
        BusConnection.Check(SdBusNative.sd_bus_message_open_container(Handle, (byte)type, contents), "open a container");
        return this;
    }

    public BusMessage CloseContainer()
    {
        BusConnection.Check(SdBusNative.sd_bus_message_close_container(Handle), "close a container");
        return this;
    }

    public string ReadString() => ReadText((byte)'s');

    public string ReadObjectPath() => ReadText((byte)'o');

    public uint ReadUInt32()
    {
        uint value = 0;
        BusConnection.Check(SdBusNative.sd_bus_message_read_basic(Handle, (byte)'u', &value), "read a number");
        return value;
    }

    public bool ReadBoolean()
    {
        var value = 0;
        BusConnection.Check(SdBusNative.sd_bus_message_read_basic(Handle, (byte)'b', &value), "read a boolean");
        return value != 0;
    }

    public IReadOnlyList<string> ReadStringArray()
    {
        BusConnection.Check(SdBusNative.sd_bus_message_enter_container(Handle, (byte)'a', "s"), "read an array");
        var values = new List<string>();
        while (true)
        {
            nint p = 0;
            var r = BusConnection.Check(SdBusNative.sd_bus_message_read_basic(Handle, (byte)'s', &p), "read an array item");
            if (r == 0)
            {
                break;
            }

            values.Add(Marshal.PtrToStringUTF8(p) ?? string.Empty);
        }

        BusConnection.Check(SdBusNative.sd_bus_message_exit_container(Handle), "leave an array");
        return values;
    }

    /// <summary>Reads a variant holding a string ("v" of "s"), as Properties.Get returns.</summary>
    public string ReadStringVariant()
    {
        BusConnection.Check(SdBusNative.sd_bus_message_enter_container(Handle, (byte)'v', "s"), "read a string property");
        var value = ReadString();
        BusConnection.Check(SdBusNative.sd_bus_message_exit_container(Handle), "leave a variant");
        return value;
    }

    public void Dispose() => Handle.Dispose();

    private BusMessage AppendText(byte type, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* p = bytes)
        {
            BusConnection.Check(SdBusNative.sd_bus_message_append_basic(Handle, type, p), "append a string");
        }

        return this;
    }

    private string ReadText(byte type)
    {
        nint p = 0;
        var r = BusConnection.Check(SdBusNative.sd_bus_message_read_basic(Handle, type, &p), "read a string");
        if (r == 0)
        {
            throw new DBusException(FailureKind.Failed, "org.freedesktop.DBus.Error.InvalidArgs", "The D-Bus message ended early: a string was expected.");
        }

        return Marshal.PtrToStringUTF8(p) ?? string.Empty;
    }
}
