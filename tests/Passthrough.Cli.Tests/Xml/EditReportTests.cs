using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>The xml edits' --json, --check and --vm: what changed, what would, and a second run that changes nothing.</summary>
public class EditReportTests
{
    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    private static JsonElement Report(CliResult result)
    {
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.Clone();
    }

    [Test]
    public void I_get_what_an_in_place_edit_changed_as_json_and_the_second_run_changes_nothing()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        var original = File.ReadAllText(Golden("add-gpu-seed004-split.in.xml"));
        File.WriteAllText(file, original);
        string[] args = ["xml", "add-gpu", file, "--slot", "0000:01:00", "--functions", "0,1", "--in-place", "--json"];

        var first = Report(CliRun.Run(args));
        var bak = File.GetLastWriteTimeUtc(file + ".bak");
        var written = File.ReadAllText(file);
        var second = Report(CliRun.Run(args));

        Assert.That(first.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "changed", "actions", "rebootRequired", "warnings", "diffs" }));
        Assert.That(first.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(first.GetProperty("actions")[0].GetString(), Is.EqualTo($"write {file} (previous version in {file}.bak)"));
        var diff = first.GetProperty("diffs")[0];
        Assert.That(diff.GetProperty("path").GetString(), Is.EqualTo(file));
        Assert.That(diff.GetProperty("before").GetString(), Is.EqualTo(original));
        Assert.That(diff.GetProperty("after").GetString(), Is.EqualTo(File.ReadAllText(Golden("add-gpu-seed004-split.out.xml"))));
        Assert.That(written, Is.EqualTo(File.ReadAllText(Golden("add-gpu-seed004-split.out.xml"))));
        Assert.That(second.GetProperty("changed").GetBoolean(), Is.False, "the GPU is already passed with the same functions");
        Assert.That(second.GetProperty("actions").GetArrayLength(), Is.Zero);
        Assert.That(second.GetProperty("diffs").GetArrayLength(), Is.Zero);
        Assert.That(File.ReadAllText(file), Is.EqualTo(written));
        Assert.That(File.GetLastWriteTimeUtc(file + ".bak"), Is.EqualTo(bak), "nothing was written the second time");
    }

    [Test]
    public void I_can_check_an_in_place_edit_and_the_file_stays_as_it_was()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        var original = File.ReadAllText(Golden("set-topoext.in.xml"));
        File.WriteAllText(file, original);

        var json = Report(CliRun.Run("xml", "set", file, "--topoext", "on", "--in-place", "--check", "--json"));
        var text = CliRun.Run("xml", "set", file, "--topoext", "on", "--in-place", "--check", "--diff");

        Assert.That(json.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(json.GetProperty("actions")[0].GetString(), Is.EqualTo($"write {file}"));
        Assert.That(json.GetProperty("diffs")[0].GetProperty("after").GetString(), Does.Contain("name='topoext'"));
        Assert.That(text.ExitCode, Is.Zero, text.ToString());
        Assert.That(text.Stdout, Does.Contain("\n+    <feature policy='require' name='topoext'/>\n"));
        Assert.That(text.Stderr, Is.EqualTo($"passthrough: --check: would write {file}\n"));
        Assert.That(File.ReadAllText(file), Is.EqualTo(original));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "no backup, no temp file");
    }

    [Test]
    public void I_am_told_there_is_nothing_to_remove_when_the_gpu_is_not_in_the_domain()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.WriteAllText(file, File.ReadAllText(Golden("set-topoext.in.xml")));

        var text = CliRun.Run("xml", "remove-gpu", file, "--slot", "0000:0a:00", "--in-place");
        var json = Report(CliRun.Run("xml", "remove-gpu", file, "--slot", "0000:0a:00", "--in-place", "--json"));

        Assert.That(text.ExitCode, Is.Zero, text.ToString());
        Assert.That(text.Stderr, Is.EqualTo($"passthrough: {file} has no hostdev of 0000:0a:00; nothing to remove\npassthrough: {file} already up to date\n"));
        Assert.That(json.GetProperty("changed").GetBoolean(), Is.False);
        Assert.That(json.GetProperty("warnings").GetArrayLength(), Is.Zero, "absent is the state asked for, not a warning");
        Assert.That(File.Exists(file + ".bak"), Is.False);
    }

    [Test]
    public void I_can_edit_a_vm_defined_on_the_test_driver_and_its_previous_definition_is_saved()
    {
        using var dir = new TempDirectory();

        // test:///default starts afresh in every virsh process with its domain "test": each run edits that one.
        var json = Report(CliRun.Run("xml", "set", "--vm", "test", "--connect", "test:///default", "--memballoon", "none", "--backup-dir", dir.Path, "--json"));
        var unchanged = CliRun.Run("xml", "remove-gpu", "--vm", "test", "--connect", "test:///default", "--slot", "03:00", "--backup-dir", dir.Path);

        Assert.That(json.GetProperty("changed").GetBoolean(), Is.True);
        var diff = json.GetProperty("diffs")[0];
        Assert.That(diff.GetProperty("path").GetString(), Is.EqualTo("domain:test"));
        Assert.That(diff.GetProperty("before").GetString(), Does.Contain("<memballoon model='virtio'>"));
        Assert.That(diff.GetProperty("after").GetString(), Does.Contain("<memballoon model='none'/>"), "what libvirt stored");
        var saved = Directory.GetFiles(dir.Path);
        Assert.That(saved, Has.Length.EqualTo(1));
        Assert.That(File.ReadAllText(saved[0]), Does.Contain("<memballoon model='virtio'>"));
        Assert.That(unchanged.ExitCode, Is.Zero, unchanged.ToString());
        Assert.That(unchanged.Stderr, Does.EndWith("passthrough: test on test:///default already up to date\n"));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "an edit that changes nothing defines nothing");
    }

    [Test]
    public void I_can_define_an_edited_file_only_when_the_edit_changed_it()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.WriteAllText(file, File.ReadAllText(Golden("set-memballoon-none.out.xml")).Replace("<name>", "<name>passthrough-", StringComparison.Ordinal));

        // Not defined yet on the test driver: defined although the file already has the edit.
        var first = Report(CliRun.Run("xml", "set", file, "--memballoon", "none", "--define", "--connect", "test:///default", "--backup-dir", dir.Combine("b"), "--json"));

        Assert.That(first.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(first.GetProperty("actions")[0].GetString(), Does.Contain("it was not defined before"));
        Assert.That(first.GetProperty("diffs")[0].GetProperty("before").GetString(), Is.Empty);
    }

    [TestCase(new[] { "xml", "set", "vm.xml", "--vm", "test", "--smm", "on" }, "Give FILE or --vm NAME, not both")]
    [TestCase(new[] { "xml", "set", "--smm", "on" }, "Give the domain to edit: FILE, - for standard input, or --vm NAME")]
    [TestCase(new[] { "xml", "add-gpu", "--vm", "test", "--slot", "03:00", "--functions", "0", "--in-place" }, "--in-place writes FILE; with --vm the edit is defined in libvirt")]
    public void I_get_one_line_for_a_wrong_combination_and_nothing_is_run(string[] args, string message)
    {
        var result = CliRun.Run(args);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.StartWith($"passthrough: {message}"));
        Assert.That(result.Stdout, Is.Empty);
    }

    [Test]
    public void I_am_told_when_the_vm_is_not_defined()
    {
        var result = CliRun.Run("xml", "set", "--vm", "no-such-vm", "--connect", "test:///default", "--smm", "on", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.StartWith("passthrough: `virsh -c test:///default dumpxml --inactive no-such-vm` failed: error: failed to get domain 'no-such-vm'"));
        Assert.That(result.Stderr, Does.Contain("virsh -c test:///default list --all"));
        Assert.That(result.Stdout, Is.Empty);
    }

    [Test]
    public void A_hostile_vm_name_is_quoted_in_the_commands_i_am_told_to_run()
    {
        var result = CliRun.Run("xml", "set", "--vm", "x;touch pwned", "--connect", "test:///default", "--smm", "on");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("`virsh dumpxml --inactive 'x;touch pwned' > vm.xml`, then `passthrough xml set vm.xml`"));
        Assert.That(result.Stderr, Does.Not.Contain("x;touch pwned >").And.Not.Contain("x;touch pwned.xml"));
    }
}
