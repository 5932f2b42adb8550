using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>Looking Glass, evdev input and their setup and doctor steps through the native binary, same as in-process.</summary>
[Parallelizable(ParallelScope.All)]
public class DesktopTests
{
    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    private static TempDirectory Desk()
    {
        var root = new TempDirectory("native-desk");
        DesktopTree.Typical().WriteTo(root.Path);
        return root;
    }

    [Test]
    public void I_get_the_same_looking_glass_device_from_the_native_binary()
    {
        using var desk = Desk();

        var shm = NativeBinary.AssertSameAsInProcess("--root", desk.Path, "xml", "add-looking-glass", Golden("add-looking-glass-ivshmem.in.xml"), "--resolution", "2560x1440");
        var kvmfr = NativeBinary.AssertSameAsInProcess("--root", desk.Path, "xml", "add-looking-glass", Golden("add-looking-glass-kvmfr.in.xml"), "--kvmfr");

        Assert.That(shm.Stdout, Is.EqualTo(File.ReadAllText(Golden("add-looking-glass-ivshmem.out.xml"))));
        Assert.That(kvmfr.Stdout, Is.EqualTo(File.ReadAllText(Golden("add-looking-glass-kvmfr.out.xml"))), "128 MiB for the desk's 3840x2160 monitor");
    }

    [Test]
    public void I_get_the_same_evdev_inputs_from_the_native_binary()
    {
        using var desk = Desk();

        var result = NativeBinary.AssertSameAsInProcess("--root", desk.Path, "xml", "add-input", Golden("add-input-evdev.in.xml"), "--evdev", "auto", "--grab-toggle", "scrolllock");

        Assert.That(result.Stdout, Is.EqualTo(File.ReadAllText(Golden("add-input-evdev.out.xml"))));
    }

    [TestCase("xml", "add-input", "--evdev", "/dev/sda")]
    [TestCase("xml", "add-looking-glass", "--resolution", "wide")]
    [TestCase("xml", "add-looking-glass", "--size", "48")]
    public void Bad_desktop_input_is_the_same_one_line_error_and_exit_2(string verb, string sub, string option, string value)
    {
        using var desk = Desk();

        var result = NativeBinary.AssertSameAsInProcess("--root", desk.Path, verb, sub, Golden("add-input-evdev.in.xml"), option, value);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        NativeBinary.AssertNoStackTrace(result);
    }

    [Test]
    public void I_get_the_same_looking_glass_setup_plan_and_doctor_findings_from_the_native_binary()
    {
        using var desk = Desk();

        var plan = NativeBinary.AssertSameAsInProcess("--root", desk.Path, "setup", "plan", "--looking-glass", "--kvmfr", "--looking-glass-user", "alice");
        var doctor = NativeBinary.AssertSameAsInProcess("--root", desk.Path, "doctor", "--xml", Golden("add-looking-glass-ivshmem.out.xml"), "--json");

        Assert.That(plan.ExitCode, Is.Zero, plan.ToString());
        Assert.That(plan.Stdout, Does.Contain("options kvmfr static_size_mb=128"));
        Assert.That(doctor.Stdout, Does.Contain("\"looking-glass-size\""));
    }
}
