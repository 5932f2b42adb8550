using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>The xml edits' --vm, --check, --json and fix-addresses through the native binary (source-generated JSON, virsh through CliWrap).</summary>
[Parallelizable(ParallelScope.All)]
public class XmlEditReportTests
{
    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    [Test]
    public void I_can_edit_a_vm_on_the_test_driver_with_the_native_binary_and_get_the_change_as_json()
    {
        using var dir = new TempDirectory("passthrough-native-xml");

        var result = NativeBinary.Run("xml", "set", "--vm", "test", "--connect", "test:///default", "--memballoon", "none", "--backup-dir", dir.Path, "--json");
        var check = NativeBinary.AssertSameAsInProcess("xml", "add-gpu", "--vm", "test", "--connect", "test:///default", "--slot", "0000:03:00", "--functions", "0,1", "--check", "--json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(json.RootElement.GetProperty("diffs")[0].GetProperty("path").GetString(), Is.EqualTo("domain:test"));
        Assert.That(json.RootElement.GetProperty("diffs")[0].GetProperty("after").GetString(), Does.Contain("<memballoon model='none'/>"));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "the previous definition");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(check.Stdout, Does.Contain("\"actions\": [\n    \"define test on test:///default\"\n  ]"));
    }

    [Test]
    public void I_can_check_an_in_place_edit_with_the_native_binary_and_the_second_run_is_unchanged()
    {
        using var dir = new TempDirectory("passthrough-native-xml");
        var file = dir.Combine("vm.xml");
        File.WriteAllText(file, File.ReadAllText(Golden("set-topoext.in.xml")));

        var check = NativeBinary.Run("xml", "set", file, "--topoext", "on", "--in-place", "--check", "--json");
        var unchanged = File.ReadAllText(file);
        var first = NativeBinary.Run("xml", "set", file, "--topoext", "on", "--in-place", "--json");
        var second = NativeBinary.Run("xml", "set", file, "--topoext", "on", "--in-place", "--json");

        Assert.That(check.Stdout, Does.Contain("\"changed\": true"), check.ToString());
        Assert.That(unchanged, Is.EqualTo(File.ReadAllText(Golden("set-topoext.in.xml"))));
        Assert.That(first.Stdout, Does.Contain("\"changed\": true"), first.ToString());
        Assert.That(second.Stdout, Does.StartWith("{\n  \"changed\": false,\n  \"actions\": [],"), second.ToString());
    }

    [Test]
    public void I_can_fix_the_addresses_of_a_moved_gpu_with_the_native_binary()
    {
        using var dir = new TempDirectory("passthrough-native-xml");
        var file = dir.Combine("rx7900.xml");
        File.WriteAllText(file, File.ReadAllText(Golden("set-passthrough-mode.out.xml")));
        var recorded = NativeBinary.Run("--root", Session.Fixture("seed-003-fedora-rx7900xtx"), "xml", "add-gpu", file, "--slot", "03:00", "--in-place");

        var fix = NativeBinary.AssertSameAsInProcess("--root", Session.Fixture("seed-003-renumbered-nvme-added"), "xml", "fix-addresses", file, "--json");
        var ambiguous = NativeBinary.AssertSameAsInProcess("--root", Session.Fixture("seed-003-renumbered-two-gpus"), "xml", "fix-addresses", file, "--in-place");

        Assert.That(recorded.ExitCode, Is.Zero, recorded.ToString());
        Assert.That(fix.ExitCode, Is.Zero, fix.ToString());
        Assert.That(fix.Stdout, Does.Contain("\"changed\": true").And.Contain("bus='0x04' slot='0x00' function='0x3'"));
        Assert.That(ambiguous.ExitCode, Is.EqualTo(2), ambiguous.ToString());
        Assert.That(ambiguous.Stderr, Does.Contain("2 functions match it"));
    }

    [Test]
    public void I_get_one_line_from_the_native_binary_when_i_give_both_a_file_and_a_vm()
    {
        var result = NativeBinary.AssertSameAsInProcess("xml", "remove-gpu", Golden("remove-gpu.in.xml"), "--vm", "test", "--slot", "03:00");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.StartWith("passthrough: Give FILE or --vm NAME, not both"));
    }
}
