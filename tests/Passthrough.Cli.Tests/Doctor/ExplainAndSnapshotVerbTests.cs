using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Doctor;

public class ExplainVerbTests
{
    [Test]
    public void I_can_paste_seed_004s_error_and_get_cause_check_and_remedy()
    {
        var result = CliRun.Run("explain", "vfio 0000:01:00.0: failed to setup container for group 14: Failed to set group container: Invalid argument");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("vfio failed to set up the container for group 14 (container-setup-invalid)"));
        Assert.That(result.Stdout, Does.Contain("cause:").And.Contain("check:").And.Contain("do:"));
        Assert.That(result.Stdout, Does.Contain("cat /sys/kernel/iommu_groups/14/type"));
    }

    [Test]
    public void I_can_explain_a_log_file_as_json()
    {
        using var dir = new TempDirectory("explain");
        var log = dir.Combine("qemu.log");
        File.WriteAllText(log, "2026-01-21T12:35:40.272528Z qemu-system-x86_64: kvm: VFIO_MAP_DMA failed: Invalid argument\nsomething else\nkvm: vfio: Unable to power on device, stuck in D3\n");

        var result = CliRun.Run("explain", "--log", log, "--json");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var ids = doc.RootElement.GetProperty("explanations").EnumerateArray().Select(e => e.GetProperty("id").GetString());
        Assert.That(ids, Is.EqualTo(new[] { "vfio-map-dma-einval", "stuck-in-d3" }));
        Assert.That(doc.RootElement.GetProperty("explanations")[0].EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "id", "title", "seen", "cause", "check", "remedy" }));
    }

    [Test]
    public void I_get_the_vms_libvirt_log_and_the_kernel_log_explained_with_vm()
    {
        using var root = new TempDirectory("explain");
        DoctorHosts.Expand(DoctorHosts.Seed004(), root.Path);
        Directory.CreateDirectory(root.Combine("var", "log", "libvirt", "qemu"));
        File.WriteAllText(root.Combine("var", "log", "libvirt", "qemu", "Windows 11.log"), "qemu-system-x86_64: -device {\"driver\":\"vfio-pci\"}: vfio 0000:01:00.0: failed to setup container for group 14:\nFailed to set group container: Invalid argument\n");

        var result = CliRun.Run("--root", root.Path, "explain", "--vm", "Windows 11", "--json");

        using var doc = JsonDocument.Parse(result.Stdout);
        var ids = doc.RootElement.GetProperty("explanations").EnumerateArray().Select(e => e.GetProperty("id").GetString()).ToList();
        Assert.That(ids, Is.EquivalentTo(new[] { "container-setup-invalid", "firmware-1to1-mapping" }));
    }

    [Test]
    public void I_get_exit_1_and_a_plain_answer_when_nothing_is_recognised()
    {
        var result = CliRun.Run("explain", "all is fine");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stdout, Does.Contain("No known error signature in the text given."));
    }

    [Test]
    public void I_get_a_clear_error_for_a_log_file_that_does_not_exist()
    {
        var result = CliRun.Run("explain", "--log", "/no/such/qemu.log");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stderr, Does.Contain("--log /no/such/qemu.log: cannot read it"));
    }
}

public class SnapshotVerbTests
{
    [Test]
    public void I_can_save_a_snapshot_and_see_no_changes_against_the_same_host()
    {
        using var root = new TempDirectory("snapshot");
        DoctorHosts.Expand(DoctorHosts.Seed001(), root.Path);
        var file = Path.Join(root.Path, "host.json");

        var save = CliRun.Run("--root", root.Path, "snapshot", "save", "-o", file);
        var diff = CliRun.Run("--root", root.Path, "snapshot", "diff", file);

        Assert.That(save.ExitCode, Is.EqualTo(0), save.ToString());
        using (var doc = JsonDocument.Parse(File.ReadAllText(file)))
        {
            var json = doc.RootElement;
            Assert.That(json.GetProperty("biosVersion").GetString(), Is.EqualTo("1.80"));
            Assert.That(json.GetProperty("kernel").GetString(), Is.EqualTo("6.8.12-5-pve"));
            Assert.That(json.GetProperty("commandLine").GetString(), Does.Contain("intel_iommu=on"));
            Assert.That(json.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("id").GetInt32() == 12).GetProperty("members").EnumerateArray().Select(m => m.GetString()), Is.EqualTo(new[] { "0000:01:00.0", "0000:01:00.1" }));
            Assert.That(json.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("address").GetString() == "0000:01:00.0").GetProperty("driver").GetString(), Is.EqualTo("vfio-pci"));
            Assert.That(json.GetProperty("modules").EnumerateArray().Select(m => m.GetString()), Does.Contain("vfio_pci"));
            Assert.That(json.GetProperty("roms").GetArrayLength(), Is.GreaterThan(0), "the GPU's sysfs rom in the captured tree is hashed");
        }

        Assert.That(diff.ExitCode, Is.EqualTo(0), diff.ToString());
        Assert.That(diff.Stdout, Does.Contain("No changes."));
    }

    [Test]
    public void I_am_told_in_words_that_the_bios_was_updated_and_the_gpu_changed_driver()
    {
        using var before = new TempDirectory("snapshot");
        using var after = new TempDirectory("snapshot");
        DoctorHosts.Expand(DoctorHosts.Seed001(), before.Path);
        var updated = DoctorHosts.Seed001()
            .Dmi("Micro-Star International Co., Ltd.", "Z390-A PRO (MS-7B98)", "American Megatrends Inc.", "1.90", "06/01/2024")
            .RootPort("0000:00:01.0", "8086:1901", group: 1, acs: true, below: b => b
                .Function("0000:01:00.0", "10de:1e87", 0x030000, subsystem: "1462:3721", revision: 0xa1, driver: "nouveau", group: 12, flr: true)
                .Function("0000:01:00.1", "10de:10f8", 0x040300, subsystem: "1462:3721", revision: 0xa1, driver: "snd_hda_intel", group: 12, flr: true));
        DoctorHosts.Expand(updated, after.Path);
        var file = Path.Join(before.Path, "old.json");
        CliRun.Run("--root", before.Path, "snapshot", "save", "-o", file);

        var diff = CliRun.Run("--root", after.Path, "snapshot", "diff", file, "--json");

        Assert.That(diff.ExitCode, Is.EqualTo(1), diff.ToString());
        using var doc = JsonDocument.Parse(diff.Stdout);
        var changes = doc.RootElement.GetProperty("changes").EnumerateArray().Select(c => c.GetString()).ToList();
        Assert.That(changes, Has.Some.StartsWith("BIOS updated: 1.80 (12/25/2019) → 1.90 (06/01/2024)"));
        Assert.That(changes, Has.Some.StartsWith("Driver changed on 0000:01:00.0").And.Some.Contains("vfio-pci → nouveau"));
    }

    [Test]
    public void I_get_a_clear_error_for_a_file_that_is_not_a_snapshot()
    {
        using var dir = new TempDirectory("snapshot");
        var file = dir.Combine("notes.json");
        File.WriteAllText(file, "{\n  \"groups\": 5\n}\n");

        var result = CliRun.Run("snapshot", "diff", file, file);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("notes.json:2: not a Passthrough snapshot"));
    }
}
