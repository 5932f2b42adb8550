using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Passthrough.Adapters.Hooks;
using Passthrough.Testing;

namespace Passthrough.Tests.Hooks;

public class HooksVerbTests
{
    private const string Binary = "/opt/passthrough/passthrough";
    private const UnixFileMode Mode755 = (UnixFileMode)0b111_101_101;

    private TempDirectory _root = null!;

    private string Hook => _root.Combine("etc", "libvirt", "hooks", "qemu.d", "50-passthrough");

    [SetUp]
    public void MakeRoot()
    {
        _root = new TempDirectory("passthrough-hooks");
        Directory.CreateDirectory(_root.Combine("etc", "libvirt"));
        Directory.CreateDirectory(_root.Combine("opt", "passthrough"));
        File.WriteAllText(_root.Combine("opt", "passthrough", "passthrough"), "#!/bin/sh\n");
        File.SetUnixFileMode(_root.Combine("opt", "passthrough", "passthrough"), Mode755);
    }

    [TearDown]
    public void RemoveRoot() => _root.Dispose();

    [Test]
    public void I_can_install_the_hook_as_an_executable_regular_file_that_runs_passthrough_by_absolute_path()
    {
        var result = Install();

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        var info = new FileInfo(Hook);
        Assert.That(info.Exists && info.LinkTarget is null, Is.True, "a regular file, not a symlink");
        Assert.That(File.GetUnixFileMode(Hook), Is.EqualTo(Mode755));
        Assert.That(File.ReadAllText(Hook), Does.Contain("passthrough='/opt/passthrough/passthrough'").And.StartWith("#!/bin/sh"));
        Assert.That(result.Stdout, Does.Contain("Installed the libvirt hook").And.Contain("Restart libvirtd"));
    }

    [Test]
    public void I_am_told_to_restart_virtqemud_on_a_host_with_the_modular_daemons()
    {
        Directory.CreateDirectory(_root.Combine("etc", "systemd", "system", "sockets.target.wants"));
        File.CreateSymbolicLink(_root.Combine("etc", "systemd", "system", "sockets.target.wants", "virtqemud.socket"), "/usr/lib/systemd/system/virtqemud.socket");
        Directory.CreateDirectory(_root.Combine("run", "systemd", "system"));

        var result = Install();

        Assert.That(result.Stdout, Does.Contain("Restart virtqemud").And.Contain("systemctl restart virtqemud"));
    }

    [Test]
    public void I_keep_my_own_qemu_hook_and_other_scripts_untouched()
    {
        var qemu = _root.Combine("etc", "libvirt", "hooks", "qemu");
        var mine = _root.Combine("etc", "libvirt", "hooks", "qemu.d", "10-mine");
        Directory.CreateDirectory(Path.GetDirectoryName(mine)!);
        File.WriteAllText(qemu, "#!/bin/bash\necho legacy\n");
        File.WriteAllText(mine, "#!/bin/sh\necho mine\n");

        var result = Install();

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(File.ReadAllText(qemu), Is.EqualTo("#!/bin/bash\necho legacy\n"));
        Assert.That(File.ReadAllText(mine), Is.EqualTo("#!/bin/sh\necho mine\n"));
        Assert.That(result.Stdout, Does.Contain("/etc/libvirt/hooks/qemu exists and libvirt runs it too"));

        Assert.That(Uninstall().ExitCode, Is.Zero);
        Assert.That(File.ReadAllText(qemu), Is.EqualTo("#!/bin/bash\necho legacy\n"));
        Assert.That(File.ReadAllText(mine), Is.EqualTo("#!/bin/sh\necho mine\n"));
        Assert.That(File.Exists(Hook), Is.False);
    }

