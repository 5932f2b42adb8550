using NUnit.Framework;
using Passthrough.Boot;

namespace Passthrough.Tests.Boot;

public sealed class KernelCommandLineTests
{
    [Test]
    public void I_get_the_arguments_split_the_way_the_kernel_splits_them()
    {
        var line = KernelCommandLine.Parse("BOOT_IMAGE=(hd0,gpt2)/vmlinuz ro  quiet dyndbg=\"file drivers/vfio/* +p\" \"acpi_osi=!Windows 2020\" -- single x");

        Assert.That(line.Arguments.Select(a => a.Key), Is.EqualTo(new[] { "BOOT_IMAGE", "ro", "quiet", "dyndbg", "acpi_osi" }));
        Assert.That(line.ValueOf("dyndbg"), Is.EqualTo("file drivers/vfio/* +p"));
        Assert.That(line.ValueOf("acpi_osi"), Is.EqualTo("!Windows 2020"));
        Assert.That(line.InitArguments, Is.EqualTo(new[] { "single", "x" }));
        Assert.That(line.ToString(), Is.EqualTo("BOOT_IMAGE=(hd0,gpt2)/vmlinuz ro  quiet dyndbg=\"file drivers/vfio/* +p\" \"acpi_osi=!Windows 2020\" -- single x"), "an unchanged line is written back exactly");
    }

    [Test]
    public void I_can_add_and_replace_arguments_without_touching_the_others()
    {
        var line = KernelCommandLine.Parse("root=UUID=1 ro intel_iommu=off quiet");

        var edited = line.WithValue("intel_iommu", "on").With(KernelArgument.Of("iommu", "pt")).Without("quiet");

        Assert.That(edited.ToString(), Is.EqualTo("root=UUID=1 ro intel_iommu=on iommu=pt"));
        Assert.That(edited.ValueOf("root"), Is.EqualTo("UUID=1"), "only the first '=' separates key and value");
        Assert.That(edited.With(KernelArgument.Of("iommu", "pt")), Is.SameAs(edited), "adding what is there changes nothing");
    }

    [Test]
    public void I_get_vfio_ids_merged_into_one_argument_whatever_spelling_was_used()
    {
        var line = KernelCommandLine.Parse("quiet vfio_pci.ids=10de:2805 vfio-pci.ids=10DE:22BD");

        var merged = line.WithVfioIds(["10de:22bd", "1002:744c"]);

        Assert.That(merged.ToString(), Is.EqualTo("quiet vfio_pci.ids=10de:2805,10DE:22BD,1002:744c"));
        Assert.That(merged.WithoutVfioIds(["10de:2805", "10de:22bd", "1002:744c"]).ToString(), Is.EqualTo("quiet"));
    }

    [Test]
    public void I_am_told_when_the_line_contradicts_itself()
    {
        var line = KernelCommandLine.Parse("intel_iommu=on quiet intel-iommu=off iommu=pt");

        var contradictions = line.Contradictions();

        Assert.That(contradictions, Has.Count.EqualTo(1));
        Assert.That(contradictions[0].ToString(), Does.Contain("intel_iommu=on").And.Contain("intel-iommu=off"));
        Assert.That(line.ValueOf("intel_iommu"), Is.EqualTo("off"), "the last one is the one the kernel uses");
    }

    [Test]
    public void I_get_an_empty_line_from_an_empty_proc_cmdline()
    {
        Assert.That(KernelCommandLine.Parse("  \n").Arguments, Is.Empty);
        Assert.That(KernelCommandLine.Empty.With(KernelArgument.Of("iommu", "pt")).ToString(), Is.EqualTo("iommu=pt"));
    }
}
