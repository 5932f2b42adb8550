using Passthrough.Adapters.Native;
using Passthrough.Errors;

namespace Passthrough.Adapters.Binding;

/// <summary>
/// The one lock (ROOT/run/passthrough/lock, flock(2)) held while devices are bound or restored, so
/// two VM starts cannot interleave their steps. The kernel drops it when the process dies.
/// Raw open/flock: .NET's FileStream takes its own flock for FileShare emulation.
/// </summary>
public sealed class HostLock : IDisposable
{
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

        var fd = LibC.Open(path, LibC.ORdWr | LibC.OCreat, 0x180);
        if (fd < 0)
        {
            throw PassthroughException.Host($"Cannot open {path}: {LibC.Describe(LibC.Errno)}.", "Run it as root (sudo).");
        }

        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (LibC.Flock(fd, LibC.LockEx | LibC.LockNb) == 0)
            {
                return new HostLock(fd, path);
            }

            var errno = LibC.Errno;
            if (errno != LibC.EAgain || DateTime.UtcNow >= deadline)
            {
                LibC.Close(fd);
                throw errno == LibC.EAgain
                    ? PassthroughException.Failure(
                        $"Another passthrough is binding or restoring devices (it holds {path}) and did not finish within {timeout.TotalSeconds:0.#} s.",
                        "Wait for the other VM to finish starting or stopping and try again; `passthrough status` shows what is bound.")
                    : PassthroughException.Host($"Cannot lock {path}: {LibC.Describe(errno)}.");
            }

            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = LibC.Flock(fd, LibC.LockUn);
            LibC.Close(fd);
        }
    }
}
