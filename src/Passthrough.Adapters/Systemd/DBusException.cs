using Passthrough.Errors;

namespace Passthrough.Adapters.Systemd;

/// <summary>A D-Bus call failed; <see cref="ErrorName"/> is the D-Bus error name
/// (org.freedesktop.systemd1.NoSuchUnit, org.freedesktop.DBus.Error.AccessDenied, ...).</summary>
public sealed class DBusException : PassthroughException
{
    public DBusException(FailureKind kind, string errorName, string message, string? remedy = null, Exception? inner = null)
        : base(kind, message, remedy, inner)
    {
        ErrorName = errorName;
    }

    public DBusException()
        : this(FailureKind.Failed, "org.freedesktop.DBus.Error.Failed", "D-Bus call failed.")
    {
    }

    public DBusException(string message)
        : this(FailureKind.Failed, "org.freedesktop.DBus.Error.Failed", message)
    {
    }

    public DBusException(string message, Exception inner)
        : base(message, inner)
    {
        ErrorName = "org.freedesktop.DBus.Error.Failed";
    }

    public string ErrorName { get; }

    public bool IsNoSuchUnit => ErrorName == "org.freedesktop.systemd1.NoSuchUnit";

    /// <summary>The call was refused outright (denied, or no such unit): the method did nothing. A missing reply is not a refusal.</summary>
    public bool IsRefusal => IsNoSuchUnit || ErrorName is "org.freedesktop.DBus.Error.AccessDenied" or "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired";
}
