using NUnit.Framework;
using Passthrough.Adapters.Sysfs;
using Passthrough.Testing;

namespace Passthrough.Tests.Sysfs;

/// <summary>The tolerant file reads under every host reader: what a missing, odd or large file gives.</summary>
public class SysfsFilesTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string Write(string name, string text)
    {
        var path = _dir.Combine(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public void Attributes_read_as_the_kernel_writes_them()
    {
        Assert.That(SysfsFiles.ReadHex(Write("vendor", "0x1002\n")), Is.EqualTo(0x1002));
        Assert.That(SysfsFiles.ReadHex(Write("class", "0x030000\n")), Is.EqualTo(0x030000));
        Assert.That(SysfsFiles.ReadHex(Write("bare", "ab30")), Is.EqualTo(0xab30));
        Assert.That(SysfsFiles.ReadInt(Write("sriov_totalvfs", "7\n")), Is.EqualTo(7));
        Assert.That(SysfsFiles.ReadLine(Write("reset_method", "flr bus\n")), Is.EqualTo("flr bus"));
        Assert.That(SysfsFiles.ReadLine(Write("driver_override", "(null)\n")), Is.EqualTo("(null)"));
        Assert.That(SysfsFiles.ReadLine(Write("empty", string.Empty)), Is.EqualTo(string.Empty));
    }

    [Test]
    public void Missing_unreadable_or_malformed_files_are_unknown_not_errors()
    {
        var missing = _dir.Combine("nope");
        Directory.CreateDirectory(_dir.Combine("adir"));

        Assert.That(SysfsFiles.ReadText(missing), Is.Null);
        Assert.That(SysfsFiles.ReadLine(missing), Is.Null);
        Assert.That(SysfsFiles.ReadHex(missing), Is.Null);
        Assert.That(SysfsFiles.ReadBytes(missing, 64), Is.Null);
        Assert.That(SysfsFiles.ReadLine(_dir.Combine("adir")), Is.Null, "a directory");
        Assert.That(SysfsFiles.ReadText(_dir.Combine("adir")), Is.Null, "a directory");
        Assert.That(SysfsFiles.ReadHex(Write("garbage", "0xzz\n")), Is.Null);
        Assert.That(SysfsFiles.ReadInt(Write("words", "seven\n")), Is.Null);
        Assert.That(SysfsFiles.ReadHex(Write("huge", new string('1', 100))), Is.Null, "not a hex attribute");
        Assert.That(SysfsFiles.Exists(missing), Is.False);
        Assert.That(SysfsFiles.LinkTargetName(missing), Is.Null);
        Assert.That(SysfsFiles.LinkTargetName(Write("plain", "x")), Is.Null, "not a link");
        Assert.That(SysfsFiles.Names(missing), Is.Empty);
    }

    [Test]
    public void Files_longer_than_a_page_are_read_whole()
    {
        // /proc/cpuinfo and /proc/modules run to many pages.
        var text = string.Concat(Enumerable.Range(0, 2000).Select(i => $"module_{i} 16384 0 - Live 0x0000000000000000\n"));
        var path = Write("modules", text);

        Assert.That(SysfsFiles.ReadText(path), Is.EqualTo(text));
        Assert.That(SysfsFiles.ReadLine(path), Is.EqualTo(text.Trim()));
    }

    [Test]
    public void Binary_attributes_are_read_up_to_the_limit()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var path = _dir.Combine("config");
        File.WriteAllBytes(path, bytes);

        Assert.That(SysfsFiles.ReadBytes(path, 4096), Is.EqualTo(bytes), "an unprivileged reader gets 256 bytes of config");
        Assert.That(SysfsFiles.ReadBytes(path, 64), Is.EqualTo(bytes[..64]));
    }

    [Test]
    public void Links_give_their_target_as_sysfs_lays_them_out()
    {
        var driverDir = _dir.Combine("bus", "pci", "drivers", "vfio-pci");
        Directory.CreateDirectory(driverDir);
        var device = _dir.Combine("devices", "0000:03:00.0");
        Directory.CreateDirectory(device);
        File.CreateSymbolicLink(Path.Join(device, "driver"), "../../bus/pci/drivers/vfio-pci");
        File.CreateSymbolicLink(Path.Join(device, "dangling"), "../../kernel/iommu_groups/14");

        Assert.That(SysfsFiles.LinkTargetName(Path.Join(device, "driver")), Is.EqualTo("vfio-pci"));
        Assert.That(SysfsFiles.ResolveLink(Path.Join(device, "driver")), Is.EqualTo(driverDir));
        Assert.That(SysfsFiles.LinkTargetName(Path.Join(device, "dangling")), Is.EqualTo("14"), "the group number is in the link itself");
        Assert.That(SysfsFiles.Exists(Path.Join(device, "driver")), Is.True);
        Assert.That(SysfsFiles.Exists(Path.Join(device, "dangling")), Is.False);
        Assert.That(SysfsFiles.Names(_dir.Combine("devices")), Is.EqualTo(new[] { "0000:03:00.0" }));
    }

    [Test]
    public void Reads_inside_a_listed_directory_give_what_reads_by_path_give()
    {
        var device = _dir.Combine("devices", "0000:03:00.0");
        Directory.CreateDirectory(Path.Join(device, "power"));
        File.WriteAllText(Path.Join(device, "vendor"), "0x10de\n");
        File.WriteAllText(Path.Join(device, "reset_method"), "flr bus\n");
        File.WriteAllText(Path.Join(device, "rom"), string.Empty);
        File.CreateSymbolicLink(Path.Join(device, "driver"), "../../bus/pci/drivers/vfio-pci");
        File.CreateSymbolicLink(Path.Join(device, "iommu_group"), "../../kernel/iommu_groups/14");
        Directory.CreateDirectory(_dir.Combine("bus", "pci", "drivers", "vfio-pci"));
        string F(string name) => Path.Join(device, name);
        string[] names = ["vendor", "reset_method", "rom", "driver", "iommu_group", "power", "boot_vga", "sriov_numvfs"];
        var byPath = names.Select(n => Describe(F(n))).ToList();

        List<string> listed;
        using (SysfsFiles.ListDirectory(device))
        {
            listed = [.. names.Select(n => Describe(F(n)))];
            Assert.That(SysfsFiles.ReadHex(_dir.Combine("elsewhere")), Is.Null, "a file outside the listed directory is read by its path");
        }

        Assert.That(listed, Is.EqualTo(byPath));
        Assert.That(byPath[0], Is.EqualTo("line=0x10de hex=4318 exists=True link= names=0"));
        Assert.That(byPath[6], Is.EqualTo("line= hex= exists=False link= names=0"), "a file the function lacks");
        Assert.That(byPath[4], Does.Contain("exists=False link=14"), "a dangling link: no group directory in this tree");
    }

    [Test]
    public void A_listing_is_a_snapshot_for_one_burst_of_reads()
    {
        var device = _dir.Combine("0000:03:00.0");
        Directory.CreateDirectory(device);
        using (SysfsFiles.ListDirectory(device))
        {
            File.WriteAllText(Path.Join(device, "boot_vga"), "1\n");
            Assert.That(SysfsFiles.ReadLine(Path.Join(device, "boot_vga")), Is.Null, "made after the listing");
        }

        Assert.That(SysfsFiles.ReadLine(Path.Join(device, "boot_vga")), Is.EqualTo("1"), "once the listing is disposed, reads go by path again");
        Assert.That(SysfsFiles.ListDirectory(_dir.Combine("missing")), Is.Null);
    }

    private static string Describe(string path) =>
        $"line={SysfsFiles.ReadLine(path)} hex={SysfsFiles.ReadHex(path)} exists={SysfsFiles.Exists(path)} link={SysfsFiles.LinkTargetName(path)} names={SysfsFiles.Names(path).Length}";
}
