using System.Text.RegularExpressions;
using Passthrough.Domain;
using Passthrough.Errors;

namespace Passthrough.Adapters.Devices;

/// <summary>
/// Host keyboards and mice under /dev/input/by-id (udev's persistent names, 60-persistent-input.rules),
/// and the check that a path given by the user is an event device.
/// </summary>
public sealed partial class InputDevices
{
    public const string ById = "/dev/input/by-id";

    private readonly HostRoot _root;

    public InputDevices(HostRoot root)
    {
        _root = root;
    }

    /// <summary>Every *-event-kbd and *-event-mouse under /dev/input/by-id, keyboards first, by name.</summary>
    public IReadOnlyList<EvdevDevice> Find()
    {
        var dir = _root.Path(ById);
        if (!Directory.Exists(dir))
        {
            return [];
        }

        var names = Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        return [.. names.Where(n => n.EndsWith("-event-kbd", StringComparison.Ordinal)).Concat(names.Where(n => n.EndsWith("-event-mouse", StringComparison.Ordinal)))
            .Select(n => EvdevDevice.FromPath(ById + "/" + n))];
    }

    /// <summary>
    /// The device at a host path, when it is an event device: under /dev/input, resolving (through
    /// by-id/by-path symlinks) to /dev/input/eventN, which the kernel lists in /sys/class/input.
    /// Under --root the fixture's files stand in for both. Anything else is bad input.
    /// </summary>
    public EvdevDevice Check(string hostPath)
    {
        if (!hostPath.StartsWith("/dev/input/", StringComparison.Ordinal))
        {
            throw NotEvent(hostPath, "it is not under /dev/input");
        }

        var path = _root.Path(hostPath);
        var info = new FileInfo(path);
        if (!info.Exists && info.LinkTarget is null)
        {
            throw NotEvent(hostPath, "no such device");
        }

        FileSystemInfo target = info;
        try
        {
            target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
        }
        catch (IOException)
        {
            throw NotEvent(hostPath, "its symlink does not resolve");
        }

        var resolved = target.FullName;
        var inputDir = Path.TrimEndingDirectorySeparator(_root.Path("/dev/input"));
        if (!target.Exists || Path.GetDirectoryName(resolved) != inputDir || !EventName().IsMatch(Path.GetFileName(resolved)))
        {
            throw NotEvent(hostPath, $"it leads to {HostPathOf(resolved)}, not /dev/input/eventN");
        }

        // The node's kernel side: every evdev node has /sys/class/input/eventN (a stray regular file does not).
        var name = Path.GetFileName(resolved);
        if (!Directory.Exists(_root.Path("/sys/class/input/" + name)))
        {
            throw NotEvent(hostPath, $"the kernel has no input device {name} (/sys/class/input/{name})");
        }

        return EvdevDevice.FromPath(hostPath);
    }

    private string HostPathOf(string path)
    {
        if (_root.IsLiveSystem)
        {
            return path;
        }

        var prefix = Path.TrimEndingDirectorySeparator(_root.Directory);
        return path.StartsWith(prefix + "/", StringComparison.Ordinal) ? path[prefix.Length..] : path;
    }

    private static PassthroughException NotEvent(string path, string why) =>
        PassthroughException.Input(
            $"--evdev {path}: not an input event device ({why}).",
            $"Give a keyboard or mouse as /dev/input/by-id/...-event-kbd or ...-event-mouse (`ls -l {ById}`), or --evdev auto.");

    [GeneratedRegex(@"^event\d+$")]
    private static partial Regex EventName();
}
