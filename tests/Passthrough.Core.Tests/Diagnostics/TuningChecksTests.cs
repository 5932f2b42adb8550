using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Diagnostics;
using static Passthrough.Tests.Diagnostics.SeedHosts;

namespace Passthrough.Tests.Diagnostics;

public class TuningChecksTests
{
    private const string MemInfo = "MemTotal:       32768000 kB\nMemAvailable:    6291456 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n";

    private static VmFacts Vm(string config, string body) => VmDefinition.Parse(
        $"""
        <domain type='kvm'>
          <name>win11</name>
          <metadata><passthrough:config xmlns:passthrough="urn:passthrough:1" mode="dynamic">{config}</passthrough:config></metadata>
          <memory unit='GiB'>8</memory>
          {body}
        </domain>
        """,
        "win11.xml");

    private const string PinnedTo2To7 = "<cputune><vcpupin vcpu='0' cpuset='2-3'/><vcpupin vcpu='1' cpuset='4-7'/></cputune>";

    private static DoctorEvidence Evidence(string cmdline, VmFacts vm, params HugepagePool[] pools) => Seed001() with
    {
        Host = MakeHost(Amd(cmdline, "6.12"), null),
        Vm = vm,
        MemInfo = MemInfo,
        HugepagePools = pools,
    };

    private static Finding Single(DoctorEvidence evidence, string id)
    {
        var found = Doctor.Run(evidence).WithId(id).ToList();
        Assert.That(found, Has.Count.EqualTo(1), string.Join(" | ", found));
        return found[0];
    }

    [Test]
    public void I_get_a_warning_with_the_remedy_when_pinned_cpus_are_shared_with_the_host()
    {
        var finding = Single(Evidence("iommu=pt", Vm(string.Empty, PinnedTo2To7)), TuningChecks.CpuIsolationId);

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Message, Does.Contain("pinned to CPU 2-7, which host processes share"));
        Assert.That(finding.Evidence, Does.Contain("<cputune><vcpupin cpuset>: 2-7").And.Contain("/proc/cmdline: no isolcpus= or nohz_full=").And.Contain("<passthrough:isolate>: not set"));
        Assert.That(finding.Remedy, Does.Contain("<passthrough:isolate cpus=\"auto\"/>").And.Contain("isolcpus=2-7"));
    }

    [Test]
    public void I_get_only_the_cpus_boot_isolation_leaves_out()
    {
        var finding = Single(Evidence("iommu=pt isolcpus=domain,managed_irq,2-5", Vm(string.Empty, PinnedTo2To7)), TuningChecks.CpuIsolationId);

        Assert.That(finding.Message, Does.Contain("pinned to CPU 6-7,"));
        Assert.That(finding.Evidence, Does.Contain("/proc/cmdline: isolcpus=domain,managed_irq,2-5"));
    }

    [TestCase("<passthrough:isolate cpus='auto'/>", "iommu=pt", "while it runs")]
    [TestCase("", "iommu=pt nohz_full=2-7", "from boot")]
    public void I_get_ok_when_the_pinned_cpus_are_isolated(string config, string cmdline, string how)
    {
        var finding = Single(Evidence(cmdline, Vm(config, PinnedTo2To7)), TuningChecks.CpuIsolationId);

        Assert.That(finding.Severity, Is.EqualTo(Severity.Ok));
        Assert.That(finding.Message, Does.Contain(how));
    }

    [Test]
    public void I_get_an_error_when_the_vm_is_backed_by_hugepages_that_are_not_free()
    {
        var vm = Vm(string.Empty, "<memoryBacking><hugepages><page size='1' unit='G'/></hugepages></memoryBacking>");

        var finding = Single(Evidence("iommu=pt", vm, new HugepagePool(2048, 0, 0), new HugepagePool(1024 * 1024, Total: 4, Free: 2)), TuningChecks.HugepagesAllocatableId);

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Message, Does.Contain("backed by 8 1 GiB hugepages but only 2 are free").And.Contain("6 short"));
        Assert.That(finding.Evidence, Does.Contain("1 GiB pages: 4 reserved, 2 free").And.Contain("/proc/meminfo: MemAvailable: 6291456 kB"));
        Assert.That(finding.Remedy, Does.Contain("hugepagesz=1G hugepages=8").And.Contain("<passthrough:hugepages allocate=\"yes\"/>"));
    }

    [Test]
    public void I_get_an_error_when_allocating_at_start_cannot_find_the_memory()
    {
        // 8 GiB in 2 MiB pages, with 6 GiB available.
        var vm = Vm("<passthrough:hugepages allocate='yes'/>", "<memoryBacking><hugepages/></memoryBacking>");

        var finding = Single(Evidence("iommu=pt", vm, new HugepagePool(2048, 0, 0)), TuningChecks.HugepagesAllocatableId);

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Message, Does.Contain("needs 4096 more 2 MiB hugepages (8 GiB) but the kernel has only 6 GiB available"));
        Assert.That(finding.Remedy, Does.Contain("hugepagesz=2M hugepages=4096"));
    }

    [Test]
    public void I_get_told_allocation_will_happen_at_start_when_the_memory_is_there()
    {
        var vm = Vm("<passthrough:hugepages allocate='yes'/>", "<memoryBacking><hugepages/></memoryBacking>") with { MemoryKiB = 4L * 1024 * 1024 };

        var finding = Single(Evidence("iommu=pt", vm, new HugepagePool(2048, 0, 0)), TuningChecks.HugepagesAllocatableId);

        Assert.That(finding.Severity, Is.EqualTo(Severity.Info));
        Assert.That(finding.Message, Does.Contain("needs 2048 more 2 MiB hugepages, which prepare will ask the kernel for"));
    }

    [Test]
    public void I_get_no_tuning_findings_for_a_vm_that_pins_nothing_and_uses_no_hugepages()
    {
        var report = Doctor.Run(Evidence("iommu=pt", Vm(string.Empty, string.Empty), new HugepagePool(2048, 0, 0)));

        Assert.That(report.WithId(TuningChecks.CpuIsolationId), Is.Empty);
        Assert.That(report.WithId(TuningChecks.HugepagesAllocatableId), Is.Empty);
    }
}
