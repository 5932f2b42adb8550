using NUnit.Framework;

namespace Passthrough.Native.Tests;

/// <summary>keep-on-vfio on a single-gpu VM through the native binary: lint warns, `xml set` refuses, same as in-process.</summary>
[Parallelizable(ParallelScope.All)]
public class KeepOnVfioTests
{
    private const string SingleGpuKept = """
        <domain type='kvm'>
          <name>win11</name>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="single-gpu">
              <passthrough:release keep-on-vfio="yes"/>
            </passthrough:config>
          </metadata>
          <os><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices/>
        </domain>

        """;

    [Test]
    public void I_get_the_keep_on_vfio_single_gpu_warning_from_the_native_binary()
    {
        var text = NativeBinary.AssertSameAsInProcessWith(SingleGpuKept, "xml", "lint", "-");
        var json = NativeBinary.AssertSameAsInProcessWith(SingleGpuKept, "xml", "lint", "-", "--json");

        Assert.That(text.ExitCode, Is.Zero, "a warning: " + text);
        Assert.That(text.Stdout, Does.Contain("warning keep-on-vfio-single-gpu: <stdin>:5: <passthrough:release keep-on-vfio=\"yes\"> does nothing in single-gpu mode"));
        Assert.That(text.Stdout, Does.Contain("`passthrough xml set FILE --keep-on-vfio off`"));
        Assert.That(json.Stdout, Does.Contain("\"id\": \"keep-on-vfio-single-gpu\"").Or.Contain("\"id\":\"keep-on-vfio-single-gpu\""));
    }

    [Test]
    public void I_get_the_same_one_line_refusal_of_keep_on_vfio_for_a_single_gpu_vm_from_the_native_binary()
    {
        var result = NativeBinary.AssertSameAsInProcessWith(SingleGpuKept.Replace("\n      <passthrough:release keep-on-vfio=\"yes\"/>", string.Empty, StringComparison.Ordinal), "xml", "set", "-", "--keep-on-vfio", "on");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Does.StartWith("passthrough: <stdin>: --keep-on-vfio on does nothing for a single-gpu VM"));
        Assert.That(result.Stderr.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(2));
    }
}
