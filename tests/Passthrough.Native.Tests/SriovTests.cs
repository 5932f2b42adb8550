using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>Issue 15 through the native binary: an iGPU with SR-IOV VFs (one on xe_vfio_pci).</summary>
public class SriovTests
{
    private const string Domain = "<domain type='kvm'><name>vf</name><os><type arch='x86_64' machine='q35'>hvm</type></os><devices><controller type='pci' index='0' model='pcie-root'/></devices></domain>\n";

    private TempDirectory _dir = null!;
    private string _root = null!;

    [OneTimeSetUp]
    public void Expand()
    {
        _dir = new TempDirectory("passthrough-native-sriov");
        _root = _dir.Combine("host");
        var expand = NativeBinary.Run("capture", "expand", FixtureHosts.PathOf("igpu-sriov-xe"), _root);
        Assert.That(expand.ExitCode, Is.Zero, expand.ToString());
    }

    [OneTimeTearDown]
    public void Remove() => _dir.Dispose();

    [Test]
    public void I_can_pass_one_virtual_function_with_its_variant_driver()
    {
        var file = _dir.Combine("vf.xml");
        File.WriteAllText(file, Domain);

        var result = NativeBinary.AssertSameAsInProcess("--root", _root, "xml", "add-gpu", file, "--slot", "0000:00:02.1", "--driver-model", "xe_vfio_pci");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("<driver model='xe_vfio_pci'/>").And.Contain("function='0x1'/>"));
    }

    [TestCase("--functions", "0,1")]
    [TestCase("--driver-model", "xe")]
    public void Bad_sriov_and_driver_model_input_is_one_error_exit_2_and_the_file_unchanged(string option, string value)
    {
        var file = _dir.Combine($"bad-{value}.xml");
        File.WriteAllText(file, Domain);

        var result = NativeBinary.AssertSameAsInProcess("--root", _root, "xml", "add-gpu", file, "--slot", option == "--functions" ? "0000:00:02" : "0000:00:02.1", option, value, "--in-place");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.StartWith("passthrough: "));
        NativeBinary.AssertNoStackTrace(result);
        Assert.That(File.ReadAllText(file), Is.EqualTo(Domain));
    }

    [Test]
    public void Binding_the_slot_of_an_sriov_igpu_is_refused_with_exit_2()
    {
        var result = NativeBinary.AssertSameAsInProcess("--root", _root, "bind", "0000:00:02");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("unbinding its driver xe would remove them"));
        Assert.That(File.ReadAllText(Path.Join(_root, "sys/bus/pci/devices/0000:00:02.0/driver_override")), Is.EqualTo("(null)\n"));
    }
}
