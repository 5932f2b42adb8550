using Passthrough.Boot;

namespace Passthrough.Adapters.Setup;

/// <summary>
/// Reads the <see cref="BootFiles"/> snapshot under a <see cref="HostRoot"/>: the well-known files'
/// text, the files in the well-known directories, and which marker paths exist. A file that cannot
/// be read (missing, permission) is simply absent from the snapshot.
/// </summary>
public sealed class BootFilesReader
{
    /// <summary>Larger files are not boot configuration; skipping them keeps a stray image out of memory.</summary>
    private const long MaxFileBytes = 1 << 20;

    private readonly HostRoot _root;

    public BootFilesReader(HostRoot root)
    {
        _root = root;
    }

    public BootFiles Read(IEnumerable<string>? extraFiles = null)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in BootFiles.WellKnownFiles.Concat(extraFiles ?? []))
        {
            TryRead(path, files);
        }

        foreach (var directory in BootFiles.WellKnownDirectories)
        {
            var dir = _root.Path(directory);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            try
            {
                foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
                {
                    TryRead(directory + "/" + Path.GetFileName(file), files);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // An unreadable directory contributes nothing; detection says what it did find.
            }
        }

        var present = BootFiles.WellKnownMarkers.Where(p => File.Exists(_root.Path(p)) || Directory.Exists(_root.Path(p))).ToList();
        foreach (var directory in BootFiles.WellKnownListings)
        {
            present.AddRange(List(directory));
        }

        return new BootFiles(files, present);
    }

    /// <summary>The names directly inside a directory, as host paths; nothing when it is missing or unreadable.</summary>
    private IEnumerable<string> List(string directory)
    {
        var dir = _root.Path(directory);
        try
        {
            return Directory.Exists(dir)
                ? [.. Directory.EnumerateFileSystemEntries(dir).Select(e => directory + "/" + Path.GetFileName(e)).Order(StringComparer.Ordinal)]
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private void TryRead(string hostPath, Dictionary<string, string> into)
    {
        var path = _root.Path(hostPath);
        try
        {
            var info = new FileInfo(path);
            // procfs files report length 0, so they pass the size check and are read whole.
            if (info.Exists && info.Length <= MaxFileBytes)
            {
                into[hostPath] = File.ReadAllText(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Absent from the snapshot: unknown.
        }
    }
}
