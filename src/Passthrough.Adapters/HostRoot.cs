using Passthrough.Errors;

namespace Passthrough.Adapters;

/// <summary>
/// The directory treated as "/" for every host path (/sys, /proc, /dev/kmsg, /etc, /boot, /run).
/// Every adapter takes one, so tests, fixtures and users' captured snapshots run like a live host.
/// </summary>
public sealed class HostRoot
{
    public HostRoot(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Directory = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The live system.</summary>
    public static HostRoot Live { get; } = new("/");

    /// <summary>Absolute path of the root directory.</summary>
    public string Directory { get; }

    public bool IsLiveSystem => Directory == "/";

    /// <summary>Maps an absolute host path ("/sys/bus/pci") into this root.</summary>
    public string Path(string hostPath)
    {
        if (!hostPath.StartsWith('/'))
        {
            throw new ArgumentException($"host paths are absolute: {hostPath}", nameof(hostPath));
        }

        return IsLiveSystem ? hostPath : System.IO.Path.Join(Directory, hostPath);
    }

    /// <summary>Opens a root given on the command line, with a clear error when it does not exist.</summary>
    public static HostRoot Open(string path)
    {
        if (!System.IO.Directory.Exists(path))
        {
            throw PassthroughException.Input(
                $"--root {path}: no such directory.",
                "Give a directory laid out like / (with sys/ and proc/), such as one made by `passthrough capture expand`.");
        }

        return new HostRoot(path);
    }

    public override string ToString() => Directory;
}
