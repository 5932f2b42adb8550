using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Capture;
using Passthrough.Errors;
using Passthrough.Testing;

namespace Passthrough.Tests.Capture;

public class HostCaptureTests
{
    private static void Expand(string text, string dir) => HostCapture.Expand(new StringReader(text), "host.txt", dir);

    [Test]
    public void I_can_expand_files_text_blocks_bytes_links_and_empty_directories()
    {
        using var root = new TempDirectory();
        Expand(
            """
            # passthrough host capture 1
            # a comment

            dir sys/kernel/iommu_groups
            file sys/bus/pci/devices/x/vendor = 0x1002
            file proc/cmdline =
            file proc/modules
            | vfio_pci 16384 0 - Live 0x0
            |
            | kvm 1 0 - Live 0x0
            file empty
            bytes sys/x/config
            : 86 80 57 0d
            : 00*32 ff
            link sys/bus/pci/devices/y -> ../../../devices/pci0000:00/0000:00:01.0
            """,
            root.Path);

        Assert.That(File.ReadAllText(root.Combine("sys/bus/pci/devices/x/vendor")), Is.EqualTo("0x1002\n"));
        Assert.That(File.ReadAllText(root.Combine("proc/cmdline")), Is.EqualTo("\n"));
        Assert.That(File.ReadAllText(root.Combine("proc/modules")), Is.EqualTo("vfio_pci 16384 0 - Live 0x0\n\nkvm 1 0 - Live 0x0\n"));
        Assert.That(File.ReadAllBytes(root.Combine("empty")), Is.Empty);
        var config = File.ReadAllBytes(root.Combine("sys/x/config"));
        Assert.That(config, Has.Length.EqualTo(37));
        Assert.That(config[..4], Is.EqualTo(new byte[] { 0x86, 0x80, 0x57, 0x0d }));
        Assert.That(config[^1], Is.EqualTo(0xff));
        Assert.That(new FileInfo(root.Combine("sys/bus/pci/devices/y")).LinkTarget, Is.EqualTo("../../../devices/pci0000:00/0000:00:01.0"));
        Assert.That(Directory.Exists(root.Combine("sys/kernel/iommu_groups")), Is.True);
    }

    [TestCase("dir /sys", 2, "is absolute")]
    [TestCase("file sys/../../etc/passwd = x", 2, "\"..\"")]
    [TestCase("file sys/a == x", 2, "expected \"file sys/a = TEXT\"")]
    [TestCase("bytes sys/config\n: 8g", 3, "\"8g\" is not a hex byte")]
    [TestCase("link sys/a ->", 2, "expected \"link sys/a -> TARGET\"")]
    [TestCase("frobnicate sys/a", 2, "unknown directive \"frobnicate\"")]
    [TestCase("file a = 1\nfile a = 2", 3, "a is already defined at line 2")]
    [TestCase("link up -> ../..\nfile up/escape = x", 3, "lies under up, which is a link")]
    [TestCase("file a = 1\nfile a/b = 2", 3, "lies under a, which is a file")]
    public void I_get_the_file_and_line_of_a_bad_capture_line(string body, int line, string what)
    {
        using var root = new TempDirectory();
        var e = Assert.Throws<PassthroughException>(() => Expand("# passthrough host capture 1\n" + body + "\n", root.Combine("tree")));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.StartWith($"host.txt:{line}: ").And.Contain(what));
        Assert.That(e.Remedy, Is.Not.Empty);
        Assert.That(Directory.Exists(root.Combine("tree")), Is.False, "nothing is written when any line is bad");
    }

    [Test]
    public void I_get_an_error_for_a_file_that_is_not_a_capture()
    {
        using var root = new TempDirectory();
        var e = Assert.Throws<PassthroughException>(() => Expand("<domain type='kvm'/>\n", root.Path));

        Assert.That(e!.Message, Does.StartWith("host.txt:1: not a passthrough host capture"));
    }

    [Test]
    public void Expanding_never_writes_through_a_link_already_in_the_target()
    {
        using var root = new TempDirectory();
        using var outside = new TempDirectory();
        Directory.CreateDirectory(root.Combine("tree"));
        File.CreateSymbolicLink(root.Combine("tree", "sys"), outside.Path);

        var e = Assert.Throws<PassthroughException>(() => Expand("# passthrough host capture 1\nfile sys/owned = x\n", root.Combine("tree")));

        Assert.That(e!.Message, Does.Contain("is a symbolic link"));
        Assert.That(Directory.GetFileSystemEntries(outside.Path), Is.Empty);
    }

    [Test]
    public void I_can_save_a_tree_and_get_back_the_same_capture_text()
    {
        var builder = new HostTreeBuilder()
            .Intel().Kernel("6.8.12-2-pve").Cmdline("BOOT_IMAGE=/boot/vmlinuz ro intel_iommu=on").Modules("vfio_pci", "kvm_intel")
            .Dmi("ASUSTeK COMPUTER INC.", "PRIME Z390-A", "American Megatrends Inc.", "2417", "08/05/2019")
            .Function("0000:00:00.0", "8086:3e0f", 0x060000, group: 0)
            .RootPort("0000:00:01.0", "8086:1901", group: 1, acs: true, below: b => b
                .Function("0000:01:00.0", "10de:1e87", 0x030000, subsystem: "1462:3721", revision: 0xa1, driver: "vfio-pci", group: 12, flr: true, bootVga: true)
                .Function("0000:01:00.1", "10de:10f8", 0x040300, driver: "vfio-pci", group: 12));
        using var root = new TempDirectory();
        builder.WriteTo(root.Path);

        using var saved = new StringWriter();
        HostCapture.Save(new HostRoot(root.Path), saved);

        Assert.That(saved.ToString(), Is.EqualTo(builder.ToCapture()));
    }
}
