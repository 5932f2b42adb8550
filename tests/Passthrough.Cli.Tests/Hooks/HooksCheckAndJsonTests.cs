using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Hooks;

/// <summary>`hooks install|uninstall --json` and `--check`: the machine interface Ansible's passthrough_hooks calls.</summary>
public class HooksCheckAndJsonTests
{
    private const string Binary = "/opt/passthrough/passthrough";
    private const string HookPath = "/etc/libvirt/hooks/qemu.d/50-passthrough";

    private TempDirectory _root = null!;

    private string Hook => _root.Combine("etc", "libvirt", "hooks", "qemu.d", "50-passthrough");

    [SetUp]
    public void MakeRoot()
    {
        _root = new TempDirectory("passthrough-hooks-json");
        Directory.CreateDirectory(_root.Combine("etc", "libvirt"));
        Directory.CreateDirectory(_root.Combine("run", "systemd", "system")); // booted with systemd: restart is a systemctl command
        Directory.CreateDirectory(_root.Combine("opt", "passthrough"));
        File.WriteAllText(_root.Combine("opt", "passthrough", "passthrough"), "#!/bin/sh\n");
    }

    [TearDown]
    public void RemoveRoot() => _root.Dispose();

    [Test]
    public void I_can_check_what_hooks_install_would_do_without_changing_anything()
    {
        var before = TreeSnapshot.Take(_root.Path);

        var check = Run("hooks", "install", "--binary", Binary, "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(TreeSnapshot.Take(_root.Path), Is.EqualTo(before), "--check writes nothing: no hook, no record, no directory");
        using var json = JsonDocument.Parse(check.Stdout);
        var root = json.RootElement;
        Assert.That(Names(root), Is.EqualTo(new[] { "changed", "actions", "rebootRequired", "warnings", "diffs", "path", "binary", "restart" }));
        Assert.That(root.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("actions")[0].GetString(), Is.EqualTo($"write {HookPath} (runs {Binary})"));
        Assert.That(root.GetProperty("restart").GetString(), Is.EqualTo("systemctl restart libvirtd"));
        var diff = root.GetProperty("diffs")[0];
        Assert.That(diff.GetProperty("path").GetString(), Is.EqualTo(HookPath));
        Assert.That(diff.GetProperty("before").GetString(), Is.Empty);

        var install = Run("hooks", "install", "--binary", Binary, "--json");

        Assert.That(install.ExitCode, Is.Zero, install.ToString());
        Assert.That(File.ReadAllText(Hook), Is.EqualTo(diff.GetProperty("after").GetString()), "the check showed the very script the install wrote");
        using var installed = JsonDocument.Parse(install.Stdout);
        Assert.That(installed.RootElement.GetProperty("changed").GetBoolean(), Is.True);
    }

    [Test]
    public void I_get_changed_false_when_the_same_hook_is_installed_already_and_its_file_is_not_rewritten()
    {
        Assert.That(Run("hooks", "install", "--binary", Binary).ExitCode, Is.Zero);
        var written = DateTime.UtcNow.AddHours(-1);
        File.SetLastWriteTimeUtc(Hook, written);

        var check = Run("hooks", "install", "--binary", Binary, "--check", "--json");
        var again = Run("hooks", "install", "--binary", Binary, "--json");

        foreach (var run in new[] { check, again })
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            using var json = JsonDocument.Parse(run.Stdout);
            Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.False, run.Stdout);
            Assert.That(json.RootElement.GetProperty("actions").GetArrayLength(), Is.Zero);
            Assert.That(json.RootElement.GetProperty("diffs").GetArrayLength(), Is.Zero);
            Assert.That(json.RootElement.GetProperty("restart").ValueKind, Is.EqualTo(JsonValueKind.Null), "nothing for libvirt to notice");
        }

        Assert.That(File.GetLastWriteTimeUtc(Hook), Is.EqualTo(written), "not rewritten, so `hooks status` still sees libvirt noticed it");
    }

    [Test]
    public void I_get_changed_true_with_the_old_text_when_another_binary_is_installed()
    {
        Run("hooks", "install", "--binary", Binary);
        var old = File.ReadAllText(Hook);

        var check = Run("hooks", "install", "--binary", "/usr/local/bin/passthrough", "--check", "--json");

        using var json = JsonDocument.Parse(check.Stdout);
        Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(json.RootElement.GetProperty("diffs")[0].GetProperty("before").GetString(), Is.EqualTo(old));
        Assert.That(json.RootElement.GetProperty("diffs")[0].GetProperty("after").GetString(), Does.Contain("passthrough='/usr/local/bin/passthrough'"));
        Assert.That(File.ReadAllText(Hook), Is.EqualTo(old));
    }

    [Test]
    public void I_can_check_hooks_uninstall_and_a_second_uninstall_reports_changed_false()
    {
        Run("hooks", "install", "--binary", Binary);
        var installed = TreeSnapshot.Take(_root.Path);
        var script = File.ReadAllText(Hook);

        var check = Run("hooks", "uninstall", "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(TreeSnapshot.Take(_root.Path), Is.EqualTo(installed));
        using (var json = JsonDocument.Parse(check.Stdout))
        {
            Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.True);
            Assert.That(json.RootElement.GetProperty("actions")[0].GetString(), Is.EqualTo($"{HookPath}: removed"));
            Assert.That(json.RootElement.GetProperty("diffs")[0].GetProperty("before").GetString(), Is.EqualTo(script));
            Assert.That(json.RootElement.GetProperty("diffs")[0].GetProperty("after").GetString(), Is.Empty);
        }

        var first = Run("hooks", "uninstall", "--json");
        var second = Run("hooks", "uninstall", "--json");

        Assert.That(File.Exists(Hook), Is.False);
        using var one = JsonDocument.Parse(first.Stdout);
        using var two = JsonDocument.Parse(second.Stdout);
        Assert.That(one.RootElement.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(two.RootElement.GetProperty("changed").GetBoolean(), Is.False);
        Assert.That(two.RootElement.GetProperty("warnings")[0].GetString(), Is.EqualTo($"{HookPath}: not installed."));
        Assert.That(second.ExitCode, Is.Zero, "changed is not an error");
    }

    [Test]
    public void I_am_told_in_text_what_install_would_do_under_check()
    {
        var check = Run("hooks", "install", "--binary", Binary, "--check");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(check.Stdout, Does.Contain("Would install the libvirt hook").And.Contain("--check: nothing was changed."));
        Assert.That(File.Exists(Hook), Is.False);
    }

    [Test]
    public void I_get_the_same_error_from_check_as_from_install_when_a_directory_is_in_the_way()
    {
        Directory.CreateDirectory(Hook);

        var check = Run("hooks", "install", "--binary", Binary, "--check", "--json");
        var install = Run("hooks", "install", "--binary", Binary, "--json");

        Assert.That(check.ExitCode, Is.EqualTo(3), check.ToString());
        Assert.That(check.Stderr, Is.EqualTo(install.Stderr));
        Assert.That(check.Stdout, Is.Empty, "an error, not a report");
    }

    internal static string[] Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    private CliResult Run(params string[] args) => CliRun.Run(["--root", _root.Path, .. args]);
}
