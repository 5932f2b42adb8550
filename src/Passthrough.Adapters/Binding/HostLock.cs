using System.Runtime.InteropServices;
using Passthrough.Errors;

namespace Passthrough.Binding;

/// <summary>
/// The one lock (ROOT/run/passthrough/lock, flock(2)) held while devices are bound or restored, so
/// two VM starts cannot interleave their steps. The kernel drops it when the process dies.
/// Raw open/flock: .NET's FileStream takes its own flock for FileShare emulation.
/// </summary>
public sealed partial class HostLock : IDisposable
{
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int LockUnlock = 8;
    private const int OpenReadWrite = 2;
    private const int OpenCreate = 0x40;
    private const int OpenCloseOnExec = 0x80000;
    private const int WouldBlock = 11;

    private int _fd;

    private HostLock(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Waits up to <paramref name="timeout"/> for the lock.</summary>
    public static HostLock Acquire(HostRoot root, TimeSpan timeout)
    {
        var path = root.Path("/run/passthrough/lock");
        try
        {
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        }
        catch (UnauthorizedAccessException e)
        {
            throw PassthroughException.Host($"Cannot create {System.IO.Path.GetDirectoryName(path)}: permission denied.", "Run it as root (sudo).", e);
        }

        var fd = Open(path, OpenReadWrite | OpenCreate | OpenCloseOnExec, 0x180);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw PassthroughException.Host($"Cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)}.", "Run it as root (sudo).");
        }

        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Flock(fd, LockExclusive | LockNonBlocking) == 0)
            {
                return new HostLock(fd, path);
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != WouldBlock || DateTime.UtcNow >= deadline)
            {
                _ = Close(fd);
                throw errno == WouldBlock
                    ? PassthroughException.Failure(
                        $"Another passthrough is binding or restoring devices (it holds {path}) and did not finish within {timeout.TotalSeconds:0.#} s.",
                        "Wait for the other VM to finish starting or stopping and try again; `passthrough status` shows what is bound.")
                    : PassthroughException.Host($"Cannot lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}.");
            }

            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = Flock(fd, LockUnlock);
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
