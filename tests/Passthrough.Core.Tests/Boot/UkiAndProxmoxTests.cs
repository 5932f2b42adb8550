using NUnit.Framework;
using Passthrough.Boot;
using Passthrough.Domain;
using Passthrough.Host;
using Passthrough.Setup;

namespace Passthrough.Tests.Boot;

/// <summary>Unified kernel images (BLS type 2) and Proxmox VE's proxmox-boot-tool: detection with evidence and the plan.</summary>
public sealed class UkiAndProxmoxTests
{
    private static readonly HostFacts Intel = new() { CpuVendor = "GenuineIntel", KernelRelease = "6.19.14-200.fc44.x86_64" };

    /// <summary>Seed 000's /proc/cmdline: a Proxmox VE 8.2 host booted by GRUB.</summary>
    private const string Seed000Cmdline = "BOOT_IMAGE=/boot/vmlinuz-6.8.12-2-pve root=/dev/mapper/rootvg-root ro intel_iommu=on iommu=pt nofb nomodeset video=vesafb:off video=efifb:off video=simplefb:off pcie_acs_override=downstream,multifunction\n";

    private static BootFiles Files(IEnumerable<string> present, params (string Path, string Text)[] files) =>
        new(files.ToDictionary(f => f.Path, f => f.Text), present);

