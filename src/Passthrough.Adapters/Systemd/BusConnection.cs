using System.Net.Sockets;
using Passthrough.Errors;
using Tmds.DBus.Protocol;

namespace Passthrough.Adapters.Systemd;

/// <summary>
/// One connection to a D-Bus daemon (Tmds.DBus.Protocol's <see cref="DBusConnection"/>), opened on an
/// address, with the library's exceptions turned into <see cref="DBusException"/>: the D-Bus error
/// name kept, a message naming the call, a remedy where there is one.
/// </summary>
internal sealed class BusConnection : IDisposable
{
    private BusConnection(DBusConnection connection, string description)
    {
        Connection = connection;
        Description = description;
    }

    public DBusConnection Connection { get; }

    /// <summary>The address, or "the system bus (address)", for messages.</summary>
    public string Description { get; }

    /// <summary>Connects and authenticates (the daemon's Hello included) before returning.</summary>
    public static async Task<BusConnection> OpenAsync(string address, string description)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var connection = new DBusConnection(address);
        try
        {
            await connection.ConnectAsync().ConfigureAwait(false);
        }
        catch (DBusConnectFailedException e)
        {
            connection.Dispose();
            var denied = FindInner<SocketException>(e)?.SocketErrorCode == SocketError.AccessDenied
                || FindInner<UnauthorizedAccessException>(e) is not null;
            throw new DBusException(
                FailureKind.Environment,
                denied ? "org.freedesktop.DBus.Error.AccessDenied" : "org.freedesktop.DBus.Error.NoServer",
                $"Could not connect to the D-Bus at {description}: {Innermost(e).Message}",
                "Check that the D-Bus daemon (and systemd) run, and that you are root.",
                e);
        }

        return new BusConnection(connection, description);
    }

    /// <summary>Sends a method call and reads its reply with <paramref name="reader"/>; waits at most
    /// <paramref name="timeout"/>. <paramref name="what"/> names the call in errors.</summary>
    public async Task<T> CallAsync<T>(MessageBuffer call, MessageValueReader<T> reader, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await Connection.CallMethodAsync(call, reader).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            // The reply may still come; it is dropped. The daemon itself answers NoReply after its own limit.
            throw new DBusException(
                FailureKind.Environment,
                "org.freedesktop.DBus.Error.NoReply",
                $"{what} got no reply within {FormatSeconds(timeout)} s from {Description}.",
                "Check that systemd is responsive (`systemctl status`).",
                e);
        }
        catch (DBusExceptionBase e)
        {
            throw Translate(e, what);
        }
    }

    /// <summary>A call without reply values.</summary>
    public Task CallAsync(MessageBuffer call, string what, TimeSpan timeout, CancellationToken cancellationToken) =>
        CallAsync(call, static (_, _) => true, what, timeout, cancellationToken);

    public void Dispose() => Connection.Dispose();

    /// <summary>"0.7", "25": a time limit as messages show it.</summary>
    public static string FormatSeconds(TimeSpan time) =>
        time.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The library's exception as ours, keeping the D-Bus error name.</summary>
    public DBusException Translate(DBusExceptionBase e, string what)
    {
        if (e is DBusErrorReplyException reply)
        {
            var name = reply.ErrorName;
            return new DBusException(KindOf(name), name, $"{what} failed: {name}: {reply.ErrorMessage}", RemedyOf(name), e);
        }

        if (e is DBusConnectionException)
        {
            return new DBusException(
                FailureKind.Environment,
                "org.freedesktop.DBus.Error.Disconnected",
                $"{what} failed: the D-Bus connection to {Description} closed: {e.Message}",
                "Check that the D-Bus daemon (and systemd) run.",
                e);
        }

        // A reply that does not have the shape org.freedesktop.systemd1(5) documents.
        return new DBusException(
            FailureKind.Failed,
            "org.freedesktop.DBus.Error.InvalidArgs",
            $"{what} failed: unexpected reply from {Description}: {e.Message}",
            null,
            e);
    }

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

    private static TInner? FindInner<TInner>(Exception e)
        where TInner : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is TInner found)
            {
                return found;
            }
        }

        return null;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
