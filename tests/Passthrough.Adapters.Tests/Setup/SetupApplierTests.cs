using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Processes;
using Passthrough.Adapters.Setup;
using Passthrough.Adapters.Sysfs;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Setup;
using Passthrough.Testing;

namespace Passthrough.Tests.Setup;

public sealed class SetupApplierTests
{
    private static SetupPlan PlanFor(string root, string slot, PassthroughMode mode = PassthroughMode.Static)
    {
        var host = new HostRoot(root);
        var inventory = new SysfsHostReader(host, names: false).Read();
        return SetupPlanner.Plan(new SetupRequest
        {
            Mode = mode,
            Functions = inventory.Gpu(Pci.PciSlot.ParseLenient(slot)).Functions,
            Facts = inventory.Facts,
            Files = new BootFilesReader(host).Read(),
        });
    }

    [Test]
    public async Task I_see_grubby_then_dracut_issued_and_systemd_asked_to_enable_the_binding_unit()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("fedora-bls", temp);
        var runner = new RecordingProcessRunner();
        var events = new List<string>();
        using var systemd = new RecordingSystemdFake(events);

        var outcome = await new SetupApplier(new HostRoot(root), runner, systemd, runCommands: true).ApplyAsync(PlanFor(root, "03:00"));

        Assert.That(runner.Commands, Is.EqualTo(new[]
        {
            "grubby --update-kernel=ALL --args=iommu=pt vfio-pci.ids=1002:744c,1002:ab30,1002:7446,1002:7444 rd.driver.pre=vfio-pci",
            "dracut --force --regenerate-all",
        }));
        Assert.That(events, Is.EqualTo(new[] { "systemd reload", "systemd enable passthrough-vfio-bind.service", "systemd reload" }));
        Assert.That(outcome.RebootNeeded, Is.True);
        Assert.That(File.Exists(Path.Join(root, "var/lib/passthrough/backups", outcome.Timestamp, "files/boot/loader/entries/4f1c2d3e-6.19.14-200.fc44.x86_64.conf")), Is.True, "the entries grubby rewrites are backed up first");
    }

    [Test]
    public async Task I_am_refused_when_a_file_changed_since_the_plan_and_nothing_is_written()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var plan = PlanFor(root, "01:00");
        File.AppendAllText(Path.Join(root, "etc/default/grub"), "GRUB_TIMEOUT=1\n");
        var changed = SetupFixtures.Snapshot(root);

        var error = Assert.ThrowsAsync<PassthroughException>(() => new SetupApplier(new HostRoot(root), new RecordingProcessRunner(), null, runCommands: true).ApplyAsync(plan));

        Assert.That(error!.Message, Does.Contain("/etc/default/grub changed since the plan was made"));
        Assert.That(SetupFixtures.Snapshot(root), Is.EqualTo(changed));
        Assert.That(Directory.Exists(Path.Join(root, "var/lib/passthrough")), Is.False);
        await Task.CompletedTask;
    }

    [Test]
    public async Task I_get_the_backup_named_when_a_regeneration_command_fails_and_undo_still_restores()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var before = SetupFixtures.Snapshot(root);
        var failures = 0;
        var runner = new RecordingProcessRunner((program, _) => program == "update-initramfs" && failures++ == 0
            ? new ProcessResult("update-initramfs -u -k all", 1, string.Empty, "E: /boot is full", false, TimeSpan.Zero)
            : null);
        var applier = new SetupApplier(new HostRoot(root), runner, null, runCommands: true);

        var error = Assert.ThrowsAsync<CommandFailedException>(() => applier.ApplyAsync(PlanFor(root, "01:00")));
        var undo = await applier.UndoAsync(null);

        Assert.That(error!.Message, Does.Contain("update-initramfs -u -k all").And.Contain("/boot is full"));
        Assert.That(error.Remedy, Does.Contain("passthrough setup undo " + undo.Timestamp));
        Assert.That(SetupFixtures.Snapshot(root), Is.EqualTo(before));
        Assert.That(runner.Commands, Does.Contain("systemctl daemon-reload").And.Contain("update-grub"), "undo re-runs the regeneration");
    }

    [Test]
    public async Task I_am_refused_to_undo_over_changes_made_after_apply()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("systemd-boot", temp);
        var applier = new SetupApplier(new HostRoot(root), new RecordingProcessRunner(), null, runCommands: false);
        await applier.ApplyAsync(PlanFor(root, "01:00"));
        File.WriteAllText(Path.Join(root, "etc/kernel/cmdline"), "edited by hand\n");

        var error = Assert.ThrowsAsync<PassthroughException>(() => applier.UndoAsync(null));

        Assert.That(error!.Message, Does.Contain("/etc/kernel/cmdline changed after `setup apply`"));
        Assert.That(File.ReadAllText(Path.Join(root, "etc/kernel/cmdline")), Is.EqualTo("edited by hand\n"));
    }

    [Test]
    public async Task I_see_kernel_install_rebuild_the_unified_kernel_image_after_apply_and_again_after_undo()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("fedora-uki", temp);
        var runner = new RecordingProcessRunner();
        using var systemd = new RecordingSystemdFake([]);
        var applier = new SetupApplier(new HostRoot(root), runner, systemd, runCommands: true);
        const string rebuild = "kernel-install add 6.19.14-200.fc44.x86_64 /usr/lib/modules/6.19.14-200.fc44.x86_64/vmlinuz";

        await applier.ApplyAsync(PlanFor(root, "0b:00"));
        var written = File.ReadAllText(Path.Join(root, "etc/kernel/cmdline"));
        await applier.UndoAsync(null);

        Assert.That(runner.Commands, Is.EqualTo(new[] { rebuild, rebuild }), "no dracut run: kernel-install builds the initramfs inside the image");
        Assert.That(written, Does.Contain("vfio-pci.ids=1002:73bf,1002:ab28"));
        Assert.That(File.ReadAllText(Path.Join(root, "etc/kernel/cmdline")), Is.EqualTo("root=UUID=5c1e-7a ro rootflags=subvol=root rhgb quiet\n"));
    }

    [Test]
    public void I_see_unified_kernel_images_listed_without_their_megabytes_being_read()
    {
        using var temp = new TempDirectory();
        var image = Path.Join(temp.Path, "boot/efi/EFI/Linux/abc-6.19.14.efi");
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        File.WriteAllBytes(image, new byte[3 << 20]);

        var files = new BootFilesReader(new HostRoot(temp.Path)).Read();

        Assert.That(files.PresentIn("/boot/efi/EFI/Linux"), Is.EqualTo(new[] { "/boot/efi/EFI/Linux/abc-6.19.14.efi" }));
        Assert.That(files.Read("/boot/efi/EFI/Linux/abc-6.19.14.efi"), Is.Null);
    }
}
