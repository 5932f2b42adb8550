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
/// from about 19,000 system calls per read to about 9,000.
/// </remarks>
internal static class SysfsFiles
{
    /// <summary>One sysfs attribute is at most a page (Documentation/filesystems/sysfs.rst).</summary>
    private const int AttributeSize = 4096;

    /// <summary>A whole file (procfs files may be longer than a page and arrive in several reads).</summary>
    public static string? ReadText(string path)
    {
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

    /// <summary>Whether the path exists (any type; a dangling symlink does not).</summary>
    public static bool Exists(string path) => LibC.Exists(path);

    /// <summary>A symlink's target as stored ("/dev/dri/card0", "../../../bus/pci/drivers/amdgpu"), or null.</summary>
    public static string? LinkTarget(string path) => LibC.ReadLink(path);

    /// <summary>The last path component of a symlink's target ("driver" -> "amdgpu"), or null.</summary>
    public static string? LinkTargetName(string path)
    {
        var target = LibC.ReadLink(path);
        return target is null ? null : Path.GetFileName(target.TrimEnd('/'));
    }

    /// <summary>Resolves a relative symlink lexically, staying inside the tree it was found in.</summary>
    public static string? ResolveLink(string path)
    {
        var target = LibC.ReadLink(path);
        if (target is null)
        {
            return null;
        }

        return Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(path)!, target));
    }

    public static IEnumerable<string> Entries(string directory)
    {
        try
        {
            return Directory.Exists(directory) ? Directory.GetFileSystemEntries(directory) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>The names in a directory (not paths), empty when it is missing or unreadable.</summary>
    public static string[] Names(string directory)
    {
        try
        {
            if (!Directory.Exists(directory))
            {
                return [];
            }

            var entries = Directory.GetFileSystemEntries(directory);
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = Path.GetFileName(entries[i]);
            }

            return entries;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
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
        var fd = LibC.Open(path, LibC.ORdOnly);
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
        var fd = LibC.Open(path, LibC.ORdOnly);
        if (fd < 0)
        {
            return null;
        }

        var buffer = new byte[Math.Min(initial, max)];
        try
        {
            while (length < max)
            {
                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, max));
                }

                var read = LibC.Read(fd, buffer.AsSpan(length));
                if (read < 0)
                {
                    length = 0;
                    return null;
                }

                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }
        finally
        {
            LibC.Close(fd);
        }

        return buffer;
    }
}
