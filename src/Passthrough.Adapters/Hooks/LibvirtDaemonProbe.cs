using System.Globalization;
using Passthrough.Adapters.Native;

namespace Passthrough.Adapters.Hooks;

/// <summary>A running libvirt daemon process.</summary>
public sealed record DaemonProcess(string Name, int Pid, DateTime StartedUtc);

/// <summary>The SELinux label of a path, and whether libvirt may run hooks from it.</summary>
public sealed record SelinuxLabel(string Path, string? Context, bool LooksRight)
{
    /// <summary>The type field (third) of user:role:type:level.</summary>
    public string? Type => Context?.Split(':') is { Length: >= 3 } parts ? parts[2] : null;
}

/// <summary>
/// Which libvirt daemon runs QEMU domains and therefore reads the hook directory (at start-up only,
/// libvirt's virHookInitialize): virtqemud with the modular daemons (Fedora >= 35 default), libvirtd
/// otherwise. Also when it started, from /proc, and the SELinux labels that let it run our hook.
/// </summary>
public sealed class LibvirtDaemonProbe
{
    private static readonly string[] UnitDirectories = ["/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"];

    private readonly HostRoot _root;

    public LibvirtDaemonProbe(HostRoot root)
    {
        _root = root;
    }

    /// <summary>The daemon that must be restarted to notice new hooks: "virtqemud" or "libvirtd".</summary>
    public string Daemon()
    {
        var running = RunningDaemons();
        if (running.Any(d => d.Name == "virtqemud"))
        {
            return "virtqemud";
        }

        if (running.Any(d => d.Name == "libvirtd"))
        {
            return "libvirtd";
        }

        if (IsEnabled("virtqemud.socket") || IsEnabled("virtqemud.service"))
        {
            return "virtqemud";
        }

        if (IsEnabled("libvirtd.socket") || IsEnabled("libvirtd.service"))
        {
            return "libvirtd";
        }

        return HasUnitFile("virtqemud.service") && !HasUnitFile("libvirtd.service") ? "virtqemud" : "libvirtd";
    }

    /// <summary>How to restart it on this host.</summary>
    public string RestartCommand(string daemon) =>
        Directory.Exists(_root.Path("/run/systemd/system"))
            ? $"systemctl restart {daemon}"
            : $"restart {daemon} (stop it, then run `{daemon} -d`)";

    /// <summary>libvirtd and virtqemud processes with their start times (/proc/PID/stat field 22, proc(5)).</summary>
    public IReadOnlyList<DaemonProcess> RunningDaemons()
    {
        var proc = _root.Path("/proc");
        var boot = BootTimeUtc();
        var found = new List<DaemonProcess>();
        if (boot is null || !Directory.Exists(proc))
        {
            return found;
        }

        foreach (var directory in Directory.EnumerateDirectories(proc))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var comm = File.ReadAllText(Path.Join(directory, "comm")).Trim();
                if (comm is not ("libvirtd" or "virtqemud"))
                {
                    continue;
                }

                var stat = File.ReadAllText(Path.Join(directory, "stat"));

                // Fields after the command name "(...)", which may itself hold spaces and parentheses.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ticks = ulong.Parse(fields[19], CultureInfo.InvariantCulture); // field 22: starttime in clock ticks
                found.Add(new DaemonProcess(comm, pid, boot.Value.AddSeconds(ticks / (double)ClockTicksPerSecond)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The process ended while we read it, or is not ours to read.
            }
        }

        return found;
    }

    /// <summary>SELinux is on: selinuxfs mounted with an enforce file.</summary>
    public bool SelinuxEnabled => File.Exists(_root.Path("/sys/fs/selinux/enforce"));

    /// <summary>
    /// What <see cref="Passthrough.Diagnostics.SelinuxHookChecks"/> needs: selinuxfs's enforce file, the
    /// virt_hooks_unconfined boolean ("current pending", e.g. "0 0") and the labels of the hook files present.
    /// </summary>
    public (bool? Enforcing, bool? Unconfined, IReadOnlyList<Passthrough.Diagnostics.HookFile> Hooks) SelinuxFacts()
    {
        var enforce = Passthrough.Adapters.Sysfs.SysfsFiles.ReadLine(_root.Path("/sys/fs/selinux/enforce"));
        var flag = Passthrough.Adapters.Sysfs.SysfsFiles.ReadLine(_root.Path("/sys/fs/selinux/booleans/" + Passthrough.Diagnostics.SelinuxHookChecks.UnconfinedBoolean));
        var hooks = new[] { HookInstaller.LegacyQemuHook, HookInstaller.HookPath }
            .Where(p => File.Exists(_root.Path(p)))
            .Select(p => new Passthrough.Diagnostics.HookFile(p, (File.GetUnixFileMode(_root.Path(p)) & UnixFileMode.UserExecute) != 0, LibC.ReadXattr(_root.Path(p), "security.selinux", followSymlink: true)))
            .ToList();
        return (enforce is null ? null : enforce == "1", flag is null ? null : flag.StartsWith('1'), hooks);
    }

    /// <summary>The security.selinux extended attribute of a host path (what `ls -Z` shows).</summary>
    public SelinuxLabel LabelOf(string hostPath)
    {
        var path = _root.Path(hostPath);
        var context = LibC.ReadXattr(path, "security.selinux", followSymlink: true);

        // Fedora's policy labels the hooks as virt types (restorecon sets them); a hook copied from a
        // home directory keeps user_home_t/admin_home_t and libvirt is denied running it.
        var right = context is not null && context.Split(':') is { Length: >= 3 } parts && parts[2].Contains("virt", StringComparison.Ordinal);
        return new SelinuxLabel(hostPath, context, right);
    }

    // USER_HZ, the unit of /proc/PID/stat times, is 100 on every Linux architecture userspace sees.
    private static int ClockTicksPerSecond => 100;

    private DateTime? BootTimeUtc()
    {
        try
        {
            foreach (var line in File.ReadLines(_root.Path("/proc/stat")))
            {
                if (line.StartsWith("btime ", StringComparison.Ordinal))
                {
                    return DateTime.UnixEpoch.AddSeconds(long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }

        return null;
    }

    private bool IsEnabled(string unit) =>
        Directory.Exists(_root.Path("/etc/systemd/system"))
        && Directory.EnumerateDirectories(_root.Path("/etc/systemd/system"), "*.wants")
            .Any(d => File.Exists(Path.Join(d, unit)) || new FileInfo(Path.Join(d, unit)).LinkTarget is not null);

    private bool HasUnitFile(string unit) => UnitDirectories.Any(d => File.Exists(_root.Path(d + "/" + unit)));
}
