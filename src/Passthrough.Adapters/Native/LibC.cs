using System.Runtime.InteropServices;
using System.Text;

namespace Passthrough.Adapters.Native;

/// <summary>
/// Every libc call Passthrough makes, in one place (libsystemd's are beside their adapters). Source-
/// generated <see cref="LibraryImportAttribute"/> stubs: nothing is marshalled at run time, so they
/// compile ahead of time without warnings. Flag and errno values are Linux's generic ABI (x86-64 and
/// arm64 share them: asm-generic/fcntl.h, asm-generic/errno-base.h).
/// </summary>
/// <remarks>
/// The wrappers retry EINTR and leave errno in <see cref="Errno"/> for the caller to name: readers
/// of sysfs treat a failure as "not there", the lock and the kernel log reader say why.
/// </remarks>
internal static partial class LibC
{
    public const int ORdOnly = 0;
    public const int ORdWr = 2;
    public const int OCreat = 0x40;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;

    public const int FOk = 0;

    public const int LockEx = 2;
    public const int LockNb = 4;
    public const int LockUn = 8;

    public const int EPerm = 1;
    public const int ENoEnt = 2;
    public const int EIntr = 4;
    public const int EAgain = 11;
    public const int EAcces = 13;
    public const int EPipe = 32;

    /// <summary>A symlink target or an xattr value longer than a page is not one we read.</summary>
    private const int PageSize = 4096;

    /// <summary>errno of the last failed call made through this class.</summary>
    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>strerror(errno): "Permission denied".</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>open(2), always with O_CLOEXEC (nothing we open belongs in a child process); the fd, or -1.</summary>
    public static int Open(string path, int flags, int mode = 0)
    {
        int fd;
        do
        {
            fd = NativeOpen(path, flags | OCloExec, mode);
        }
        while (fd < 0 && Errno == EIntr);
        return fd;
    }

    /// <summary>read(2) into the buffer: bytes read, 0 at the end, -1 on an error (see <see cref="Errno"/>).</summary>
    public static unsafe int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var read = NativeRead(fd, p, buffer.Length);
                if (read >= 0 || Errno != EIntr)
                {
                    return (int)read;
                }
            }
        }
    }

    /// <summary>close(2); its result is of no use to a reader (the fd is gone either way, close(2) NOTES).</summary>
    public static void Close(int fd) => _ = NativeClose(fd);

    /// <summary>flock(2): 0, or -1 with <see cref="Errno"/> (EAGAIN when another holds it and LOCK_NB was given).</summary>
    public static int Flock(int fd, int operation) => NativeFlock(fd, operation);

    /// <summary>access(2) with F_OK: whether the path exists (a dangling symlink does not).</summary>
    public static bool Exists(string path) => NativeAccess(path, FOk) == 0;

    /// <summary>readlink(2): a symlink's target as stored, or null (not a link, missing, or longer than a page).</summary>
    public static unsafe string? ReadLink(string path)
    {
        Span<byte> buffer = stackalloc byte[PageSize];
        nint length;
        fixed (byte* p = buffer)
        {
            length = NativeReadLink(path, p, buffer.Length);
        }

        return length <= 0 || length >= buffer.Length ? null : Encoding.UTF8.GetString(buffer[..(int)length]);
    }

    /// <summary>
    /// An extended attribute as text without its trailing NUL ("system_u:object_r:virt_hook_t:s0"),
    /// or null when the path or the attribute is missing. getxattr(2) follows a symlink, lgetxattr(2)
    /// (<paramref name="followSymlink"/> false) labels the link itself.
    /// </summary>
    public static unsafe string? ReadXattr(string path, string name, bool followSymlink)
    {
        Span<byte> buffer = stackalloc byte[PageSize];
        nint length;
        fixed (byte* p = buffer)
        {
            length = followSymlink ? NativeGetXattr(path, name, p, buffer.Length) : NativeLGetXattr(path, name, p, buffer.Length);
        }

        return length <= 0 ? null : Encoding.UTF8.GetString(buffer[..(int)length]).TrimEnd('\0');
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint NativeRead(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int NativeClose(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int NativeFlock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeAccess(string path, int mode);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint NativeReadLink(string path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "getxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint NativeGetXattr(string path, string name, byte* value, nint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint NativeLGetXattr(string path, string name, byte* value, nint size);
}
