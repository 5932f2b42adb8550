using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>
/// The identity add-gpu records for each passed function, and what fix-addresses, lint, doctor and the
/// hook make of it when the card moved (seed 003 after an added NVMe drive), is ambiguous or gone.
/// </summary>
public class DeviceIdentityTests
{
    private const string Identity0 = "<passthrough:identity address='0000:03:00.0' ids='1002:744c' subsystem='1002:0e3b' path='0000:00:01.1/00.0/00.0/00.0'/>";

    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string Host(string fixture) =>
        Directory.Exists(_dir.Combine(fixture)) ? _dir.Combine(fixture) : FixtureHosts.Expand(fixture, _dir.Combine(fixture));

    /// <summary>The RX 7900 XTX domain (hook mode dynamic) after `add-gpu --slot 03:00` on seed 003: its identity recorded.</summary>
    private string RecordedDomain()
    {
        var file = _dir.Combine("rx7900.xml");
        File.WriteAllText(file, File.ReadAllText(Path.Join(RepoPaths.Fixtures, "domains", "golden", "set-passthrough-mode.out.xml"))
            .Replace("<name>rx7900</name>", "<name>rx7900</name>\n  <uuid>3f0c2a47-9a36-4c2b-8f0e-0d6a3b7c1e55</uuid>", StringComparison.Ordinal));
        var add = CliRun.Run("--root", Host("seed-003-fedora-rx7900xtx"), "xml", "add-gpu", file, "--slot", "03:00", "--in-place");
        Assert.That(add.ExitCode, Is.Zero, add.ToString());
        return file;
    }

    [Test]
    public void I_get_the_ids_and_the_path_from_the_root_port_recorded_when_i_add_a_gpu()
    {
        var file = RecordedDomain();
        var text = File.ReadAllText(file);

        Assert.That(text, Does.Contain($"    <passthrough:config xmlns:passthrough='urn:passthrough:1' mode='dynamic'>\n      {Identity0}\n"));
        Assert.That(text, Does.Contain("<passthrough:identity address='0000:03:00.3' ids='1002:7444' subsystem='1002:0408' path='0000:00:01.1/00.0/00.0/00.3'/>\n    </passthrough:config>"));
        Assert.That(CliRun.Run("--root", Host("seed-003-fedora-rx7900xtx"), "xml", "add-gpu", file, "--slot", "03:00", "--in-place", "--json").Stdout, Does.Contain("\"changed\": false"));
    }

