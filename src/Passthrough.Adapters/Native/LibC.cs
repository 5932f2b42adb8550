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
    public const int OWrOnly = 1;
    public const int OCreat = 0x40;
    public const int OAppend = 0x400;
    public const int ONonBlock = 0x800;
    public const int ODirectory = 0x10000;
    public const int OCloExec = 0x80000;

    /// <summary>openat(2)'s "relative to the current directory".</summary>
    public const int AtFdCwd = -100;

    public const int FOk = 0;

    private const byte AfUnix = 1;
    private const int SockDgram = 2;
    private const int SockCloExec = 0x80000;
    private const int MsgNoSignal = 0x4000;

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

    /// <summary>openat(2) of a name inside an open directory (one path component to look up, not the whole path); the fd, or -1.</summary>
    public static int OpenAt(int directory, string name, int flags)
    {
        int fd;
        do
        {
            fd = NativeOpenAt(directory, name, flags | OCloExec, 0);
        }
        while (fd < 0 && Errno == EIntr);
        return fd;
    }

    /// <summary>
    /// getdents64(2): the next linux_dirent64 records of an open directory into the buffer (d_ino u64,
    /// d_off s64, d_reclen u16, d_type u8, then the NUL-terminated name); bytes filled, 0 at the end, -1 on an error.
    /// Unlike .NET's enumeration it stats nothing: the names and their d_type are all a sysfs reader needs.
    /// </summary>
    public static unsafe int GetDents(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var read = NativeGetDents64(fd, p, buffer.Length);
                if (read >= 0 || Errno != EIntr)
                {
                    return (int)read;
                }
            }
        }
    }

    /// <summary>A unix datagram socket (socket(2), SOCK_CLOEXEC); the fd, or -1.</summary>
    public static int DatagramSocket() => NativeSocket(AfUnix, SockDgram | SockCloExec, 0);

    /// <summary>sendto(2) of one datagram to the unix socket at <paramref name="path"/>: bytes sent, or -1.</summary>
    public static unsafe int SendTo(int fd, ReadOnlySpan<byte> datagram, string path)
    {
        // struct sockaddr_un: sa_family_t, then a NUL-terminated path of at most 108 bytes (unix(7)).
        Span<byte> address = stackalloc byte[2 + 108];
        address.Clear();
        address[0] = AfUnix;
        var length = Encoding.UTF8.GetBytes(path, address[2..^1]);
        fixed (byte* data = datagram)
        fixed (byte* to = address)
        {
            while (true)
            {
                var sent = NativeSendTo(fd, data, datagram.Length, MsgNoSignal, to, 2 + length + 1);
                if (sent >= 0 || Errno != EIntr)
                {
                    return (int)sent;
                }
            }
        }
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

    /// <summary>
    /// A read-only private mapping of a whole file, its pages read in at once (MAP_POPULATE): a dictionary such as
    /// pci.ids is searched in place from the page cache, not copied into a fresh heap array. Null when the file is
    /// missing, empty, larger than 2 GiB or cannot be mapped.
    /// </summary>
    public static unsafe (nint Address, int Length)? MapReadOnly(string path)
    {
        var fd = Open(path, ORdOnly);
        if (fd < 0)
        {
            return null;
        }

        try
        {
            var size = NativeLSeek(fd, 0, SeekEnd);
            if (size is <= 0 or > int.MaxValue)
            {
                return null;
            }

            var address = NativeMmap(0, (nuint)size, ProtRead, MapPrivate | MapPopulate, fd, 0);
            return address == MapFailed ? null : (address, (int)size);
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>munmap(2) of a mapping from <see cref="MapReadOnly"/>.</summary>
    public static void Unmap(nint address, int length) => _ = NativeMunmap(address, (nuint)length);

    /// <summary>write(2) of the whole span (retrying EINTR and short writes): true when all of it was written.</summary>
    public static unsafe bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var written = NativeWrite(fd, p + done, data.Length - done);
                if (written < 0 && Errno == EIntr)
                {
                    continue;
                }

                if (written <= 0)
                {
                    return false;
                }

                done += (int)written;
            }
        }

        return true;
    }

    /// <summary>close(2); its result is of no use to a reader (the fd is gone either way, close(2) NOTES).</summary>
    public static void Close(int fd) => _ = NativeClose(fd);

    /// <summary>flock(2): 0, or -1 with <see cref="Errno"/> (EAGAIN when another holds it and LOCK_NB was given).</summary>
    public static int Flock(int fd, int operation) => NativeFlock(fd, operation);

    /// <summary>access(2) with F_OK: whether the path exists (a dangling symlink does not).</summary>
    public static bool Exists(string path) => NativeAccess(path, FOk) == 0;

    /// <summary>access(2) with F_OK relative to an open directory (faccessat(2)): whether the name exists, following a symlink.</summary>
    public static bool ExistsAt(int directory, string name) => NativeFAccessAt(directory, name, FOk, 0) == 0;

    /// <summary>readlink(2): a symlink's target as stored, or null (not a link, missing, or longer than a page).</summary>
    public static string? ReadLink(string path) => ReadLinkAt(AtFdCwd, path);

    /// <summary>readlinkat(2): <see cref="ReadLink"/> of a name inside an open directory.</summary>
    public static unsafe string? ReadLinkAt(int directory, string name)
    {
        Span<byte> buffer = stackalloc byte[PageSize];
        nint length;
        fixed (byte* p = buffer)
        {
            length = NativeReadLinkAt(directory, name, p, buffer.Length);
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

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpenAt(int directory, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    private static unsafe partial nint NativeGetDents64(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "faccessat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeFAccessAt(int directory, string path, int mode, int flags);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int NativeSocket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static unsafe partial nint NativeSendTo(int fd, byte* buffer, nint length, int flags, byte* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint NativeRead(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint NativeWrite(int fd, byte* buffer, nint count);

    private const int SeekEnd = 2;
    private const int ProtRead = 1;
    private const int MapPrivate = 2;
    private const int MapPopulate = 0x8000;
    private static readonly nint MapFailed = -1;

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long NativeLSeek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint NativeMmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int NativeMunmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int NativeClose(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int NativeFlock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeAccess(string path, int mode);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint NativeReadLinkAt(int directory, string path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "getxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint NativeGetXattr(string path, string name, byte* value, nint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint NativeLGetXattr(string path, string name, byte* value, nint size);
}
