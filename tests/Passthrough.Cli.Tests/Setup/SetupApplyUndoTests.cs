using System.Text.Json;
using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Setup;

public sealed class SetupApplyUndoTests
{
    private static IEnumerable<string> Fixtures => SetupFixtures.Names;

    [TestCaseSource(nameof(Fixtures))]
    public void I_can_apply_then_undo_and_get_every_file_back_byte_for_byte(string name)
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create(name, temp);
        var before = SetupFixtures.Snapshot(root);

        var apply = CliRun.Run("--root", root, "setup", "apply", "--slot", SetupFixtures.SlotOf(name), "--yes");
        Assert.That(apply.ExitCode, Is.Zero, apply.ToString());
        Assert.That(apply.Stdout, Does.Contain("Applied ").And.Contain("backup "));
        Assert.That(SetupFixtures.Snapshot(root), Is.Not.EqualTo(before), "apply changed files");

        var undo = CliRun.Run("--root", root, "setup", "undo", "--yes");
        Assert.That(undo.ExitCode, Is.Zero, undo.ToString());
        Assert.That(undo.Stdout, Does.Contain("Restored "));

        var after = SetupFixtures.Snapshot(root);
        Assert.That(after.Keys, Is.EqualTo(before.Keys), "files created by apply are gone, none lost");
        foreach (var (path, bytes) in before)
        {
            Assert.That(after[path], Is.EqualTo(bytes), $"{path} restored byte for byte");
        }
    }

    [TestCaseSource(nameof(Fixtures))]
    public void I_can_apply_twice_and_the_second_time_changes_no_file(string name)
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create(name, temp);
        var slot = SetupFixtures.SlotOf(name);
        Assert.That(CliRun.Run("--root", root, "setup", "apply", "--slot", slot, "--yes").ExitCode, Is.Zero);
        var once = SetupFixtures.Snapshot(root);

        var plan = CliRun.Run("--root", root, "setup", "plan", "--slot", slot, "--json");
        var again = CliRun.Run("--root", root, "setup", "apply", "--slot", slot, "--yes");

        using var doc = JsonDocument.Parse(plan.Stdout);
        Assert.That(doc.RootElement.GetProperty("edits").GetArrayLength(), Is.Zero, plan.Stdout);
        Assert.That(again.ExitCode, Is.Zero, again.ToString());
        Assert.That(SetupFixtures.Snapshot(root), Is.EqualTo(once));
        if (name != "fedora-bls")
        {
            // Under fedora-bls the grubby command stays listed: --root never runs it.
            Assert.That(again.Stdout, Does.Contain("Nothing to change"));
        }
    }

    [Test]
    public void I_am_refused_without_a_terminal_unless_I_say_yes()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var before = SetupFixtures.Snapshot(root);

        var result = CliRun.Run("--root", root, "setup", "apply", "--slot", "01:00");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("no terminal").And.Contain("--yes"));
        Assert.That(result.Stdout, Does.Contain("+GRUB_CMDLINE_LINUX_DEFAULT="), "the plan is shown first");
        Assert.That(SetupFixtures.Snapshot(root), Is.EqualTo(before));
        Assert.That(Directory.Exists(Path.Join(root, "var/lib/passthrough")), Is.False, "no backup either");
    }

    [Test]
    public void After_applying_static_setup_and_rebooting_doctor_does_not_call_the_binding_a_duplicate()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var plan = CliRun.Run("--root", root, "setup", "plan", "--slot", "01:00", "--json");
        var added = System.Text.Json.JsonDocument.Parse(plan.Stdout).RootElement.GetProperty("argumentsAdded").EnumerateArray().Select(a => a.GetString()).ToList();

        var apply = CliRun.Run("--root", root, "setup", "apply", "--slot", "01:00", "--yes");
        // The reboot: the kernel now runs with the added arguments.
        var cmdline = Path.Join(root, "proc/cmdline");
        File.WriteAllText(cmdline, File.ReadAllText(cmdline).TrimEnd() + " " + string.Join(' ', added) + "\n");
        var doctor = CliRun.Run("--root", root, "doctor", "--json");

        Assert.That(apply.ExitCode, Is.Zero, apply.ToString());
        Assert.That(added, Has.Some.StartsWith("vfio-pci.ids="));
        Assert.That(File.ReadAllText(Path.Join(root, "etc/modprobe.d/passthrough-vfio.conf")), Does.Contain("options vfio-pci ids=10de:2805,10de:22bd"));
        var duplicates = System.Text.Json.JsonDocument.Parse(doctor.Stdout).RootElement.GetProperty("findings").EnumerateArray()
            .Where(f => f.GetProperty("id").GetString() == "duplicate-vfio-binding" && f.GetProperty("severity").GetString() is "warning" or "error")
            .Select(f => f.GetProperty("message").GetString()).ToList();
        Assert.That(duplicates, Is.Empty, "setup writes the same ids in both places on purpose; doctor must not flag its own plan");
    }

    [Test]
    public void I_see_the_commands_listed_but_never_run_under_a_root()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("fedora-bls", temp);
        var runner = new RecordingProcessRunner();

        var result = CliRun.RunWith(null, runner, "--root", root, "setup", "apply", "--slot", "03:00", "--yes");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(runner.Commands, Is.Empty);
        Assert.That(result.Stdout, Does.Contain("Not run (--root").And.Contain("  grubby --update-kernel=ALL").And.Contain("  dracut --force --regenerate-all").And.Contain("systemctl enable passthrough-vfio-bind.service"));
        Assert.That(result.Stdout, Does.Contain("Reboot for the change to take effect"));
    }

    [Test]
    public void I_can_plan_for_a_vm_and_take_its_mode_from_its_metadata()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        const string xml = """
            <domain type='kvm'><name>win11</name>
              <metadata><passthrough:config xmlns:passthrough="urn:passthrough:1" mode="single-gpu"/></metadata>
              <devices>
                <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>
                <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source></hostdev>
              </devices></domain>
            """;
        var runner = new RecordingProcessRunner((program, _) => program == "virsh" ? new ProcessResult("virsh dumpxml win11", 0, xml, string.Empty, false, TimeSpan.Zero) : null);

        var result = CliRun.RunWith(null, runner, "--root", root, "setup", "plan", "--vm", "win11");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(runner.Commands, Is.EqualTo(new[] { "virsh dumpxml win11" }));
        Assert.That(result.Stdout, Does.Contain("Mode: single-gpu").And.Contain("0000:01:00.1 [10de:22bd]"));
        Assert.That(result.Stdout, Does.Not.Contain("vfio-pci.ids=10de").And.Not.Contain("passthrough-vfio.conf"), "the host keeps its GPU at boot in single-gpu mode");
        Assert.That(result.Stdout, Does.Contain("+intel_iommu=on +iommu=pt"));
    }

    [Test]
    public void I_am_told_when_the_vm_passes_a_device_this_host_lacks()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        const string xml = "<domain><devices><hostdev type='pci'><source><address domain='0x0000' bus='0x09' slot='0x00' function='0x0'/></source></hostdev></devices></domain>";
        var runner = new RecordingProcessRunner((_, _) => new ProcessResult("virsh dumpxml w", 0, xml, string.Empty, false, TimeSpan.Zero));

        var result = CliRun.RunWith(null, runner, "--root", root, "setup", "plan", "--vm", "w");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stderr, Does.Contain("0000:09:00.0").And.Contain("passthrough list --all"));
    }

    [Test]
    public void I_am_told_there_is_nothing_to_undo_and_it_is_not_an_error()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("arch-mkinitcpio", temp);

        var result = CliRun.Run("--root", root, "setup", "undo", "--yes");

        // Undo is how Ansible's state=absent is reached: already there is success (changed:false), not bad input.
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("Nothing to undo"));
    }

    [Test]
    public void I_get_an_input_error_for_a_backup_that_does_not_exist()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("arch-mkinitcpio", temp);

        var result = CliRun.Run("--root", root, "setup", "undo", "20990101T000000Z", "--yes");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("No backup 20990101T000000Z"));
    }

    [Test]
    public void I_can_undo_a_named_backup_and_dynamic_mode_takes_the_gpu_back_out_of_vfio_ids()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("arch-mkinitcpio", temp);
        var apply = CliRun.Run("--root", root, "setup", "apply", "--slot", "0c:00", "--yes", "--json");
        using var doc = JsonDocument.Parse(apply.Stdout);
        var stamp = doc.RootElement.GetProperty("backup").GetString()!;

        var dynamic = CliRun.Run("--root", root, "setup", "plan", "--slot", "0c:00", "--mode", "dynamic");
        var undo = CliRun.Run("--root", root, "setup", "undo", stamp, "--yes");

        Assert.That(dynamic.Stdout, Does.Contain("-GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=3 quiet iommu=pt vfio-pci.ids=1002:73bf,1002:ab28\"").And.Contain("+GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=3 quiet iommu=pt\""));
        Assert.That(dynamic.Stdout, Does.Contain("setup undo` removes them"));
        Assert.That(undo.ExitCode, Is.Zero, undo.ToString());
        Assert.That(undo.Stdout, Does.Contain($"Backup {stamp} (Static mode) restores:").And.Contain("/etc/modprobe.d/passthrough-vfio.conf (removed: setup created it)"));
    }

    [Test]
    public void I_see_proxmox_boot_tool_refresh_after_apply_and_again_after_undo()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("proxmox-zfs", temp);
        var runner = new RecordingProcessRunner();

        var apply = CliRun.RunWith(null, runner, "--root", root, "setup", "apply", "--slot", "03:00", "--yes");
        var undo = CliRun.RunWith(null, runner, "--root", root, "setup", "undo", "--yes");

        Assert.That(apply.ExitCode, Is.Zero, apply.ToString());
        Assert.That(undo.ExitCode, Is.Zero, undo.ToString());
        Assert.That(runner.Commands, Is.Empty, "--root runs nothing");
        Assert.That(apply.Stdout, Does.Contain("  /etc/kernel/cmdline").And.Contain("  proxmox-boot-tool refresh"));
        Assert.That(undo.Stdout, Does.Contain("/etc/kernel/cmdline").And.Contain("  proxmox-boot-tool refresh"), "undo copies the restored command line to the ESPs too");
        Assert.That(File.ReadAllText(Path.Join(root, "etc/kernel/cmdline")), Is.EqualTo("root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on pcie_acs_override=downstream,multifunction\n"));
    }
}

