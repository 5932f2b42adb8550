using System.Globalization;
using Passthrough.Adapters.Sysfs;

namespace Passthrough.Adapters.Processes;

/// <summary>A process that has a device node open.</summary>
public sealed record OpenDeviceNode(int Pid, string Command, string Node);

/// <summary>
/// Which processes hold which device nodes open, from the ROOT/proc/PID/fd/N links (proc(5): each
/// is a symbolic link to the opened file) and ROOT/proc/PID/comm. Other users' fd directories are
/// unreadable without root; those processes are skipped, so callers that need the whole picture
/// check that themselves.
/// </summary>
public sealed class DeviceNodeHolders
{
    private readonly HostRoot _root;

    public DeviceNodeHolders(HostRoot root)
    {
        _root = root;
    }

    /// <summary>False when the root has no /proc at all (a capture without processes).</summary>
    public bool HasProc => Directory.Exists(_root.Path("/proc"));

    /// <summary>
    /// Every (process, node) with <paramref name="wanted"/>(node), by pid and then fd number; with
    /// <paramref name="firstPerProcess"/> only each process's lowest fd. On the live system this
    /// process is left out: it is the one asking.
    /// </summary>
    public IReadOnlyList<OpenDeviceNode> Find(Func<string, bool> wanted, bool firstPerProcess = false)
    {
        var self = Environment.ProcessId;
        var found = new List<OpenDeviceNode>();
        foreach (var dir in SysfsFiles.Entries(_root.Path("/proc")))
        {
            if (Pid(dir) is not int pid || (_root.IsLiveSystem && pid == self))
            {
                continue;
            }

            List<(int Fd, string Node)>? matches = null;
            foreach (var fd in SysfsFiles.Entries(Path.Join(dir, "fd")))
            {
                if (LinkTarget(fd) is { } node && wanted(node))
                {
                    (matches ??= []).Add((Number(fd) ?? int.MaxValue, node));
                }
            }

            if (matches is null)
            {
                continue;
            }

            // comm is read only for the few processes that matched: the hook runs this on every VM start.
            var command = SysfsFiles.ReadLine(Path.Join(dir, "comm")) ?? "?";
            var nodes = matches.OrderBy(m => m.Fd).Select(m => m.Node).Distinct(StringComparer.Ordinal);
            found.AddRange((firstPerProcess ? nodes.Take(1) : nodes).Select(n => new OpenDeviceNode(pid, command, n)));
        }

        return [.. found.OrderBy(h => h.Pid)];
    }

    /// <summary>The command name (comm) of every process under /proc.</summary>
    public IReadOnlySet<string> Commands()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in SysfsFiles.Entries(_root.Path("/proc")))
        {
            if (Pid(dir) is not null && SysfsFiles.ReadLine(Path.Join(dir, "comm")) is { } comm)
            {
                names.Add(comm);
            }
        }

        return names;
    }

    private static int? Pid(string dir) => Number(dir);

    private static int? Number(string path) =>
        int.TryParse(Path.GetFileName(path), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>One readlink(2) per fd (thousands on a desktop); null when the process exited or
    /// closed the fd while we looked.</summary>
    private static string? LinkTarget(string fd) => SysfsFiles.LinkTarget(fd);
}
