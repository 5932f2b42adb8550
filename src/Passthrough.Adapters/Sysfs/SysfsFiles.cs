using System.Buffers;
using System.Globalization;
using System.Text;
using Passthrough.Adapters.Native;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// Reads small sysfs/procfs files the tolerant way: a missing or unreadable file is null, never an
/// exception (the kernel hides files from unprivileged readers and older kernels lack some).
/// </summary>
/// <remarks>
/// `list` reads about 15 files for each of hundreds of functions, so this goes straight to
/// open/read/close/readlink (<see cref="LibC"/>): no FileStream, no exception for the many files a function lacks
/// (sriov_*, boot_vga, rom), and no extra stat before each open. That took a 256-function host
/// from about 19,000 system calls per read to about 9,000. A reader of many files in one directory
/// lists it first (<see cref="ListDirectory"/>): then the files it lacks cost nothing and the others
/// are opened relative to the directory (about 4,500 calls).
/// </remarks>
internal static class SysfsFiles
{
    /// <summary>One sysfs attribute is at most a page (Documentation/filesystems/sysfs.rst).</summary>
    private const int AttributeSize = 4096;

    /// <summary>
    /// Makes <paramref name="directory"/> the thread's listed directory until the result is disposed:
    /// reads of its files go through one descriptor and its listing (<see cref="ListedDirectory"/>).
    /// Null (nothing changes) when it cannot be listed. Only for a burst of reads, on one thread.
    /// </summary>
    public static IDisposable? ListDirectory(string directory) => ListedDirectory.Open(directory);

