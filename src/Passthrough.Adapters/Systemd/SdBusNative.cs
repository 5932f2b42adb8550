using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Passthrough.Systemd;

/// <summary>libsystemd's sd-bus (sd-bus(3)), the functions Passthrough calls. Return values follow
/// sd-bus: negative errno on failure.</summary>
internal static unsafe partial class SdBusNative
{
    public const string Library = "libsystemd.so.0";

    /// <summary>SD_BUS_MESSAGE_METHOD_CALL in sd_bus_message_get_type(3).</summary>
    public const byte MethodCallType = 1;

    [LibraryImport(Library)]
    public static partial int sd_bus_new(out SdBusHandle bus);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_set_address(SdBusHandle bus, string address);

    [LibraryImport(Library)]
    public static partial int sd_bus_set_bus_client(SdBusHandle bus, int client);

    [LibraryImport(Library)]
    public static partial int sd_bus_start(SdBusHandle bus);

    [LibraryImport(Library)]
    public static partial int sd_bus_open_system(out SdBusHandle bus);

    [LibraryImport(Library)]
    public static partial nint sd_bus_flush_close_unref(nint bus);

    [LibraryImport(Library)]
    public static partial int sd_bus_process(SdBusHandle bus, nint* message);

    [LibraryImport(Library)]
    public static partial int sd_bus_wait(SdBusHandle bus, ulong timeoutMicroseconds);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_add_match(SdBusHandle bus, out SdBusSlotHandle slot, string match, delegate* unmanaged<nint, nint, nint, int> callback, nint userdata);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_add_object(SdBusHandle bus, out SdBusSlotHandle slot, string path, delegate* unmanaged<nint, nint, nint, int> callback, nint userdata);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_add_fallback(SdBusHandle bus, out SdBusSlotHandle slot, string prefix, delegate* unmanaged<nint, nint, nint, int> callback, nint userdata);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_request_name(SdBusHandle bus, string name, ulong flags);

    [LibraryImport(Library)]
    public static partial nint sd_bus_slot_unref(nint slot);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_message_new_method_call(SdBusHandle bus, out SdBusMessageHandle message, string destination, string path, string @interface, string member);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_message_new_signal(SdBusHandle bus, out SdBusMessageHandle message, string path, string @interface, string member);

    [LibraryImport(Library)]
    public static partial int sd_bus_message_new_method_return(nint call, out SdBusMessageHandle message);

    [LibraryImport(Library)]
    public static partial int sd_bus_message_new_method_error(nint call, out SdBusMessageHandle message, in SdBusError error);

    [LibraryImport(Library)]
    public static partial int sd_bus_send(SdBusHandle bus, SdBusMessageHandle message, nint cookie);

    [LibraryImport(Library)]
    public static partial int sd_bus_call(SdBusHandle bus, SdBusMessageHandle message, ulong timeoutMicroseconds, ref SdBusError error, out SdBusMessageHandle reply);

    [LibraryImport(Library)]
    public static partial nint sd_bus_message_ref(nint message);

    [LibraryImport(Library)]
    public static partial nint sd_bus_message_unref(nint message);

    [LibraryImport(Library)]
    public static partial int sd_bus_message_append_basic(SdBusMessageHandle message, byte type, void* value);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_message_open_container(SdBusMessageHandle message, byte type, string contents);

    [LibraryImport(Library)]
    public static partial int sd_bus_message_close_container(SdBusMessageHandle message);

    [LibraryImport(Library)]
    public static partial int sd_bus_message_read_basic(SdBusMessageHandle message, byte type, void* value);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sd_bus_message_enter_container(SdBusMessageHandle message, byte type, string? contents);

    [LibraryImport(Library)]
    public static partial int sd_bus_message_exit_container(SdBusMessageHandle message);

    [LibraryImport(Library)]
    public static partial nint sd_bus_message_get_member(SdBusMessageHandle message);

    [LibraryImport(Library)]
    public static partial nint sd_bus_message_get_interface(SdBusMessageHandle message);

    [LibraryImport(Library)]
    public static partial nint sd_bus_message_get_path(SdBusMessageHandle message);

    [LibraryImport(Library)]
    public static partial int sd_bus_message_get_type(SdBusMessageHandle message, out byte type);

    [LibraryImport(Library)]
    public static partial void sd_bus_error_free(ref SdBusError error);
}

/// <summary>struct sd_bus_error: name, message, and whether sd-bus must free them.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SdBusError
{
    public nint Name;
    public nint Message;
    public int NeedFree;
}

/// <summary>An sd_bus* connection, flushed and closed on release.</summary>
internal sealed class SdBusHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SdBusHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        SdBusNative.sd_bus_flush_close_unref(handle);
        return true;
    }
}

/// <summary>An sd_bus_message* reference.</summary>
internal sealed class SdBusMessageHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SdBusMessageHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>Takes a new reference on a message sd-bus lends to a callback.</summary>
    public static SdBusMessageHandle Borrow(nint message)
    {
        var result = new SdBusMessageHandle();
        result.SetHandle(SdBusNative.sd_bus_message_ref(message));
        return result;
    }

    protected override bool ReleaseHandle()
    {
        SdBusNative.sd_bus_message_unref(handle);
        return true;
    }
}

/// <summary>An sd_bus_slot*: the match or object registration lives as long as the slot.</summary>
internal sealed class SdBusSlotHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SdBusSlotHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        SdBusNative.sd_bus_slot_unref(handle);
        return true;
    }
}
