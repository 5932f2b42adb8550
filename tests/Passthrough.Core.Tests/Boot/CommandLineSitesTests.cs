using NUnit.Framework;
using Passthrough.Boot;

namespace Passthrough.Tests.Boot;

public sealed class CommandLineSitesTests
{
    private static KernelCommandLine AddIommu(KernelCommandLine line) => line.WithValue("amd_iommu", "on").WithValue("iommu", "pt");

    [Test]
    public void I_can_edit_grub_defaults_keeping_everything_else_byte_for_byte()
    {
        const string text = "# keep me\nGRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT='quiet splash' # comment\nGRUB_CMDLINE_LINUX=\"amd_iommu=off\"\n";

        var edited = CommandLineSites.Edit(CommandLineFormat.GrubDefault, text, AddIommu);

        Assert.That(edited, Is.EqualTo("# keep me\nGRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash amd_iommu=on iommu=pt\" # comment\nGRUB_CMDLINE_LINUX=\"\"\n"));
        Assert.That(CommandLineSites.Edit(CommandLineFormat.GrubDefault, edited, AddIommu), Is.EqualTo(edited), "a second edit changes nothing");
    }

    [Test]
    public void I_get_a_limine_cmdline_inserted_where_the_unraid_forum_said()
    {
        const string text = "/Unraid OS\n    protocol: linux\n    kernel_path: boot():/bzimage\n    module_path: boot():/bzroot\n    comment: Unraid OS\n/Unraid OS GUI Mode\n    protocol: linux\n    kernel_path: boot():/bzimage\n    cmdline: initrd=/bzroot,/bzroot-gui\n";

        var edited = CommandLineSites.Edit(CommandLineFormat.Limine, text, AddIommu);

        Assert.That(edited, Is.EqualTo("/Unraid OS\n    protocol: linux\n    kernel_path: boot():/bzimage\n    module_path: boot():/bzroot\n    cmdline: amd_iommu=on iommu=pt\n    comment: Unraid OS\n/Unraid OS GUI Mode\n    protocol: linux\n    kernel_path: boot():/bzimage\n    cmdline: initrd=/bzroot,/bzroot-gui amd_iommu=on iommu=pt\n"));
    }

    [TestCase(CommandLineFormat.Syslinux, "label a\n  APPEND initrd=/bzroot\n", "label a\n  APPEND initrd=/bzroot amd_iommu=on iommu=pt\n")]
    [TestCase(CommandLineFormat.Refind, "\"Boot\"  \"ro root=/dev/sda2\"\n", "\"Boot\"  \"ro root=/dev/sda2 amd_iommu=on iommu=pt\"\n")]
    [TestCase(CommandLineFormat.BlsEntry, "title x\noptions root=UUID=1\noptions ro\n", "title x\noptions root=UUID=1\noptions ro amd_iommu=on iommu=pt\n")]
    [TestCase(CommandLineFormat.KernelCmdline, "root=UUID=1 rw\n", "root=UUID=1 rw amd_iommu=on iommu=pt\n")]
    [TestCase(CommandLineFormat.KernelCmdline, "", "amd_iommu=on iommu=pt\n")]
    public void I_can_edit_each_bootloaders_syntax(CommandLineFormat format, string text, string expected)
    {
        Assert.That(CommandLineSites.Edit(format, text, AddIommu), Is.EqualTo(expected));
    }
}
