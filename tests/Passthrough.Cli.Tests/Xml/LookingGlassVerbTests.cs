using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>`xml add-looking-glass` and `xml add-input` through the CLI, on desktop fixture trees.</summary>
public class LookingGlassVerbTests
{
    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    private static TempDirectory Desk(DesktopTree tree)
    {
        var root = new TempDirectory("desk");
        tree.WriteTo(root.Path);
        return root;
    }

    [Test]
    public void I_can_add_looking_glass_sized_for_the_resolution_i_give()
    {
        var result = CliRun.Run("xml", "add-looking-glass", Golden("add-looking-glass-ivshmem.in.xml"), "--resolution", "2560x1440");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(File.ReadAllText(Golden("add-looking-glass-ivshmem.out.xml"))));
        Assert.That(result.Stderr, Does.Contain("64 MiB for 2560x1440").And.Contain("--memballoon none"));
    }

    [Test]
    public void I_get_looking_glass_sized_for_my_largest_monitor_by_default()
    {
        using var desk = Desk(DesktopTree.Typical());

        var result = CliRun.Run("--root", desk.Path, "xml", "add-looking-glass", Golden("add-looking-glass-ivshmem.in.xml"));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("<size unit='M'>128</size>"));
        Assert.That(result.Stderr, Does.Contain("128 MiB for 3840x2160").And.Contain("/sys/class/drm/card1-HDMI-A-1/modes"));
    }

    [Test]
    public void I_am_told_when_no_monitor_mode_was_readable_and_1080p_was_assumed()
    {
        using var desk = Desk(new DesktopTree().Connector("card0-DP-1"));

        var result = CliRun.Run("--root", desk.Path, "xml", "add-looking-glass", Golden("add-looking-glass-ivshmem.in.xml"));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("<size unit='M'>32</size>"));
        Assert.That(result.Stderr, Does.Contain("1920x1080 was assumed").And.Contain("--resolution"));
    }

    [Test]
    public void I_can_use_the_kvmfr_module_and_am_pointed_at_the_host_setup()
    {
        var result = CliRun.Run("xml", "add-looking-glass", Golden("add-looking-glass-kvmfr.in.xml"), "--kvmfr", "--resolution", "3840x2160");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(File.ReadAllText(Golden("add-looking-glass-kvmfr.out.xml"))));
        Assert.That(result.Stderr, Does.Contain("static_size_mb=128").And.Contain("setup plan --looking-glass --kvmfr"));
    }

    [Test]
    public void Adding_looking_glass_in_place_twice_changes_nothing_the_second_time()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.Copy(Golden("add-looking-glass-ivshmem.in.xml"), file);

        var first = CliRun.Run("xml", "add-looking-glass", file, "--resolution", "2560x1440", "--size", "128", "--in-place");
        var written = File.ReadAllText(file);
        var second = CliRun.Run("xml", "add-looking-glass", file, "--resolution", "2560x1440", "--size", "128", "--in-place");

        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        Assert.That(second.ExitCode, Is.EqualTo(0), second.ToString());
        Assert.That(second.Stderr, Does.Contain("already up to date"));
        Assert.That(File.ReadAllText(file), Is.EqualTo(written));
        Assert.That(written.Split("<shmem ").Length - 1, Is.EqualTo(1));
    }

    [TestCase("--resolution", "2560by1440", "--resolution 2560by1440")]
    [TestCase("--size", "48", "not a power of two")]
    [TestCase("--size", "16", "too small for 1920x1080")]
    public void Bad_looking_glass_input_is_one_line_exit_2_and_nothing_written(string option, string value, string expected)
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.Copy(Golden("add-looking-glass-ivshmem.in.xml"), file);
        var args = option == "--size" ? new[] { "--resolution", "1920x1080" } : [];

        var result = CliRun.Run(["xml", "add-looking-glass", file, option, value, "--in-place", .. args]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.StartWith("passthrough: ").And.Contain(expected));
        Assert.That(result.Stderr, Does.Not.Contain("   at "));
        Assert.That(File.ReadAllText(file), Is.EqualTo(File.ReadAllText(Golden("add-looking-glass-ivshmem.in.xml"))));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1));
    }

    [Test]
    public void I_can_hand_my_keyboard_and_mouse_to_the_guest()
    {
        using var desk = Desk(DesktopTree.Typical());

        var result = CliRun.Run("--root", desk.Path, "xml", "add-input", Golden("add-input-evdev.in.xml"), "--evdev", "auto", "--grab-toggle", "scrolllock");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(File.ReadAllText(Golden("add-input-evdev.out.xml"))));
    }

    [Test]
    public void I_can_name_the_devices_myself()
    {
        using var desk = Desk(DesktopTree.Typical());

        var result = CliRun.Run("--root", desk.Path, "xml", "add-input", Golden("add-input-evdev.in.xml"), "--evdev", "/dev/input/by-id/usb-Logitech_G815-event-kbd", "/dev/input/event7");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("<source dev='/dev/input/by-id/usb-Logitech_G815-event-kbd' grab='all' repeat='on' grabToggle='ctrl-ctrl'/>"));
        Assert.That(result.Stdout, Does.Contain("<source dev='/dev/input/event7'/>"));
    }

    [TestCase("/dev/sda", "not under /dev/input")]
    [TestCase("/dev/input/by-id/usb-Nothing-event-kbd", "no such device")]
    [TestCase("/dev/input/mice", "not /dev/input/eventN")]
    [TestCase("/dev/input/by-id/usb-Stale-event-kbd", "the kernel has no input device event9")]
    public void An_input_path_that_is_not_an_event_device_is_bad_input(string path, string why)
    {
        using var desk = Desk(DesktopTree.Typical());
        File.WriteAllText(Path.Join(desk.Path, "dev", "input", "mice"), string.Empty);
        File.WriteAllText(Path.Join(desk.Path, "dev", "input", "event9"), string.Empty);
        File.CreateSymbolicLink(Path.Join(desk.Path, "dev", "input", "by-id", "usb-Stale-event-kbd"), "../event9");
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.Copy(Golden("add-input-evdev.in.xml"), file);

        var result = CliRun.Run("--root", desk.Path, "xml", "add-input", file, "--evdev", path, "--in-place");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain($"--evdev {path}: not an input event device (").And.Contain(why));
        Assert.That(result.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(2), "one line saying what, one saying what to do");
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1));
    }

    [Test]
    public void I_am_told_when_auto_finds_no_keyboard_or_mouse()
    {
        using var desk = Desk(new DesktopTree());

        var result = CliRun.Run("--root", desk.Path, "xml", "add-input", Golden("add-input-evdev.in.xml"), "--evdev", "auto");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("no keyboard or mouse"));
    }

    [Test]
    public void Libvirt_accepts_and_keeps_the_inputs_and_the_shared_memory()
    {
        var outputs = new[] { "add-input-evdev.out.xml", "add-looking-glass-ivshmem.out.xml", "add-looking-glass-kvmfr.out.xml" }
            .Select(n => (n, File.ReadAllText(Golden(n)))).ToList();

        var verdicts = LibvirtCheck.DefineAndDump(outputs);

        Assert.Multiple(() =>
        {
            foreach (var (name, text) in outputs)
            {
                Assert.That(LibvirtCheck.Validate(text, name), Is.Null);
            }

            Assert.That(verdicts.All(v => v.Accepted), string.Join("; ", verdicts.Select(v => v.Error)));
            Assert.That(verdicts[0].Dump, Does.Contain("<source dev='/dev/input/by-id/usb-Logitech_G815-event-kbd' grab='all' grabToggle='scrolllock' repeat='on'/>"));
            Assert.That(verdicts[0].Dump, Does.Contain("<source dev='/dev/input/by-id/usb-Logitech_G502-event-mouse'/>"));
            Assert.That(verdicts[1].Dump, Does.Contain("<shmem name='looking-glass'>").And.Contain("<size unit='M'>64</size>"));
        });
    }
}
