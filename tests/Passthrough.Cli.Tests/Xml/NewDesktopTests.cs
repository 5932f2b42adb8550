using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>`new --looking-glass --evdev auto`: the new domain has what `xml add-looking-glass` and `xml add-input` add.</summary>
public class NewDesktopTests
{
    private static TempDirectory Host()
    {
        var root = SmallHost.Workstation();
        DesktopTree.Typical().WriteTo(root.Path);
        return root;
    }

    [Test]
    public void I_can_create_a_vm_with_looking_glass_and_my_keyboard_and_mouse()
    {
        using var host = Host();

        var result = CliRun.Run("--root", host.Path, "new", "--name", "win11", "--slot", "03:00", "--memory", "16GiB", "--vcpus", "8", "--os", "win11", "--disk", "/var/lib/libvirt/images/win11.qcow2", "--looking-glass", "--evdev", "auto");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("<shmem name='looking-glass'>").And.Contain("<size unit='M'>128</size>"));
        Assert.That(result.Stdout, Does.Contain("<source dev='/dev/input/by-id/usb-Logitech_G815-event-kbd' grab='all' repeat='on' grabToggle='ctrl-ctrl'/>"));
        Assert.That(LibvirtCheck.Validate(result.Stdout), Is.Null);
        Assert.That(LibvirtCheck.DefineAndDump([("new", result.Stdout)])[0].Accepted, Is.True);
    }

    [Test]
    public void I_can_give_new_the_size_and_the_kvmfr_style()
    {
        using var host = Host();

        var result = CliRun.Run("--root", host.Path, "new", "--name", "win11", "--slot", "03:00", "--memory", "16GiB", "--vcpus", "8", "--os", "win11", "--disk", "/var/lib/libvirt/images/win11.qcow2", "--looking-glass", "256", "--kvmfr");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("\"size\":268435456").And.Contain("xmlns:qemu="));
    }

    [Test]
    public void A_looking_glass_size_too_small_for_new_is_bad_input_and_no_xml_is_printed()
    {
        using var host = Host();

        var result = CliRun.Run("--root", host.Path, "new", "--name", "win11", "--slot", "03:00", "--memory", "16GiB", "--vcpus", "8", "--os", "win11", "--disk", "/var/lib/libvirt/images/win11.qcow2", "--looking-glass", "64");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("--looking-glass 64: 64 MiB is too small for 3840x2160"));
        Assert.That(result.Stdout, Is.Empty);
    }
}
