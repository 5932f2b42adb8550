using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Setup;

/// <summary>
/// `setup apply|undo --check` and `--json`: the machine interface of Ansible's passthrough_host (check mode, diff
/// mode with whole before/after texts, reboot_required, changed).
/// </summary>
public sealed class SetupCheckAndJsonTests
{
    private static readonly string[] ReportNames = ["changed", "actions", "rebootRequired", "warnings", "diffs", "backup", "mode", "files", "commandsRun", "commandsNotRun", "systemd"];

    private static IEnumerable<string> Fixtures => SetupFixtures.Names;

    [TestCaseSource(nameof(Fixtures))]
    public void I_can_check_what_setup_apply_would_do_without_changing_anything(string name)
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create(name, temp);
        var slot = SetupFixtures.SlotOf(name);
        var before = TreeSnapshot.Take(root);

        // No --yes: a dry run asks nothing.
        var check = CliRun.Run("--root", root, "setup", "apply", "--slot", slot, "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(TreeSnapshot.Take(root), Is.EqualTo(before), "--check writes no file and makes no backup");
        using var json = JsonDocument.Parse(check.Stdout);
        var report = json.RootElement;
        Assert.That(report.EnumerateObject().Select(p => p.Name), Is.EqualTo(ReportNames));
        Assert.That(report.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(report.GetProperty("rebootRequired").GetBoolean(), Is.True);
        Assert.That(report.GetProperty("backup").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(report.GetProperty("mode").GetString(), Is.EqualTo("static"));

        var apply = CliRun.Run("--root", root, "setup", "apply", "--slot", slot, "--yes", "--json");

        Assert.That(apply.ExitCode, Is.Zero, apply.ToString());
        foreach (var diff in report.GetProperty("diffs").EnumerateArray())
        {
            var path = diff.GetProperty("path").GetString()!;
            Assert.That(File.ReadAllText(Path.Join(root, path)), Is.EqualTo(diff.GetProperty("after").GetString()), $"--check showed the whole text apply wrote to {path}");
        }

        using var applied = JsonDocument.Parse(apply.Stdout);
        Assert.That(applied.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetString()), Is.EqualTo(report.GetProperty("files").EnumerateArray().Select(f => f.GetString())));
        Assert.That(applied.RootElement.GetProperty("actions").EnumerateArray().Select(a => a.GetString()).Where(a => !a!.StartsWith("back up", StringComparison.Ordinal)),
            Is.EqualTo(report.GetProperty("actions").EnumerateArray().Select(a => a.GetString()).Where(a => !a!.StartsWith("back up", StringComparison.Ordinal))), "the check listed what apply did");
    }

    [TestCaseSource(nameof(Fixtures))]
    public void I_get_changed_false_from_a_second_identical_apply(string name)
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create(name, temp);
        var slot = SetupFixtures.SlotOf(name);
        var first = CliRun.Run("--root", root, "setup", "apply", "--slot", slot, "--yes", "--json");

        var check = CliRun.Run("--root", root, "setup", "apply", "--slot", slot, "--check", "--json");
        var second = CliRun.Run("--root", root, "setup", "apply", "--slot", slot, "--yes", "--json");

        using var one = JsonDocument.Parse(first.Stdout);
        Assert.That(one.RootElement.GetProperty("changed").GetBoolean(), Is.True, first.ToString());
        Assert.That(one.RootElement.GetProperty("backup").GetString(), Does.Match("^[0-9]{8}T[0-9]{6}Z$"));
        foreach (var run in new[] { check, second })
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            using var json = JsonDocument.Parse(run.Stdout);
            Assert.That(json.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(ReportNames));
            Assert.That(json.RootElement.GetProperty("diffs").GetArrayLength(), Is.Zero, run.Stdout);
            if (name == "fedora-bls")
            {
                // grubby owns the BLS entries' arguments and --root never runs it: it stays to do, and says so.
                Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.True);
                Assert.That(json.RootElement.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()), Has.Some.Contains("run on the host: grubby"));
                continue;
            }

            Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.False, run.Stdout);
            Assert.That(json.RootElement.GetProperty("actions").GetArrayLength(), Is.Zero);
            Assert.That(json.RootElement.GetProperty("rebootRequired").GetBoolean(), Is.False);
            Assert.That(json.RootElement.GetProperty("backup").ValueKind, Is.EqualTo(JsonValueKind.Null));
        }
    }

    [Test]
    public void I_see_commands_a_root_cannot_run_as_warnings_not_actions()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);

        var check = CliRun.Run("--root", root, "setup", "apply", "--slot", "01:00", "--check", "--json");

        using var json = JsonDocument.Parse(check.Stdout);
        var notRun = json.RootElement.GetProperty("commandsNotRun").EnumerateArray().Select(c => c.GetString()).ToList();
        Assert.That(notRun, Is.Not.Empty);
        Assert.That(json.RootElement.GetProperty("commandsRun").GetArrayLength(), Is.Zero);
        Assert.That(json.RootElement.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()), Has.Some.EqualTo($"Not run (--root {root} is not the live system); run on the host: {notRun[0]}"));
        Assert.That(json.RootElement.GetProperty("actions").EnumerateArray().Select(a => a.GetString()), Has.None.StartsWith("run "));
    }

    [Test]
    public void I_can_check_setup_apply_in_text_and_am_told_nothing_changed()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var before = TreeSnapshot.Take(root);

        var check = CliRun.Run("--root", root, "setup", "apply", "--slot", "01:00", "--check");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(check.Stdout, Does.Contain("+GRUB_CMDLINE_LINUX_DEFAULT=").And.Contain("--check: nothing was changed"));
        Assert.That(TreeSnapshot.Take(root), Is.EqualTo(before));
    }

    [Test]
    public void I_can_check_what_setup_undo_would_do_then_undo_and_a_second_undo_reports_changed_false()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var original = File.ReadAllText(Path.Join(root, "etc/default/grub"));
        var apply = CliRun.Run("--root", root, "setup", "apply", "--slot", "01:00", "--yes", "--json");
        using var applied = JsonDocument.Parse(apply.Stdout);
        var stamp = applied.RootElement.GetProperty("backup").GetString();
        var set = TreeSnapshot.Take(root);

        var check = CliRun.Run("--root", root, "setup", "undo", "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(TreeSnapshot.Take(root), Is.EqualTo(set), "--check restores nothing and leaves the manifest as it was");
        using (var json = JsonDocument.Parse(check.Stdout))
        {
            var report = json.RootElement;
            Assert.That(report.EnumerateObject().Select(p => p.Name), Is.EqualTo(ReportNames));
            Assert.That(report.GetProperty("changed").GetBoolean(), Is.True);
            Assert.That(report.GetProperty("backup").GetString(), Is.EqualTo(stamp));
            Assert.That(report.GetProperty("rebootRequired").GetBoolean(), Is.True);
            var grub = report.GetProperty("diffs").EnumerateArray().Single(d => d.GetProperty("path").GetString() == "/etc/default/grub");
            Assert.That(grub.GetProperty("before").GetString(), Is.EqualTo(File.ReadAllText(Path.Join(root, "etc/default/grub"))));
            Assert.That(grub.GetProperty("after").GetString(), Is.EqualTo(original));
            Assert.That(report.GetProperty("actions").EnumerateArray().Select(a => a.GetString()), Has.Some.EqualTo($"restore /etc/default/grub from backup {stamp}"));
        }

        var undo = CliRun.Run("--root", root, "setup", "undo", "--yes", "--json");
        var again = CliRun.Run("--root", root, "setup", "undo", "--yes", "--json");
        var named = CliRun.Run("--root", root, "setup", "undo", stamp!, "--yes", "--json");

        Assert.That(File.ReadAllText(Path.Join(root, "etc/default/grub")), Is.EqualTo(original));
        using var one = JsonDocument.Parse(undo.Stdout);
        Assert.That(one.RootElement.GetProperty("changed").GetBoolean(), Is.True);
        foreach (var run in new[] { again, named })
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            using var json = JsonDocument.Parse(run.Stdout);
            Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.False, run.Stdout);
            Assert.That(json.RootElement.GetProperty("diffs").GetArrayLength(), Is.Zero);
        }
    }

    [Test]
    public void I_get_the_undo_refusal_from_check_when_a_file_changed_after_apply_and_nothing_is_written()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        CliRun.Run("--root", root, "setup", "apply", "--slot", "01:00", "--yes");
        File.AppendAllText(Path.Join(root, "etc/default/grub"), "# edited by hand\n");
        var edited = TreeSnapshot.Take(root);

        var check = CliRun.Run("--root", root, "setup", "undo", "--check", "--json");
        var undo = CliRun.Run("--root", root, "setup", "undo", "--yes", "--json");

        Assert.That(check.ExitCode, Is.EqualTo(1), check.ToString());
        Assert.That(check.Stderr, Does.Contain("/etc/default/grub changed after `setup apply`"));
        Assert.That((check.ExitCode, check.Stderr), Is.EqualTo((undo.ExitCode, undo.Stderr)), "the check foresees the refusal exactly");
        Assert.That(TreeSnapshot.Take(root), Is.EqualTo(edited));
    }
}