    /// <summary>A whole file (procfs files may be longer than a page and arrive in several reads).</summary>
    public static string? ReadText(string path)
    {
        if (ListedDirectory.Current is { } listed && listed.Holds(path, out var name))
        {
            // A sysfs attribute arrives whole on the first read (see ReadAttribute), so a listed
            // directory's file shorter than a page needs no second read and no heap buffer.
            Span<byte> attribute = stackalloc byte[AttributeSize];
            var read = ReadAttribute(path, attribute);
            if (read < 0)
            {
                return null;
            }

            if (read < attribute.Length)
            {
                return Encoding.UTF8.GetString(attribute[..read]);
            }
        }

        var buffer = ReadUpTo(path, AttributeSize, int.MaxValue, out var length);
        return buffer is null ? null : Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>A one-value attribute, trimmed ("amdgpu", "1", "flr bus").</summary>
    public static string? ReadLine(string path)
    {
        Span<byte> buffer = stackalloc byte[AttributeSize];
        var length = ReadAttribute(path, buffer);
        if (length == buffer.Length)
        {
            return ReadText(path)?.Trim(); // longer than a page: not an attribute, read it whole
        }

        return length < 0 ? null : Encoding.UTF8.GetString(buffer[..length].Trim(" \t\r\n\0"u8));
    }

    /// <summary>"0x1002" style hex files (vendor, device, class, revision).</summary>
    public static int? ReadHex(string path)
    {
        Span<byte> buffer = stackalloc byte[64];
        var length = ReadAttribute(path, buffer);
        if (length is < 0 or 64)
        {
            return null;
        }

        var text = buffer[..length].Trim(" \t\r\n\0"u8);
        if (text.Length > 2 && text[0] == '0' && (text[1] | 0x20) == 'x')
        {
            text = text[2..];
        }

        return int.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    public static int? ReadInt(string path)
    {
        Span<byte> buffer = stackalloc byte[64];
        var length = ReadAttribute(path, buffer);
        return length is >= 0 and < 64 && int.TryParse(buffer[..length].Trim(" \t\r\n\0"u8), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;
    }

    /// <summary>Up to <paramref name="max"/> bytes of a binary attribute (config, rom).</summary>
    public static byte[]? ReadBytes(string path, int max)
    {
        var buffer = ReadUpTo(path, max, max, out var length);
        return buffer is null ? null : length == buffer.Length ? buffer : buffer[..length];
    }

    /// <summary>
    /// Reads up to the buffer's length (a binary attribute such as `config`) into a caller's buffer: the length read,
    /// or -1 when the file is missing or a read fails. `list` reads every function's config space, and a fresh
    /// 4 KiB array for each was most of what it allocated.
    /// </summary>
    public static int ReadInto(string path, Span<byte> buffer)
    {
        var fd = OpenForReading(path);
        if (fd < 0)
        {
            return -1;
        }

        try
        {
            return Fill(fd, buffer);
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    /// <summary>Whether the path exists (any type; a dangling symlink does not).</summary>
    public static bool Exists(string path) =>
        ListedDirectory.Current is { } listed && listed.Holds(path, out var name) ? listed.Exists(name) : LibC.Exists(path);

    /// <summary>A symlink's target as stored ("/dev/dri/card0", "../../../bus/pci/drivers/amdgpu"), or null.</summary>
    public static string? LinkTarget(string path)
    {
        if (ListedDirectory.Current is { } listed && listed.Holds(path, out var name))
        {
            return listed.MayBeLink(name) ? LibC.ReadLinkAt(listed.Fd, name) : null;
        }

        return LibC.ReadLink(path);
    }

    /// <summary>The last path component of a symlink's target ("driver" -> "amdgpu"), or null.</summary>
    public static string? LinkTargetName(string path)
    {
        var target = LinkTarget(path);
        return target is null ? null : Path.GetFileName(target.TrimEnd('/'));
    }

    /// <summary>Resolves a relative symlink lexically, staying inside the tree it was found in.</summary>
    public static string? ResolveLink(string path)
    {
        var target = LinkTarget(path);
        if (target is null)
        {
            return null;
        }

        return Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(path)!, target));
    }

    /// <summary>The paths in a directory, empty when it is missing or unreadable.</summary>
    public static IEnumerable<string> Entries(string directory)
    {
        var names = Names(directory);
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = Path.Join(directory, names[i]);
        }

        return names;
    }

    /// <summary>
    /// The names in a directory (not paths), in the order the file system lists them, empty when it is
    /// missing or unreadable. getdents64 alone: .NET's enumeration also stats every symlink entry
    /// (every entry of bus/pci/devices and iommu_groups/N/devices is one), which no caller needs.
    /// </summary>
    public static string[] Names(string directory)
    {
        if (ListedDirectory.Current is { } listed && listed.Holds(directory, out var name) && !listed.Lists(name))
        {
            return [];
        }

        var fd = LibC.Open(directory, LibC.ORdOnly | LibC.ODirectory);
        if (fd < 0)
        {
            return [];
        }

        try
        {
            var records = ListedDirectory.ReadRecords(fd, out var length);
            if (records is null)
            {
                return [];
            }

            string[] names = [.. ListedDirectory.Names(records, length)];
            ArrayPool<byte>.Shared.Return(records);
            return names;
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    /// <summary>
    /// Reads an attribute with one read(2): sysfs hands over the whole value on the first read
    /// (Documentation/filesystems/sysfs.rst), and so does a regular file in a captured tree.
    /// Returns the length (the buffer's length: maybe more follows), or -1 when the file is
    /// missing or unreadable.
    /// </summary>
    private static int ReadAttribute(string path, Span<byte> buffer)
    {
        var fd = OpenForReading(path);
        if (fd < 0)
        {
            return -1;
        }

        try
        {
            return LibC.Read(fd, buffer);
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    /// <summary>Reads until the end of the file or <paramref name="max"/> bytes, growing the buffer from
    /// <paramref name="initial"/>; null when the file is missing or a read fails.</summary>
    private static byte[]? ReadUpTo(string path, int initial, int max, out int length)
    {
        length = 0;
        var fd = OpenForReading(path);
        if (fd < 0)
        {
            return null;
        }

        var buffer = new byte[Math.Min(initial, max)];
        try
        {
            while (true)
            {
                var read = Fill(fd, buffer.AsSpan(length));
                if (read < 0)
                {
                    length = 0;
                    return null;
                }

                length += read;
                if (length < buffer.Length || length == max)
                {
                    return buffer; // the end of the file, or as much as the caller takes
                }

                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, max));
            }
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    /// <summary>read(2) until the span is full or the file ends: the bytes read, or -1 when a read fails.</summary>
    private static int Fill(int fd, Span<byte> buffer)
    {
        var length = 0;
        while (length < buffer.Length)
        {
            var read = LibC.Read(fd, buffer[length..]);
            if (read < 0)
            {
                return -1;
            }

            if (read == 0)
            {
                break;
            }

            length += read;
        }

        return length;
    }

    /// <summary>open(2) for reading; inside the listed directory relative to it, and -1 at once for a file it does not list.</summary>
    private static int OpenForReading(string path)
    {
        if (ListedDirectory.Current is { } listed && listed.Holds(path, out var name))
        {
            return listed.Lists(name) ? LibC.OpenAt(listed.Fd, name, LibC.ORdOnly) : -1;
        }

        return LibC.Open(path, LibC.ORdOnly);
    }
}
