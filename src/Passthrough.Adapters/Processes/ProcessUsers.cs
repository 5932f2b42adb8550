using System.Globalization;
using Passthrough.Adapters.Sysfs;

namespace Passthrough.Adapters.Processes;

/// <summary>
/// The user a process runs as: the real uid of ROOT/proc/PID/status ("Uid:" real, effective, saved,
/// filesystem; proc(5)) named by ROOT/etc/passwd (passwd(5)); the number when no name is known.
/// </summary>
public sealed class ProcessUsers
{
    private readonly HostRoot _root;
    private Dictionary<string, string>? _names;

    public ProcessUsers(HostRoot root)
    {
        _root = root;
    }

    /// <summary>The user name (or uid) of the process; null when its status is gone or unreadable.</summary>
    public string? Of(int pid)
    {
        var status = SysfsFiles.ReadText(_root.Path($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"));
        var uidLine = status?.Split('\n').FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        var uid = uidLine?["Uid:".Length..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (uid is null)
        {
            return null;
        }

        _names ??= ReadPasswd();
        return _names.TryGetValue(uid, out var name) ? name : uid;
    }

    private Dictionary<string, string> ReadPasswd()
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in (SysfsFiles.ReadText(_root.Path("/etc/passwd")) ?? string.Empty).Split('\n'))
        {
            var fields = line.Split(':');
            if (fields.Length >= 3 && fields[0].Length > 0)
            {
                names.TryAdd(fields[2], fields[0]);
            }
        }

        return names;
    }
}
