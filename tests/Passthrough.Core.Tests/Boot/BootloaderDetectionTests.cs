using NUnit.Framework;
using Passthrough.Boot;

namespace Passthrough.Tests.Boot;

public sealed class BootloaderDetectionTests
{
    private static BootFiles Files(params (string Path, string Text)[] files) =>
        new(files.ToDictionary(f => f.Path, f => f.Text));

    private static BootFiles With(BootFiles files, params string[] present) => new(files.Files, present);

    [Test]
    public void I_am_told_an_unraid_box_boots_limine_and_its_syslinux_cfg_does_nothing()
    {
        var files = Files(
            ("/boot/limine.conf", "timeout: 5\n\n/Unraid OS\n    protocol: linux\n    kernel_path: boot():/bzimage\n    module_path: boot():/bzroot\n    comment: Unraid OS\n"),
            ("/boot/syslinux/syslinux.cfg", "default menu.c32\nlabel Unraid OS\n  kernel /bzimage\n  append initrd=/bzroot\n"));

        var boot = BootloaderDetector.Detect(files);

        Assert.That(boot.Bootloader, Is.EqualTo(Bootloader.Limine));
        Assert.That(boot.ArgsFile, Is.EqualTo("/boot/limine.conf"));
        Assert.That(boot.Ignored, Is.EqualTo(new[] { "/boot/syslinux/syslinux.cfg" }));
        Assert.That(string.Join('\n', boot.Evidence), Does.Contain("syslinux's APPEND lines have no effect"));
        Assert.That(boot.Initramfs, Is.EqualTo(InitramfsGenerator.None));
    }

    [Test]
    public void I_am_told_fedora_uses_grubby_on_bls_entries()
    {
        var files = With(
            Files(
                ("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"rhgb quiet\"\nGRUB_ENABLE_BLSCFG=true\n"),
                ("/boot/loader/entries/abc-6.19.14-200.fc44.x86_64.conf", "title Fedora Linux\nversion 6.19.14-200.fc44.x86_64\nlinux /vmlinuz-6.19.14-200.fc44.x86_64\noptions root=UUID=1 ro rhgb quiet\n")),
            "/usr/sbin/grubby", "/usr/bin/dracut");

        var boot = BootloaderDetector.Detect(files);

        Assert.That(boot.Bootloader, Is.EqualTo(Bootloader.GrubBls));
        Assert.That(boot.ArgsFiles, Is.EqualTo(new[] { "/boot/loader/entries/abc-6.19.14-200.fc44.x86_64.conf" }));
        Assert.That(boot.Configured.Single().ToString(), Is.EqualTo("root=UUID=1 ro rhgb quiet"));
        Assert.That(boot.Initramfs, Is.EqualTo(InitramfsGenerator.Dracut));
    }

    [Test]
    public void I_am_told_debian_uses_etc_default_grub()
    {
        var files = With(
            Files(("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n"), ("/etc/default/grub.d/50-cloud.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"console=ttyS0\"\n")),
            "/usr/sbin/update-grub", "/usr/sbin/update-initramfs");

        var boot = BootloaderDetector.Detect(files);

        Assert.That(boot.Bootloader, Is.EqualTo(Bootloader.Grub));
        Assert.That(boot.ArgsFile, Is.EqualTo("/etc/default/grub"));
        Assert.That(string.Join('\n', boot.Evidence), Does.Contain("/etc/default/grub.d/50-cloud.cfg also sets"));
        Assert.That(boot.Initramfs, Is.EqualTo(InitramfsGenerator.InitramfsTools));
    }

    [Test]
    public void I_am_told_systemd_boot_takes_etc_kernel_cmdline_and_the_entries()
    {
        var files = With(
            Files(
                ("/etc/kernel/cmdline", "root=UUID=2 rw\n"),
                ("/boot/loader/loader.conf", "default arch.conf\n"),
                ("/boot/loader/entries/arch.conf", "title Arch\nlinux /vmlinuz-linux\noptions root=UUID=2 rw\n"),
                ("/etc/mkinitcpio.conf", "MODULES=()\n")),
            "/boot/EFI/systemd/systemd-bootx64.efi", "/usr/bin/mkinitcpio");

        var boot = BootloaderDetector.Detect(files);

        Assert.That(boot.Bootloader, Is.EqualTo(Bootloader.SystemdBoot));
        Assert.That(boot.ArgsFiles, Is.EqualTo(new[] { "/etc/kernel/cmdline", "/boot/loader/entries/arch.conf" }));
        Assert.That(boot.Initramfs, Is.EqualTo(InitramfsGenerator.Mkinitcpio));
    }

    [TestCase("/run/ostree-booted", Bootloader.RpmOstree)]
    [TestCase("/etc/kernelstub/configuration", Bootloader.Kernelstub)]
    [TestCase("/boot/refind_linux.conf", Bootloader.Refind)]
    [TestCase("/boot/syslinux/syslinux.cfg", Bootloader.Syslinux)]
    public void I_am_told_which_tool_owns_the_arguments(string marker, Bootloader expected)
    {
        var boot = BootloaderDetector.Detect(Files((marker, "\"Boot\" \"ro quiet\"\n"), ("/proc/cmdline", "ro quiet\n")));

        Assert.That(boot.Bootloader, Is.EqualTo(expected));
        Assert.That(boot.Evidence[0], Does.Contain(marker));
    }

    [Test]
    public void I_am_told_when_nothing_is_recognised()
    {
        var boot = BootloaderDetector.Detect(BootFiles.Empty);

        Assert.That(boot.Bootloader, Is.EqualTo(Bootloader.Unknown));
        Assert.That(boot.Summary, Is.EqualTo("no bootloader recognised"));
    }
}
