using System.Text.Json;
using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>`new --disk PATH,SIZE` creates the image with the real qemu-img, and never over an existing one.</summary>
public class NewDiskTests
{
    private const string Images = "/var/lib/libvirt/images";

    private static string[] NewWin11(string disk, params string[] more) =>
        ["new", "--name", "win11", "--slot", "0000:03:00", "--memory", "16GiB", "--vcpus", "12", "--os", "win11", "--disk", disk, .. more];

    private static TempDirectory HostWithImages()
    {
        var host = SmallHost.Workstation();
        Directory.CreateDirectory(host.Combine(Images));
        return host;
    }

    private static (string Format, long VirtualSize) QemuImgInfo(string file)
    {
        var info = ProcessRunner.Instance.RunAsync("qemu-img", ["info", "--output=json", file]).GetAwaiter().GetResult().EnsureSuccess();
        using var json = JsonDocument.Parse(info.Stdout);
        return (json.RootElement.GetProperty("format").GetString()!, json.RootElement.GetProperty("virtual-size").GetInt64());
    }

    private static string DriverType(string xml) =>
        DomainDocument.Parse(xml, "new.xml").Root.Descendants("disk").Single(d => (string?)d.Attribute("device") == "disk").Element("driver")!.Attribute("type")!.Value;

    [TestCase("win11.qcow2", "64GiB", "qcow2", 64L << 30)]
    [TestCase("win11.img", "512M", "raw", 512L << 20)]
    public void I_can_have_new_create_the_disk_the_domain_boots_from(string file, string size, string format, long bytes)
    {
        using var host = HostWithImages();

        var result = CliRun.Run(["--root", host.Path, .. NewWin11($"{Images}/{file},{size}")]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var image = host.Combine(Images, file);
        Assert.That(File.Exists(image), Is.True, "the disk was created");
        Assert.That(QemuImgInfo(image), Is.EqualTo((format, bytes)));
        Assert.That(DriverType(result.Stdout), Is.EqualTo(format), "the domain reads the image in the format it was created in");
        Assert.That(result.Stdout, Does.Contain($"<source file='{Images}/{file}'/>"));
        Assert.That(result.Stderr, Does.Contain($"created disk {image} ({format}, {size[..^(size.EndsWith("iB", StringComparison.Ordinal) ? 2 : 0)]})"));
    }

    [Test]
    public void I_can_run_new_again_without_losing_the_disk_my_guest_is_installed_on()
    {
        using var host = HostWithImages();
        var image = host.Combine(Images, "win11.qcow2");
        var installed = new byte[] { 0x51, 0x46, 0x49, 0xfb, 1, 2, 3, 4 }; // not even a valid image: it must not matter
        File.WriteAllBytes(image, installed);
        var lastWeek = DateTime.UtcNow.AddDays(-7);
        File.SetLastWriteTimeUtc(image, lastWeek);

        var result = CliRun.Run(["--root", host.Path, .. NewWin11($"{Images}/win11.qcow2,120G")]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(File.ReadAllBytes(image), Is.EqualTo(installed));
        Assert.That(File.GetLastWriteTimeUtc(image), Is.EqualTo(lastWeek));
        Assert.That(result.Stderr, Does.Contain($"disk {image} exists; using it as it is (not overwritten, not resized to 120G)"));
        Assert.That(result.Stdout, Does.Contain($"<source file='{Images}/win11.qcow2'/>"));
    }

    [Test]
    public void I_can_only_print_the_qemu_img_command_with_no_create()
    {
        using var host = HostWithImages();

        var result = CliRun.Run(["--root", host.Path, .. NewWin11($"{Images}/win11.qcow2,120GiB", "--no-create")]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(File.Exists(host.Combine(Images, "win11.qcow2")), Is.False);
        Assert.That(result.Stderr, Does.Contain($"create the disk first: qemu-img create -f qcow2 {host.Combine(Images, "win11.qcow2")} 120G"));
        Assert.That(result.Stdout, Does.StartWith("<domain"));
    }

    [Test]
    public void I_get_one_clear_line_and_no_domain_when_qemu_img_is_not_installed()
    {
        using var host = HostWithImages();
        var runner = new MissingProgramRunnerFake("qemu-img");

        var result = CliRun.RunAsync(["--root", host.Path, .. NewWin11($"{Images}/win11.qcow2,120G")], runner: runner).GetAwaiter().GetResult();

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(runner.Tried, Is.EqualTo(new[] { $"qemu-img create -f qcow2 {host.Combine(Images, "win11.qcow2")} 120G" }));
        Assert.That(result.Stdout, Is.Empty, "no domain XML for a VM without its disk");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("passthrough: Cannot create the disk: `qemu-img` could not be started (not installed, or not on PATH)."));
        Assert.That(lines[1], Does.Contain("apt install qemu-utils").And.Contain("--no-create"));
        Assert.That(result.Stderr, Does.Not.Contain(" at "), "no stack trace");
        Assert.That(File.Exists(host.Combine(Images, "win11.qcow2")), Is.False);
    }

    [Test]
    public void I_get_qemu_imgs_own_reason_and_no_leftover_file_when_it_fails()
    {
        using var host = HostWithImages();

        // Real qemu-img refuses this size after it has already created an empty raw file.
        var result = CliRun.Run(["--root", host.Path, .. NewWin11($"{Images}/win11.img,100000T")]);

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Does.Contain($"`qemu-img create -f raw {host.Combine(Images, "win11.img")} 100000T` failed (exit 1): qemu-img:").And.Contain("too large"));
        Assert.That(File.Exists(host.Combine(Images, "win11.img")), Is.False, "no half-made disk is left behind");
    }

    [TestCase("120", "the size needs a unit")]
    [TestCase("120X", "unknown unit 'X'")]
    [TestCase("big", "expected a disk size such as 120G")]
    public void I_am_told_when_the_disk_size_makes_no_sense(string size, string message)
    {
        using var host = HostWithImages();

        var result = CliRun.Run(["--root", host.Path, .. NewWin11($"{Images}/win11.qcow2,{size}")]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain(message));
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(Directory.EnumerateFileSystemEntries(host.Combine(Images)), Is.Empty);
    }

    [Test]
    public void I_am_told_when_the_disks_directory_does_not_exist()
    {
        using var host = SmallHost.Workstation();

        var result = CliRun.Run(["--root", host.Path, .. NewWin11("/srv/vms/win11.qcow2,120G")]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain($"the directory {host.Combine("/srv/vms")} does not exist").And.Contain("mkdir -p"));
        Assert.That(result.Stdout, Is.Empty);
    }
}