/// <summary>Issue 15: dynamic mode's setup keeps the desktop off the passed GPU with a udev rule, undone like every setup file.</summary>
public class SetupDesktopIgnoreTests
{
    private const string Rules = "/etc/udev/rules.d/72-passthrough-desktop-ignore.rules";

    [Test]
    public void I_can_keep_gnome_off_my_passed_gpu_with_a_udev_rule_and_undo_it()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("arch-mkinitcpio", temp);

        var plan = CliRun.Run("--root", root, "setup", "plan", "--slot", "0c:00", "--mode", "dynamic");
        var apply = CliRun.Run("--root", root, "setup", "apply", "--slot", "0c:00", "--mode", "dynamic", "--yes");
        var again = CliRun.Run("--root", root, "setup", "plan", "--slot", "0c:00", "--mode", "dynamic");

        Assert.That(plan.ExitCode, Is.Zero, plan.ToString());
        Assert.That(plan.Stdout, Does.Contain(Rules).And.Contain("KWIN_DRM_DEVICES"));
        Assert.That(apply.ExitCode, Is.Zero, apply.ToString());
        var written = File.ReadAllText(Path.Join(root, Rules));
        Assert.That(written, Does.Contain("SUBSYSTEM==\"drm\", KERNEL==\"card[0-9]*\", KERNELS==\"0000:0c:00.0\", TAG-=\"seat\", TAG-=\"master-of-seat\", TAG+=\"mutter-device-ignore\""));
        Assert.That(written, Does.Not.Contain("ID_SEAT"), "the seat variable is left as logind's rules set it");
        Assert.That(written, Does.Not.Contain("0000:0c:00.1"), "only the card: audio has no DRM node");
        Assert.That(again.Stdout, Does.Not.Contain(Rules), "a second plan has nothing left to do there");

        var undo = CliRun.Run("--root", root, "setup", "undo", "--yes");

        Assert.That(undo.ExitCode, Is.Zero, undo.ToString());
        Assert.That(File.Exists(Path.Join(root, Rules)), Is.False);
    }

    [Test]
    public void I_get_no_udev_rule_in_static_mode_where_vfio_pci_holds_the_card_from_boot()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("arch-mkinitcpio", temp);

        var plan = CliRun.Run("--root", root, "setup", "plan", "--slot", "0c:00");

        Assert.That(plan.Stdout, Does.Not.Contain(Rules));
    }
}