    private static SetupPlan Plan(BootFiles files, HostFacts? facts = null) =>
        SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Static, Facts = facts ?? Intel, Files = files });

    [Test]
    public void I_am_told_kernel_install_builds_unified_kernel_images_from_etc_kernel_cmdline()
    {
        var files = Files(
            ["/boot/efi/EFI/Linux/abc-6.19.14-200.fc44.x86_64.efi", "/usr/bin/kernel-install", "/usr/bin/dracut"],
            ("/etc/kernel/install.conf", "layout=uki\nuki_generator=ukify\n"),
            ("/etc/kernel/cmdline", "root=UUID=1 ro quiet\n"));

        var boot = BootloaderDetector.Detect(files);

        Assert.That(boot.Bootloader, Is.EqualTo(Bootloader.Uki));
        Assert.That(boot.UkiBuilder, Is.EqualTo(UkiBuilder.KernelInstall));
        Assert.That(boot.ArgsFiles, Is.EqualTo(new[] { "/etc/kernel/cmdline" }));
        Assert.That(boot.UnifiedKernelImages, Is.EqualTo(new[] { "/boot/efi/EFI/Linux/abc-6.19.14-200.fc44.x86_64.efi" }));
        Assert.That(string.Join('\n', boot.Evidence), Does.Contain("/etc/kernel/install.conf sets layout=uki"));
    }

    [Test]
    public void I_get_the_kernel_install_rebuild_instead_of_a_dracut_run_whose_initramfs_no_image_would_use()
    {
        var files = Files(
            ["/usr/bin/dracut"],
            ("/etc/kernel/install.conf", "layout=uki\n"),
            ("/etc/kernel/cmdline", "root=UUID=1 ro quiet\n"));

        var plan = Plan(files);

        Assert.That(plan.Edits.Single(e => e.Path == "/etc/kernel/cmdline").After, Is.EqualTo("root=UUID=1 ro quiet intel_iommu=on iommu=pt\n"));
        Assert.That(plan.RegenerationCommands.Select(c => c.Display), Is.EqualTo(new[] { "kernel-install add 6.19.14-200.fc44.x86_64 /usr/lib/modules/6.19.14-200.fc44.x86_64/vmlinuz" }));
        Assert.That(plan.RebootNeeded, Is.True);
    }

    [Test]
    public void I_get_etc_kernel_cmdline_created_from_proc_cmdline_when_the_builder_would_fall_back_to_it()
    {
        var files = Files(
            ["/usr/bin/mkinitcpio"],
            ("/etc/mkinitcpio.d/linux.preset", "PRESETS=('default')\n#default_image=\"/boot/initramfs-linux.img\"\ndefault_uki=\"/efi/EFI/Linux/arch-linux.efi\"\n"),
            ("/etc/mkinitcpio.conf", "MODULES=()\nHOOKS=(base udev autodetect modconf block filesystems)\n"),
            ("/proc/cmdline", "initrd=\\initramfs-linux.img root=/dev/nvme0n1p2 rw quiet\n"));

        var plan = Plan(files);

        var created = plan.Edits.Single(e => e.Path == "/etc/kernel/cmdline");
        Assert.That(created.IsNew, Is.True);
        Assert.That(created.After, Is.EqualTo("root=/dev/nvme0n1p2 rw quiet intel_iommu=on iommu=pt\n"), "the loader's initrd= is not part of what the image should carry");
        Assert.That(plan.Boot.UkiBuilder, Is.EqualTo(UkiBuilder.Mkinitcpio));
        Assert.That(plan.RegenerationCommands.Select(c => c.Display), Is.EqualTo(new[] { "mkinitcpio -P" }), "one rebuild, not one for the initramfs and one for the image");
    }

    [Test]
    public void I_get_cmdline_d_arguments_removed_where_they_are_and_added_in_a_file_of_our_own()
    {
        var files = Files(
            ["/usr/bin/mkinitcpio", "/efi/EFI/Linux/arch-linux.efi"],
            ("/etc/mkinitcpio.d/linux.preset", "default_uki=\"/efi/EFI/Linux/arch-linux.efi\"\n"),
            ("/etc/cmdline.d/root.conf", "root=/dev/mapper/root rw\n"),
            ("/etc/cmdline.d/iommu.conf", "# off for now\nintel_iommu=off iommu=pt\n"));

        var plan = Plan(files);

        Assert.That(plan.Edits.Single(e => e.Path == "/etc/cmdline.d/iommu.conf").After, Is.EqualTo("# off for now\niommu=pt\n"));
        var ours = plan.Edits.Single(e => e.Path == "/etc/cmdline.d/99-passthrough.conf");
        Assert.That(ours.IsNew, Is.True);
        Assert.That(ours.After, Does.EndWith("\nintel_iommu=on\n"));
        Assert.That(plan.Edits.Any(e => e.Path == "/etc/cmdline.d/root.conf"), Is.False, "a file without anything to change is left alone");
        Assert.That(plan.ArgumentsAdded, Is.EqualTo(new[] { "intel_iommu=on" }));
        Assert.That(plan.ArgumentsRemoved, Is.EqualTo(new[] { "intel_iommu=off" }));
    }

    [Test]
    public void I_am_told_plainly_when_a_signed_unified_kernel_image_has_no_command_line_this_host_can_edit()
    {
        var files = Files(
            ["/boot/EFI/Linux/vendor-6.12.0.efi", "/boot/EFI/systemd/systemd-bootx64.efi"],
            ("/proc/cmdline", "root=UUID=9 ro quiet\n"));

        var plan = Plan(files);

        Assert.That(plan.Boot.Bootloader, Is.EqualTo(Bootloader.Uki));
        Assert.That(plan.Boot.UkiBuilder, Is.EqualTo(UkiBuilder.None));
        Assert.That(plan.Boot.Summary, Does.Contain("built-in command line"));
        Assert.That(plan.Edits.Where(e => e.Reason.StartsWith("kernel arguments", StringComparison.Ordinal)), Is.Empty, "no useless edit of a loader entry or /etc/kernel/cmdline");
        Assert.That(plan.ArgumentCommands, Is.Empty);
        Assert.That(string.Join('\n', plan.Notes), Does.Contain("no file here can change it").And.Contain("+intel_iommu=on").And.Contain("/boot/EFI/Linux/vendor-6.12.0.efi"));
    }

    [Test]
    public void I_am_told_etc_kernel_cmdline_does_nothing_when_no_builder_uses_it()
    {
        var files = Files(
            ["/boot/EFI/Linux/vendor-6.12.0.efi"],
            ("/etc/kernel/cmdline", "root=UUID=9 ro\n"));

        var plan = Plan(files);

        Assert.That(string.Join('\n', plan.Boot.Evidence), Does.Contain("/etc/kernel/cmdline has no effect"));
        Assert.That(plan.Edits.Any(e => e.Path == "/etc/kernel/cmdline"), Is.False);
    }

    [Test]
    public void I_am_told_a_proxmox_host_on_zfs_boots_systemd_boot_through_proxmox_boot_tool()
    {
        var files = Files(
            ["/usr/sbin/proxmox-boot-tool", "/usr/sbin/update-grub"],
            ("/etc/kernel/proxmox-boot-uuids", "5A1C-2B3D\n5A1C-9F01\n"),
            ("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"),
            ("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"),
            ("/proc/cmdline", "initrd=\\EFI\\proxmox\\6.8.12-2-pve\\initrd.img-6.8.12-2-pve root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"));

        var plan = Plan(files);

        Assert.That(plan.Boot.Bootloader, Is.EqualTo(Bootloader.ProxmoxBootTool));
        Assert.That(plan.Boot.ManagedLoader, Is.EqualTo(Bootloader.SystemdBoot));
        Assert.That(plan.Boot.Ignored, Is.EqualTo(new[] { "/etc/default/grub" }));
        Assert.That(plan.Edits.Single(e => e.Reason.StartsWith("kernel arguments", StringComparison.Ordinal)).After, Is.EqualTo("root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n"));
        Assert.That(plan.RegenerationCommands.Select(c => c.Display), Is.EqualTo(new[] { "proxmox-boot-tool refresh" }), "refresh, not update-grub, writes the ESPs");
    }

    [Test]
    public void I_get_proxmox_boot_tool_refresh_after_the_grub_edit_on_seed_000s_grub_host()
    {
        var files = Files(
            ["/usr/sbin/proxmox-boot-tool", "/usr/sbin/update-grub", "/usr/sbin/update-initramfs"],
            ("/etc/kernel/proxmox-boot-uuids", "7C2E-11AF\n"),
            ("/etc/kernel/cmdline", "root=/dev/mapper/rootvg-root ro\n"),
            ("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\nGRUB_CMDLINE_LINUX=\"\"\n"),
            ("/proc/cmdline", Seed000Cmdline));

        var plan = Plan(files, Intel with { KernelRelease = "6.8.12-2-pve" });

        Assert.That(plan.Boot.ManagedLoader, Is.EqualTo(Bootloader.Grub));
        Assert.That(plan.Boot.Ignored, Is.EqualTo(new[] { "/etc/kernel/cmdline" }));
        Assert.That(string.Join('\n', plan.Boot.Evidence), Does.Contain("BOOT_IMAGE="));
        Assert.That(plan.Flagged.Select(f => f.Argument), Does.Contain("pcie_acs_override=downstream,multifunction"));
        Assert.That(plan.IsEmpty, Is.True, "seed 000 already has intel_iommu=on iommu=pt and no GPU was given");
    }

    [Test]
    public void I_get_update_grub_on_a_proxmox_host_that_proxmox_boot_tool_does_not_manage()
    {
        var files = Files(
            ["/usr/sbin/proxmox-boot-tool", "/usr/sbin/update-grub"],
            ("/etc/kernel/proxmox-boot-uuids", string.Empty),
            ("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"),
            ("/proc/cmdline", Seed000Cmdline));

        var plan = Plan(files);

        Assert.That(plan.Boot.Bootloader, Is.EqualTo(Bootloader.Grub));
        Assert.That(plan.RegenerationCommands.Select(c => c.Display), Is.EqualTo(new[] { "update-grub" }));
    }

    [Test]
    public void I_am_told_to_edit_the_cmdline_file_a_mkinitcpio_preset_names_instead_of_a_useless_edit()
    {
        var files = Files(
            ["/usr/bin/mkinitcpio"],
            ("/etc/mkinitcpio.d/linux.preset", "default_uki=\"/efi/EFI/Linux/arch-linux.efi\"\ndefault_options=\"--cmdline /etc/kernel/cmdline-arch --splash /usr/share/systemd/bootctl/splash-arch.bmp\"\n"),
            ("/etc/kernel/cmdline", "root=/dev/sda2 rw\n"),
            ("/proc/cmdline", "root=/dev/sda2 rw quiet\n"));

        var plan = Plan(files);

        Assert.That(string.Join('\n', plan.Boot.Evidence), Does.Contain("passes --cmdline /etc/kernel/cmdline-arch"));
        Assert.That(plan.Edits.Any(e => e.Path.StartsWith("/etc/kernel/", StringComparison.Ordinal)), Is.False);
        Assert.That(string.Join('\n', plan.Notes), Does.Contain("/etc/kernel/cmdline-arch").And.Contain("+intel_iommu=on"));
        Assert.That(plan.RebootNeeded, Is.False, "nothing that changes the boot was planned");
    }
}
