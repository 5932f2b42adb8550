using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Passthrough.Adapters.Native;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// A directory opened once and listed once (getdents64, no stat of any entry) for a burst of reads of
/// its files through <see cref="SysfsFiles"/>: while it is the thread's current one, a file of it is
/// opened relative to its descriptor (one path component for the kernel to look up, not the whole path
/// through the device's symlink), and a file it does not list is missing without a system call.
/// </summary>
/// <remarks>
/// A PCI function's directory has about forty entries; a reader asks for a dozen files, several of them
/// optional (boot_vga, sriov_*, rom, reset_method on older kernels). Before, each missing one was a
/// failed open and each file a full path walk. The listing is a snapshot: use it for one burst of reads
/// (one function), never across a change such as a bind, and dispose it on the thread that made it.
/// </remarks>
internal sealed class ListedDirectory : IDisposable
{
    private const byte TypeUnknown = 0;
    private const byte TypeDirectory = 4;
    private const byte TypeRegular = 8;
    private const byte TypeLink = 10;
    private const byte Missing = 0xff;

    /// <summary>Offsets in a linux_dirent64 record (include/linux/dirent.h).</summary>
    private const int RecordLengthOffset = 16;
    private const int TypeOffset = 18;
    private const int NameOffset = 19;

    [ThreadStatic]
    private static ListedDirectory? t_current;

    private readonly ListedDirectory? _outer;
    private readonly byte[] _records;
    private readonly int _length;
    private int _fd;

    private ListedDirectory(string path, int fd, byte[] records, int length)
    {
        Path = path;
        _fd = fd;
        _records = records;
        _length = length;
        _outer = t_current;
        t_current = this;
    }

    /// <summary>The directory whose reads this thread is in the middle of, if any.</summary>
    public static ListedDirectory? Current => t_current;

    public string Path { get; }

    public int Fd => _fd;

    /// <summary>Opens and lists <paramref name="path"/> and makes it the thread's current directory; null when it cannot be read.</summary>
    public static ListedDirectory? Open(string path)
    {
        var fd = LibC.Open(path, LibC.ORdOnly | LibC.ODirectory);
        if (fd < 0)
        {
            return null;
        }

        var records = ReadRecords(fd, out var length);
        if (records is null)
        {
            LibC.Close(fd);
            return null;
        }

        return new ListedDirectory(path, fd, records, length);
    }

    /// <summary>
    /// Every linux_dirent64 record of an open directory in a buffer from <see cref="ArrayPool{T}.Shared"/>
    /// (the caller returns it), or null when reading it fails. Pooled: a reader lists hundreds of
    /// directories, and a fresh zeroed buffer for each was a sixth of `list --all`'s time.
    /// </summary>
    public static byte[]? ReadRecords(int fd, out int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        length = 0;
        while (true)
        {
            if (buffer.Length - length < 1024)
            {
                var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }

            var read = LibC.GetDents(fd, buffer.AsSpan(length));
            if (read < 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return null;
            }

            if (read == 0)
            {
                return buffer;
            }

            length += read;
        }
    }

    /// <summary>The names in a block of records, without "." and "..".</summary>
    public static List<string> Names(byte[] records, int length)
    {
        var names = new List<string>();
        for (var at = 0; at < length; at += BinaryPrimitives.ReadUInt16LittleEndian(records.AsSpan(at + RecordLengthOffset)))
        {
            var name = NameAt(records, at);
            if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
            {
                names.Add(Encoding.UTF8.GetString(name));
            }
        }

        return names;
    }

    /// <summary>The file name when <paramref name="path"/> is directly inside this directory.</summary>
    public bool Holds(string path, out string name)
    {
        if (path.Length > Path.Length + 1 && path[Path.Length] == '/' && path.StartsWith(Path, StringComparison.Ordinal) && path.IndexOf('/', Path.Length + 1) < 0)
        {
            name = path[(Path.Length + 1)..];
            return true;
        }

        name = string.Empty;
        return false;
    }

    /// <summary>Whether the listing has the name (any type).</summary>
    public bool Lists(string name) => TypeOf(name) != Missing;

    /// <summary>Whether the name exists, following a symlink (a dangling one does not), as access(2) says.</summary>
    public bool Exists(string name) => TypeOf(name) switch
    {
        Missing => false,
        TypeRegular or TypeDirectory => true,
        _ => LibC.ExistsAt(_fd, name),
    };

    /// <summary>Whether the name may be a symlink: listed as one, or of a type the file system did not say.</summary>
    public bool MayBeLink(string name) => TypeOf(name) is TypeLink or TypeUnknown;

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0)
        {
            return;
        }

        LibC.Close(fd);
        ArrayPool<byte>.Shared.Return(_records);
        if (t_current == this)
        {
            t_current = _outer;
        }
    }

    private static ReadOnlySpan<byte> NameAt(byte[] records, int at)
    {
        var name = records.AsSpan(at + NameOffset, BinaryPrimitives.ReadUInt16LittleEndian(records.AsSpan(at + RecordLengthOffset)) - NameOffset);
        var end = name.IndexOf((byte)0);
        return end < 0 ? name : name[..end];
    }

    private byte TypeOf(string name)
    {
        Span<byte> wanted = stackalloc byte[256];
        if (!Encoding.UTF8.TryGetBytes(name, wanted, out var count))
        {
            return TypeUnknown; // longer than any file name: let the system call answer
        }

        wanted = wanted[..count];
        for (var at = 0; at < _length; at += BinaryPrimitives.ReadUInt16LittleEndian(_records.AsSpan(at + RecordLengthOffset)))
        {
            if (NameAt(_records, at).SequenceEqual(wanted))
            {
                return _records[at + TypeOffset];
            }
        }

        return Missing;
    }
}