    [Test]
    public void I_can_fix_the_addresses_after_an_added_nvme_drive_moved_the_gpu_and_a_second_run_changes_nothing()
    {
        var file = RecordedDomain();
        var host = Host("seed-003-renumbered-nvme-added");

        var check = CliRun.Run("--root", host, "xml", "fix-addresses", file, "--in-place", "--check", "--diff");
        var unchangedByCheck = File.ReadAllText(file);
        var fix = CliRun.Run("--root", host, "xml", "fix-addresses", file, "--in-place");
        var again = CliRun.Run("--root", host, "xml", "fix-addresses", file, "--in-place", "--json");
        var lint = CliRun.Run("--root", host, "xml", "lint", file);

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(check.Stdout, Does.Contain("\n-        <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>\n+        <address domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>\n"));
        Assert.That(check.Stdout, Does.Contain("+      <passthrough:identity address='0000:04:00.0' ids='1002:744c'"));
        Assert.That(unchangedByCheck, Does.Contain(Identity0), "--check wrote nothing");
        Assert.That(fix.ExitCode, Is.Zero, fix.ToString());
        Assert.That(fix.Stderr, Does.StartWith("passthrough: 0000:03:00.0 (1002:744c) moved to 0000:04:00.0 (0000:03:00.0 now holds 1002:1479)\n"));
        var text = File.ReadAllText(file);
        Assert.That(text, Does.Not.Contain("bus='0x03' slot='0x00' function"));
        Assert.That(text.Split("bus='0x04' slot='0x00' function").Length - 1, Is.EqualTo(4), "all four functions, guest addresses untouched");
        Assert.That(text, Does.Contain("<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0' multifunction='on'/>"));
        using var json = JsonDocument.Parse(again.Stdout);
        Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.False, again.ToString());
        Assert.That(lint.Stdout, Does.Not.Contain("device-moved"));
    }

    [Test]
    public void Lint_and_doctor_say_the_gpu_moved_and_how_to_fix_it()
    {
        var file = RecordedDomain();
        var host = Host("seed-003-renumbered-nvme-added");

        var lint = CliRun.Run("--root", host, "xml", "lint", file);
        var doctor = CliRun.Run("--root", host, "doctor", "--xml", file, "--json");

        Assert.That(lint.ExitCode, Is.EqualTo(1), lint.ToString());
        Assert.That(lint.Stdout, Does.Contain("device-moved").And.Contain("0000:03:00.0 (1002:744c) moved to 0000:04:00.0").And.Contain("xml fix-addresses"));
        using var json = JsonDocument.Parse(doctor.Stdout);
        var moved = json.RootElement.GetProperty("findings").EnumerateArray().Where(f => f.GetProperty("id").GetString() == "device-moved").ToList();
        Assert.That(moved, Has.Count.EqualTo(4), doctor.Stdout);
        Assert.That(moved[0].GetProperty("remedy").GetString(), Does.Contain("passthrough xml fix-addresses"));
    }

    [TestCase("seed-003-renumbered-two-gpus", "device-ambiguous", "moved (0000:03:00.0 now holds 144d:a80a), and 2 functions match it: 0000:01:00.0, 0000:02:00.0")]
    [TestCase("seed-003-gpu-removed", "device-gone", "is gone (0000:03:00.0 now holds 144d:a80a): no function has its ids")]
    public void I_am_refused_when_the_gpu_is_ambiguous_or_gone_and_nothing_is_written(string fixture, string id, string message)
    {
        var file = RecordedDomain();
        var before = File.ReadAllText(file);
        File.Delete(file + ".bak");
        var host = Host(fixture);

        var fix = CliRun.Run("--root", host, "xml", "fix-addresses", file, "--in-place", "--json");
        var lint = CliRun.Run("--root", host, "xml", "lint", file);

        Assert.That(fix.ExitCode, Is.EqualTo(2), fix.ToString());
        Assert.That(fix.Stderr, Does.StartWith($"passthrough: {file}: 0000:03:00.0 (1002:744c) {message}; nothing was changed.\n"));
        Assert.That(fix.Stderr, Does.Contain("xml remove-gpu --slot 0000:03:00"));
        Assert.That(fix.Stdout, Is.Empty);
        Assert.That(File.ReadAllText(file), Is.EqualTo(before));
        Assert.That(File.Exists(file + ".bak"), Is.False);
        Assert.That(lint.Stdout, Does.Contain(id));
    }

    [Test]
    public void The_hook_refuses_to_start_a_vm_whose_gpu_moved_and_names_the_fix()
    {
        var file = RecordedDomain();
        var host = Host("seed-003-renumbered-nvme-added");

        var prepare = CliRun.RunWith(File.ReadAllText(file), null, "--root", host, "hook", "qemu", "rx7900", "prepare", "begin", "-");

        Assert.That(prepare.ExitCode, Is.EqualTo(2), prepare.ToString());
        Assert.That(prepare.Stderr, Is.EqualTo("passthrough: 'rx7900': 0000:03:00.0 (1002:744c) moved to 0000:04:00.0 (0000:03:00.0 now holds 1002:1479); nothing was bound. Run `passthrough xml fix-addresses --vm rx7900`, then start the VM again.\n"));
        Assert.That(Directory.Exists(Path.Join(host, "run", "passthrough")), Is.False, "no journal: nothing was bound");
    }

    [Test]
    public void I_am_told_when_the_domain_records_no_identity()
    {
        var result = CliRun.Run("--root", Host("seed-003-renumbered-nvme-added"), "xml", "fix-addresses", Path.Join(RepoPaths.Fixtures, "domains", "golden", "set-passthrough-mode.out.xml"), "--diff");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stderr, Does.Contain("records no device identity"));
        Assert.That(result.Stdout, Is.Empty, "no change, an empty diff");
    }
}