    [Test]
    public void I_get_back_exactly_the_script_that_was_at_that_name_after_uninstall()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Hook)!);
        File.WriteAllText(Hook, "#!/bin/sh\n# my own 50-passthrough\n");
        File.SetUnixFileMode(Hook, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var installed = Install();
        var reinstalled = Install();

        Assert.That(installed.Stdout, Does.Contain("kept in " + _root.Combine("var", "lib", "passthrough", "backups", "hooks", "50-passthrough")));
        Assert.That(reinstalled.Stdout, Does.Contain("installed already, the same"), "the same hook again changes nothing");
        Assert.That(HookScript.IsOurs(File.ReadAllText(Hook)), Is.True, "our hook is installed meanwhile");

        var removed = Uninstall();

        Assert.That(removed.Stdout, Does.Contain("restored the script that was there before"));
        Assert.That(File.ReadAllText(Hook), Is.EqualTo("#!/bin/sh\n# my own 50-passthrough\n"));
        Assert.That(File.GetUnixFileMode(Hook), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
    }

    [Test]
    public void I_get_back_a_symlink_that_was_at_that_name_and_the_hook_is_a_file_meanwhile()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Hook)!);
        File.CreateSymbolicLink(Hook, "/srv/hooks/vfio.sh");

        Install();

        Assert.That(new FileInfo(Hook).LinkTarget, Is.Null);

        Uninstall();

        Assert.That(new FileInfo(Hook).LinkTarget, Is.EqualTo("/srv/hooks/vfio.sh"));
    }

    [Test]
    public void I_get_the_directories_removed_again_when_the_install_created_them()
    {
        Install();
        Assert.That(Directory.Exists(_root.Combine("etc", "libvirt", "hooks", "qemu.d")), Is.True);

        var result = Uninstall();

        Assert.That(result.Stdout, Does.Contain("removed"));
        Assert.That(Directory.Exists(_root.Combine("etc", "libvirt", "hooks")), Is.False);
        Assert.That(Directory.Exists(_root.Combine("var", "lib", "passthrough", "backups", "hooks")) && Directory.EnumerateFileSystemEntries(_root.Combine("var", "lib", "passthrough", "backups", "hooks")).Any(), Is.False);
    }

    [Test]
    public void I_get_a_script_that_is_not_ours_left_alone_by_uninstall()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Hook)!);
        File.WriteAllText(Hook, "#!/bin/sh\necho mine\n");

        var result = Uninstall();

        Assert.That(result.Stdout, Does.Contain("left alone"));
        Assert.That(File.ReadAllText(Hook), Is.EqualTo("#!/bin/sh\necho mine\n"));
    }

    [Test]
    public void I_get_exit_1_from_status_when_the_hook_is_not_installed()
    {
        var result = Status();

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stdout, Does.Contain("Not installed").And.Contain("passthrough hooks install"));
    }

    [Test]
    public void I_can_see_the_hook_installed_and_that_libvirt_reads_it_when_it_starts()
    {
        Install();

        var result = Status();

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("Installed:").And.Contain("Executable: yes").And.Contain("Up to date: yes").And.Contain("libvirtd is not running"));
    }

    [Test]
    public void I_am_told_a_hook_installed_by_an_older_version_is_out_of_date_until_i_install_again()
    {
        // An older version's `hooks install`, whose script still started passthrough for start, started
        // and stopped (same format marker: status compares the whole installed text with what this version ships).
        Install();
        File.Copy(Path.Join(RepoPaths.Fixtures, "hooks", "50-passthrough.all-operations"), Hook, overwrite: true);
        File.SetUnixFileMode(Hook, Mode755);

        var before = Status();

        Assert.That(before.ExitCode, Is.EqualTo(1), before.ToString());
        Assert.That(before.Stdout, Does.Contain("Installed:").And.Contain("Up to date: NO").And.Contain("passthrough hooks install"));
        Assert.That(before.Stdout, Does.Contain($"Runs: {Binary}."));

        var install = Install();

        Assert.That(install.Stdout, Does.Contain("Updated the libvirt hook"));
        Assert.That(Status().Stdout, Does.Contain("Up to date: yes"));
    }

    [Test]
    public void I_am_told_the_daemon_has_not_noticed_a_hook_written_after_it_started()
    {
        Install();
        var started = FakeDaemon("libvirtd", 4242, DateTime.UtcNow.AddMinutes(-10));
        File.SetLastWriteTimeUtc(Hook, started.AddMinutes(5));

        var result = Status();

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stdout, Does.Contain("Noticed: NO, libvirtd (pid 4242)").And.Contain("restart libvirtd"));

        File.SetLastWriteTimeUtc(Hook, started.AddMinutes(-5));

        var after = Status();

        Assert.That(after.ExitCode, Is.Zero, after.ToString());
        Assert.That(after.Stdout, Does.Contain("Noticed: yes, libvirtd (pid 4242)"));
    }

    [Test]
    public void I_get_status_as_json_for_scripts()
    {
        Install();
        File.SetUnixFileMode(Hook, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var result = CliRun.Run("--root", _root.Path, "hooks", "status", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.That(json.RootElement.GetProperty("installed").GetBoolean(), Is.True);
        Assert.That(json.RootElement.GetProperty("executable").GetBoolean(), Is.False);
        Assert.That(json.RootElement.GetProperty("binary").GetString(), Is.EqualTo(Binary));
        Assert.That(json.RootElement.GetProperty("daemon").GetProperty("name").GetString(), Is.EqualTo("libvirtd"));
        Assert.That(json.RootElement.GetProperty("ok").GetBoolean(), Is.False);
    }

    [Test]
    public void I_get_an_input_error_for_a_relative_binary_path()
    {
        var result = CliRun.Run("--root", _root.Path, "hooks", "install", "--binary", "passthrough");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stderr, Does.Contain("absolute path"));
        Assert.That(File.Exists(Hook), Is.False);
    }

    private CliResult Install() => CliRun.Run("--root", _root.Path, "hooks", "install", "--binary", Binary);

    private CliResult Uninstall() => CliRun.Run("--root", _root.Path, "hooks", "uninstall");

    private CliResult Status() => CliRun.Run("--root", _root.Path, "hooks", "status");

    /// <summary>/proc entries for a daemon process started at <paramref name="startedUtc"/>; returns the start time as /proc can express it.</summary>
    [Test]
    public void I_am_told_the_daemon_noticed_a_hook_written_in_the_second_it_was_restarted()
    {
        // /proc/stat's btime is whole seconds: a restart right after the install can look up to a
        // second older than the hook (seen in the lab). That restart did read the hook.
        Install();
        var started = FakeDaemon("libvirtd", 4243, DateTime.UtcNow.AddMinutes(-1));
        File.SetLastWriteTimeUtc(Hook, started.AddSeconds(0.7));

        var result = Status();

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("Noticed: yes, libvirtd (pid 4243)"));
    }

    private DateTime FakeDaemon(string name, int pid, DateTime startedUtc)
    {
        var boot = DateTime.UtcNow.AddHours(-1);
        var bootSeconds = (long)(boot - DateTime.UnixEpoch).TotalSeconds;
        Directory.CreateDirectory(_root.Combine("proc", pid.ToString(CultureInfo.InvariantCulture)));
        File.WriteAllText(_root.Combine("proc", "stat"), $"cpu  1 2 3 4\nbtime {bootSeconds}\nprocesses 100\n");
        var ticks = (long)((startedUtc - DateTime.UnixEpoch.AddSeconds(bootSeconds)).TotalSeconds * 100);
        var fields = string.Join(' ', Enumerable.Range(3, 50).Select(i => i == 22 ? ticks.ToString(CultureInfo.InvariantCulture) : "0"));
        File.WriteAllText(_root.Combine("proc", pid.ToString(CultureInfo.InvariantCulture), "stat"), $"{pid} ({name}) S {fields[2..]}\n");
        File.WriteAllText(_root.Combine("proc", pid.ToString(CultureInfo.InvariantCulture), "comm"), name + "\n");
        return DateTime.UnixEpoch.AddSeconds(bootSeconds).AddSeconds(ticks / 100.0);
    }
}
