using Passthrough.Errors;

namespace Passthrough.Adapters.Files;

/// <summary>
/// Writes files so a crash never leaves half a file: write a temporary file beside the target,
/// fsync it, keep a backup of what is replaced, then rename over the target (rename is atomic
/// within a filesystem, POSIX rename(2)).
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>; when <paramref name="backupPath"/>
    /// is given and the target exists, the old content is copied there first.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content, string? backupPath = null, UnixFileMode? mode = null)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        var temp = Path.Join(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(directory);
            if (backupPath is not null && File.Exists(full))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(backupPath))!);
                File.Copy(full, backupPath, overwrite: true);
            }

            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            var newMode = mode ?? (File.Exists(full) ? File.GetUnixFileMode(full) : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.SetUnixFileMode(temp, newMode);
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw PassthroughException.Host(
                $"Could not write {full}: {e.Message}",
                e is UnauthorizedAccessException ? "Run it as root (sudo), or choose a path you can write." : "Check free space and that the directory exists.",
                e);
        }
    }

    public static void WriteText(string path, string content, string? backupPath = null, UnixFileMode? mode = null) =>
        Write(path, System.Text.Encoding.UTF8.GetBytes(content), backupPath, mode);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing more to do: the temporary file has a unique name and is hidden.
        }
    }
}
