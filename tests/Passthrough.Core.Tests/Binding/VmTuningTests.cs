using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Tests.Binding;

public class VmTuningTests
{
    private static string Domain(string config, string body = "") => $"""
        <domain type='kvm'>
          <name>win11</name>
          <uuid>9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f</uuid>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="dynamic">
              {config}
            </passthrough:config>
          </metadata>
          <memory unit='GiB'>16</memory>
          {body}
        </domain>
        """;

    private const string Pinned = """
        <memoryBacking><hugepages><page size='1' unit='G'/></hugepages></memoryBacking>
        <cputune>
          <vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='10'/>
          <vcpupin vcpu='2' cpuset='3-4,^4'/><vcpupin vcpu='3' cpuset='11'/>
          <emulatorpin cpuset='0,8'/>
        </cputune>
        """;

    private static CpuSet Cpus(string list) => CpuSet.TryParse(list, out var set) ? set : throw new ArgumentException(list);

    [Test]
    public void I_can_ask_for_the_cpus_the_vcpus_are_pinned_to_to_be_left_to_the_vm()
    {
        var tuning = VmPassthroughConfig.FromXml(Domain("<passthrough:isolate cpus='auto'/>", Pinned), "win11.xml")!.Tuning;

        Assert.That(tuning.Isolation!.VmCpus.ToString(), Is.EqualTo("2-3,10-11"), "the vcpupins only, not the emulator's");
        Assert.That(tuning.Isolation.Auto, Is.True);
        Assert.That(tuning.Hugepages, Is.Null);
    }

    [Test]
    public void I_can_name_the_vm_cpus_and_ask_for_its_hugepages()
    {
        var tuning = VmPassthroughConfig.FromXml(Domain("<passthrough:isolate cpus='4-7,12-15'/><passthrough:hugepages allocate='yes'/>", Pinned), "win11.xml")!.Tuning;

        Assert.That(tuning.Isolation!.VmCpus.ToString(), Is.EqualTo("4-7,12-15"));
        Assert.That(tuning.Hugepages, Is.EqualTo(new HugepagesAllocation(16L * 1024 * 1024, 1024 * 1024)));
        Assert.That(tuning.Hugepages!.PagesOf(1024 * 1024), Is.EqualTo(16));
        Assert.That(tuning.Hugepages.PagesOf(2048), Is.EqualTo(8192));
    }

    [TestCase("<passthrough:isolate cpus='auto'/>", "", "needs the VM's CPUs, but the domain has no <cputune><vcpupin")]
    [TestCase("<passthrough:isolate cpus='two'/>", "", "<passthrough:isolate cpus=\"two\"> is not a CPU list")]
    [TestCase("<passthrough:isolate/>", "", "<passthrough:isolate cpus=\"\"> is not a CPU list")]
    [TestCase("<passthrough:hugepages allocate='yes'/>", "", "has no <memoryBacking><hugepages/>")]
    [TestCase("<passthrough:hugepages allocate='maybe'/>", "", "must be \"yes\" or \"no\"")]
    public void I_get_the_line_and_what_to_write_for_a_bad_tuning_element(string config, string body, string expected)
    {
        var error = Assert.Throws<PassthroughException>(() => VmPassthroughConfig.FromXml(Domain(config, body), "win11.xml"));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.StartWith("win11.xml:").And.Contain(expected));
        Assert.That(error.Remedy, Is.Not.Empty);
    }

    [Test]
    public void I_get_the_cpu_list_and_the_bitmask_systemd_uses_for_the_same_cpus()
    {
        var cpus = Cpus("0-3,8,10-11");

        Assert.That(cpus.ToString(), Is.EqualTo("0-3,8,10-11"));
        Assert.That(cpus.ToMask(), Is.EqualTo(new byte[] { 0b0000_1111, 0b0000_1101 }));
        Assert.That(CpuSet.FromMask(cpus.ToMask()), Is.EqualTo(cpus));
        Assert.That(CpuSet.Empty.ToMask(), Is.Empty, "empty AllowedCPUs: no restriction");
        Assert.That(CpuSet.TryParse("3-1", out _), Is.False);
        Assert.That(CpuSet.TryParse("0,,1", out _), Is.False);
    }

    [Test]
    public void I_keep_the_cpus_a_unit_was_already_limited_to_minus_the_vm_ones()
    {
        var facts = new HostTuningFacts
        {
            OnlineCpus = Cpus("0-15"),
            AllowedCpus = new Dictionary<string, CpuSet> { ["system.slice"] = Cpus("0-11") },
        };

        var steps = HostTuningPlan.Build(VmTuning.None.WithIsolation(new CpuIsolation(Cpus("4-7,12-15"), false)), facts, "VM 'win11'");

        Assert.That(steps.Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "set AllowedCPUs of init.scope to 0-3,8-11",
            "set AllowedCPUs of system.slice to 0-3,8-11",
            "set AllowedCPUs of user.slice to 0-3,8-11",
        }));
        var restore = HostTuningPlan.Restore([.. steps.Select(s => s.Records!)]);
        Assert.That(restore.Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "set AllowedCPUs of user.slice to all CPUs",
            "set AllowedCPUs of system.slice to 0-11",
            "set AllowedCPUs of init.scope to all CPUs",
        }));
    }

    [Test]
    public void I_raise_only_the_hugepages_that_are_not_free_already()
    {
        var facts = new HostTuningFacts { Pools = [new HugepagePool(2048, Total: 100, Free: 60)], DefaultPageKiB = 2048 };

        var steps = HostTuningPlan.Build(VmTuning.None.WithHugepages(new HugepagesAllocation(256 * 1024, null)), facts, "VM 'win11'");

        Assert.That(steps, Has.Count.EqualTo(1));
        Assert.That(steps[0], Is.EqualTo(new RaiseHugepagesStep(2048, Target: 168, Needed: 128, "VM 'win11'") { Records = steps[0].Records }));
        Assert.That(HostTuningPlan.Build(VmTuning.None.WithHugepages(new HugepagesAllocation(64 * 1024, null)), facts, "VM 'win11'"), Is.Empty, "32 pages are free already");
    }

    [Test]
    public void I_get_told_the_host_lacks_the_page_size_the_domain_asks_for()
    {
        var facts = new HostTuningFacts { Pools = [new HugepagePool(2048, 0, 0)], DefaultPageKiB = 2048 };

        var error = Assert.Throws<PassthroughException>(() => HostTuningPlan.Build(VmTuning.None.WithHugepages(new HugepagesAllocation(1024 * 1024, 1024 * 1024)), facts, "VM 'win11'"));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.Contain("1 GiB hugepages, which this host does not offer").And.Contain("sizes: 2 MiB"));
    }

    [TestCase(110, 10)] // as we left it
    [TestCase(210, 110)] // another VM added 100 meanwhile: kept
    [TestCase(50, 10)] // the kernel found fewer than asked (a crash before the check)
    [TestCase(5, 5)] // someone lowered it below what it was: never raised on release
    public void I_give_back_only_the_pages_i_added(long now, long expected)
    {
        var step = new GiveBackHugepagesStep(2048, Previous: 10, Raised: 100);

        Assert.That(step.TargetFrom(now), Is.EqualTo(expected));
    }
}
