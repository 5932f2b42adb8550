using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>`--pin` and `--hugepages` through the native binary on the CPU fixture hosts, same as in-process.</summary>
[Parallelizable(ParallelScope.All)]
public class CpuTuningTests
{
    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    [Test]
    public void I_get_a_new_vm_pinned_to_the_stacked_cache_ccd_with_1g_hugepages_from_the_native_binary()
    {
        var result = NativeBinary.AssertSameAsInProcess(
            "--root", Session.Fixture("amd-7950x3d-two-ccd"), "new", "--name", "gaming", "--slot", "01:00", "--memory", "16GiB", "--vcpus", "12",
            "--os", "win11", "--disk", "/var/lib/libvirt/images/gaming.qcow2", "--pin", "auto", "--hugepages", "on", "--hugepage-size", "1G");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("<vcpupin vcpu='1' cpuset='17'/>").And.Contain("<emulatorpin cpuset='0,16'/>").And.Contain("<page size='1048576' unit='KiB'/>"));
    }

    [Test]
    public void I_get_the_reviewed_pins_for_a_cpu_list_from_the_native_binary()
    {
        var input = File.ReadAllText(Golden("set-pin-list-no-cputune.in.xml"));

        var result = NativeBinary.AssertSameAsInProcessWith(input, ["--root", Session.Fixture("amd-5800x-8core"), "xml", "set", "-", "--pin", "6-7,14-15"]);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        // The reviewed pins, and on this AMD host topoext too: the guest gets 2 threads per core.
        Assert.That(result.Stdout, Is.EqualTo(File.ReadAllText(Golden("set-pin-list-no-cputune.out.xml"))
            .Replace("threads='2'/>\n", "threads='2'/>\n    <feature policy='require' name='topoext'/>\n", StringComparison.Ordinal)));
        Assert.That(result.Stderr, Is.EqualTo("passthrough: require topoext on the guest CPU: AMD host and 2 threads per core, which the guest sees as SMT only with topoext\n"));
    }

    [TestCase("--pin", "0-3,8-11")]
    [TestCase("--pin", "2-5")]
    [TestCase("--pin", "2,40")]
    [TestCase("--pin", "auto", "--host-cores", "8")]
    [TestCase("--hugepages", "on", "--hugepage-size", "4M")]
    public void I_get_the_same_one_line_refusal_from_the_native_binary(params string[] options)
    {
        var result = NativeBinary.AssertSameAsInProcess(["--root", Session.Fixture("amd-5800x-8core"), "xml", "set", Golden("set-pin-list-no-cputune.in.xml"), .. options]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(2), result.Stderr);
    }
}
