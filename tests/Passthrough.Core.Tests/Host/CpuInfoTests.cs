using NUnit.Framework;
using Passthrough.Host;

namespace Passthrough.Tests.Cpu;

public class CpuInfoTests
{
    private const string TwoProcessors = """
        processor	: 0
        vendor_id	: AuthenticAMD
        model name	: AMD Ryzen 7 5800X 8-Core Processor
        siblings	: 16
        cpu cores	: 8
        flags		: fpu vme pse svm pdpe1gb topoext

        processor	: 1
        vendor_id	: GenuineIntel
        model name	: something else
        flags		: vmx

        """;

    [Test]
    public void I_get_the_first_processors_vendor_model_flags_and_smt_from_proc_cpuinfo()
    {
        var cpu = CpuInfo.Parse(TwoProcessors.ReplaceLineEndings("\n"));

        Assert.That(cpu.Vendor, Is.EqualTo("AuthenticAMD"));
        Assert.That(cpu.Model, Is.EqualTo("AMD Ryzen 7 5800X 8-Core Processor"));
        Assert.That(cpu.Flags, Is.EqualTo(new[] { "fpu", "vme", "pse", "svm", "pdpe1gb", "topoext" }));
        Assert.That(cpu.HasFlag("pdpe1gb"), Is.True);
        Assert.That(cpu.HasFlag("vmx"), Is.False, "the second processor's flags are not read");
        Assert.That(cpu.Smt, Is.True, "16 siblings on 8 cores");
        Assert.That(CpuInfo.IsAmdVendor(cpu.Vendor), Is.True);
    }

    [Test]
    public void I_get_nothing_known_when_proc_cpuinfo_cannot_be_read()
    {
        Assert.That(CpuInfo.Parse(null), Is.EqualTo(CpuInfo.Empty));
        Assert.That(CpuInfo.Parse("processor\t: 0\n").Smt, Is.Null, "no siblings or cpu cores line");
        Assert.That(CpuInfo.IsAmdVendor("GenuineIntel"), Is.False);
    }
}
