using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Verbs;

public class CaptureVerbTests
{
    private static HostTreeBuilder Host() => new HostTreeBuilder()
        .Amd().Kernel("6.12.54-Unraid").Cmdline(string.Empty)
        .RootPort("0000:00:01.1", "1022:14db", group: 5, below: b => b
            .Function("0000:01:00.0", "10de:2805", 0x030000, driver: "vfio-pci", group: 14)
            .Function("0000:01:00.1", "10de:22bd", 0x040300, driver: "vfio-pci", group: 14));

    [Test]
    public void I_can_save_a_host_to_a_file_expand_it_elsewhere_and_list_the_same_gpu()
    {
        using var dir = new TempDirectory();
        var original = Host().WriteTo(dir.Combine("host"));

        var save = CliRun.Run("--root", original, "capture", "save", "-o", dir.Combine("host.txt"));
        var expand = CliRun.Run("capture", "expand", dir.Combine("host.txt"), dir.Combine("copy"));
        var before = CliRun.Run("--root", original, "list", "--json");
        var after = CliRun.Run("--root", dir.Combine("copy"), "list", "--json");

        Assert.That(save.ExitCode, Is.EqualTo(0), save.ToString());
        Assert.That(save.Stdout, Is.Empty, "the capture goes to the file");
        Assert.That(File.ReadAllText(dir.Combine("host.txt")), Does.StartWith("# passthrough host capture 1\n"));
        Assert.That(expand.ExitCode, Is.EqualTo(0), expand.ToString());
        Assert.That(after.Stdout, Does.Contain("\"0000:01:00.1\"").And.EqualTo(before.Stdout));
    }

    [Test]
    public void I_get_the_capture_on_stdout_without_o()
    {
        using var dir = new TempDirectory();
        var result = CliRun.Run("--root", Host().WriteTo(dir.Path), "capture", "save");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.StartWith("# passthrough host capture 1\n")
            .And.Contain("link sys/bus/pci/devices/0000:01:00.0 -> ../../../devices/pci0000:00/0000:00:01.1/0000:01:00.0\n")
            .And.Contain("file proc/cmdline =\n"));
    }

    [Test]
    public void I_get_exit_2_naming_file_and_line_for_a_broken_capture()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Combine("bad.host"), "# passthrough host capture 1\nfile /etc/passwd = x\n");

        var result = CliRun.Run("capture", "expand", dir.Combine("bad.host"), dir.Combine("tree"));

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("bad.host:2: /etc/passwd is absolute"));
        Assert.That(result.Stderr, Does.Not.Contain("   at "));
    }

    [Test]
    public void I_get_exit_2_for_a_capture_file_that_does_not_exist()
    {
        using var dir = new TempDirectory();
        var result = CliRun.Run("capture", "expand", dir.Combine("missing.host"), dir.Combine("tree"));

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("Cannot read"));
    }

    [Test]
    public void I_can_capture_this_machine_and_list_the_same_devices_from_the_capture()
    {
        // CI's container sees the host's PCI devices in /sys, so an empty /sys/bus/pci fails in CI.
        RealPart.Require(
            Directory.Exists("/sys/bus/pci/devices") && Directory.GetFileSystemEntries("/sys/bus/pci/devices").Length > 0,
            "this machine shows no PCI devices in /sys",
            "run the tests on a machine (or container) with /sys/bus/pci");

        using var dir = new TempDirectory();
        var save = CliRun.Run("capture", "save", "-o", dir.Combine("me.host"));
        var expand = CliRun.Run("capture", "expand", dir.Combine("me.host"), dir.Combine("me"));
        var live = CliRun.Run("list", "--all", "--json");
        var captured = CliRun.Run("--root", dir.Combine("me"), "list", "--all", "--json");

        Assert.That(save.ExitCode, Is.EqualTo(0), save.ToString());
        Assert.That(expand.ExitCode, Is.EqualTo(0), expand.ToString());
        Assert.That(captured.Stdout, Is.EqualTo(live.Stdout));
    }
}
