namespace Passthrough.Capture;

/// <summary>
/// One entry of a host capture: a path relative to the root (no leading "/", no ".."), and what
/// is there. The capture text format writes one entry per directive (see <see cref="HostCapture"/>).
/// </summary>
public abstract record CaptureEntry(string Path);

/// <summary>A directory (only needed when nothing else lives in it).</summary>
public sealed record CaptureDirectory(string Path) : CaptureEntry(Path);

/// <summary>A regular file with its exact bytes.</summary>
public sealed record CaptureFile(string Path, byte[] Content) : CaptureEntry(Path)
{
    public static CaptureFile Text(string path, string text) => new(path, System.Text.Encoding.UTF8.GetBytes(text));

    public bool Equals(CaptureFile? other) =>
        other is not null && Path == other.Path && Content.AsSpan().SequenceEqual(other.Content);

    public override int GetHashCode() => HashCode.Combine(Path, Content.Length);
}

/// <summary>A symbolic link; the target is kept as written (usually relative, as the kernel's are).</summary>
public sealed record CaptureLink(string Path, string Target) : CaptureEntry(Path);
