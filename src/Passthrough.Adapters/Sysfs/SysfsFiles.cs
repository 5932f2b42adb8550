using System.Globalization;

namespace Passthrough.Sysfs;

/// <summary>
/// Reads small sysfs/procfs files the tolerant way: a missing or unreadable file is null, never an
/// exception (the kernel hides files from unprivileged readers and older kernels lack some).
/// </summary>
internal static class SysfsFiles
{
    public static string? ReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string? ReadLine(string path) => ReadText(path)?.Trim();

    /// <summary>"0x1002" style hex files (vendor, device, class, revision).</summary>
    public static int? ReadHex(string path)
    {
        var text = ReadLine(path);
        if (text is null)
        {
            return null;
        }

        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            text = text[2..];
        }

        return int.TryParse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    public static int? ReadInt(string path) =>
        int.TryParse(ReadLine(path), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    public static byte[]? ReadBytes(string path, int max)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            var buffer = new byte[max];
            var total = 0;
            int read;
            while (total < max && (read = stream.Read(buffer, total, max - total)) > 0)
            {
                total += read;
            }

            return buffer[..total];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The last path component of a symlink's target ("driver" -> "amdgpu"), or null.</summary>
    public static string? LinkTargetName(string path)
    {
        try
        {
            var target = new FileInfo(path).LinkTarget;
            return target is null ? null : Path.GetFileName(target.TrimEnd('/'));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Resolves a relative symlink lexically, staying inside the tree it was found in.</summary>
    public static string? ResolveLink(string path)
    {
        try
        {
            var target = new FileInfo(path).LinkTarget;
            if (target is null)
            {
                return null;
            }

            return Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(path)!, target));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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
}
