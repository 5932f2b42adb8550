using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Doctor;

/// <summary>doctor --xml on a VM with Looking Glass and evdev inputs, on a desktop fixture tree.</summary>
public class DesktopDoctorTests
{
    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    private static JsonElement[] Findings(CliResult result, string id)
    {
        using var doc = JsonDocument.Parse(result.Stdout);
        return [.. doc.RootElement.GetProperty("findings").EnumerateArray().Where(f => f.GetProperty("id").GetString() == id).Select(f => f.Clone())];
    }

    [Test]
    public void I_am_warned_when_the_looking_glass_memory_is_too_small_for_my_largest_monitor()
    {
        using var root = new TempDirectory("desk");
        DesktopTree.Typical().WriteTo(root.Path);

        // 64 MiB: enough for 2560x1440, not for the fixture's 3840x2160 monitor.
        var result = CliRun.Run("--root", root.Path, "doctor", "--xml", Golden("add-looking-glass-ivshmem.out.xml"), "--json");

        var finding = Findings(result, "looking-glass-size").Single();
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("warning"), result.Stdout);
        Assert.That(finding.GetProperty("message").GetString(), Does.Contain("64 MiB, too small for 3840x2160 (needs 128 MiB)"));
        Assert.That(finding.GetProperty("evidence").EnumerateArray().Select(e => e.GetString()), Has.Some.Contain("/sys/class/drm/card1-HDMI-A-1/modes"));
        Assert.That(finding.GetProperty("remedy").GetString(), Does.Contain("xml add-looking-glass FILE --resolution 3840x2160"));
    }

    [Test]
    public void The_kvmfr_device_is_fine_when_it_holds_the_resolution()
    {
        using var root = new TempDirectory("desk");
        DesktopTree.Typical().WriteTo(root.Path);

        var result = CliRun.Run("--root", root.Path, "doctor", "--xml", Golden("add-looking-glass-kvmfr.out.xml"), "--json");

        var finding = Findings(result, "looking-glass-size").Single();
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("ok"), result.Stdout);
        Assert.That(finding.GetProperty("message").GetString(), Does.Contain("(128 MiB) holds 3840x2160"));
    }

    [Test]
    public void I_am_told_which_evdev_input_is_gone_and_what_to_do()
    {
        using var root = new TempDirectory("desk");
        new DesktopTree().Keyboard("usb-Logitech_G815", 3).WriteTo(root.Path);

        var result = CliRun.Run("--root", root.Path, "doctor", "--xml", Golden("add-input-evdev.out.xml"), "--json");

        var findings = Findings(result, "evdev-source");
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(findings.Select(f => (f.GetProperty("subject").GetString(), f.GetProperty("severity").GetString())), Is.EquivalentTo(new[]
        {
            ("/dev/input/by-id/usb-Logitech_G815-event-kbd", "ok"),
            ("/dev/input/by-id/usb-Logitech_G502-event-mouse", "error"),
        }));
        var missing = findings.Single(f => f.GetProperty("severity").GetString() == "error");
        Assert.That(missing.GetProperty("evidence")[0].GetString(), Does.Contain("add-input-evdev.out.xml:"));
        Assert.That(missing.GetProperty("remedy").GetString(), Does.Contain("--evdev auto"));
    }

    [Test]
    public void A_vm_without_looking_glass_or_evdev_gets_no_such_findings()
    {
        using var root = new TempDirectory("desk");

        var result = CliRun.Run("--root", root.Path, "doctor", "--xml", Golden("add-input-evdev.in.xml"), "--json");

        Assert.That(Findings(result, "looking-glass-size"), Is.Empty);
        Assert.That(Findings(result, "evdev-source"), Is.Empty);
    }
}
