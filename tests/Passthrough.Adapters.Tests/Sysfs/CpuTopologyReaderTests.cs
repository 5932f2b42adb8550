using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Capture;
using Passthrough.Adapters.Sysfs;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Testing;

namespace Passthrough.Tests.Sysfs;

/// <summary>The CPU topology and hugepage sizes as read from sysfs trees laid out like the kernel's.</summary>
public class CpuTopologyReaderTests
{
    private static IEnumerable<TestCaseData> CpuFixtures()
    {
        yield return new TestCaseData("amd-7950x3d-two-ccd", CpuFixtureHosts.X3D).SetArgDisplayNames("7950X3D");
        yield return new TestCaseData("intel-13700k-hybrid", CpuFixtureHosts.Hybrid).SetArgDisplayNames("13700K");
        yield return new TestCaseData("amd-5800x-8core", CpuFixtureHosts.EightCore).SetArgDisplayNames("5800X");
    }

    private static string Describe(HostCpuTopology t) =>
        string.Join("; ", t.Cores.Select(c => $"{c.Cpus}:{c.Kind}:{c.L3?.Cpus}:{c.L3?.SizeKiB}"));

    [TestCaseSource(nameof(CpuFixtures))]
    public void I_read_the_cores_caches_and_core_kinds_of_each_fixture_cpu(string fixture, HostCpuTopology expected)
    {
        using var dir = new TempDirectory();
        FixtureHosts.Expand(fixture, dir.Path);

        var read = new CpuTopologyReader(new HostRoot(dir.Path)).Read();

        Assert.That(Describe(read), Is.EqualTo(Describe(expected)));
        Assert.That(read.Online, Is.EqualTo(expected.Online));
    }

    [Test]
    public void I_see_two_l3_sizes_on_the_x3d_part_and_p_and_e_cores_on_the_hybrid()
    {
        using var x3d = new TempDirectory();
        using var hybrid = new TempDirectory();
        FixtureHosts.Expand("amd-7950x3d-two-ccd", x3d.Path);
        FixtureHosts.Expand("intel-13700k-hybrid", hybrid.Path);

        var amd = new CpuTopologyReader(new HostRoot(x3d.Path)).Read();
        var intel = new CpuTopologyReader(new HostRoot(hybrid.Path)).Read();

        Assert.That(amd.L3Sizes, Is.EqualTo(new long[] { 32768, 98304 }));
        Assert.That(amd.CoreOf(16)!.Cpus.ToString(), Is.EqualTo("0,16"));
        Assert.That(intel.Cores.Count(c => c.Kind == CoreKind.Performance), Is.EqualTo(8));
        Assert.That(intel.Cores.Count(c => c.Kind == CoreKind.Efficiency), Is.EqualTo(8));
        Assert.That(intel.CoreOf(1)!.Cpus.ToString(), Is.EqualTo("0-1"));
    }

    [Test]
    public void An_offline_sibling_is_not_part_of_its_core()
    {
        using var dir = new TempDirectory();
        new HostTreeBuilder().Amd().CpuTopology(adjacentSiblings: false, new CpuCluster(4, 2, 32768))
            .File("/sys/devices/system/cpu/online", "0-6\n")
            .WriteTo(dir.Path);

        var read = new CpuTopologyReader(new HostRoot(dir.Path)).Read();

        Assert.That(read.CoreOf(3)!.Cpus.ToString(), Is.EqualTo("3"), "CPU 7, its sibling, is offline");
        Assert.That(read.Online.ToString(), Is.EqualTo("0-6"));
    }

    [Test]
    public void I_read_this_machines_own_topology()
    {
        var read = new CpuTopologyReader(HostRoot.Live).Read();

        Assert.That(read.Online.Count, Is.GreaterThan(0));
        Assert.That(read.Cores.Sum(c => c.Threads), Is.EqualTo(read.Online.Count), "every online CPU in exactly one core");
    }

    [Test]
    public void A_tree_without_cpu_topology_is_an_environment_error()
    {
        using var dir = new TempDirectory();
        new HostTreeBuilder().Amd().WriteTo(dir.Path);

        var e = Assert.Throws<PassthroughException>(() => new CpuTopologyReader(new HostRoot(dir.Path)).Read())!;

        Assert.That(e.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(e.Message, Does.Contain("/sys/devices/system/cpu/online"));
    }

    [Test]
    public void I_read_the_hugepage_sizes_the_kernel_lists_and_else_the_cpu_flags()
    {
        using var listed = new TempDirectory();
        using var flagsOnly = new TempDirectory();
        new HostTreeBuilder().Amd().HugepageSizes(2048).WriteTo(listed.Path);
        new HostTreeBuilder().Amd().WriteTo(flagsOnly.Path);

        Assert.That(new CpuTopologyReader(new HostRoot(listed.Path)).HugepageSizes(), Is.EqualTo(new[] { HugepageSize.TwoMiB }));
        Assert.That(new CpuTopologyReader(new HostRoot(flagsOnly.Path)).HugepageSizes(), Is.EqualTo(new[] { HugepageSize.TwoMiB, HugepageSize.OneGiB }), "pse and pdpe1gb in /proc/cpuinfo");
    }

    [TestCaseSource(nameof(CpuFixtures))]
    public void A_capture_of_a_host_keeps_its_cpu_topology(string fixture, HostCpuTopology expected)
    {
        using var dir = new TempDirectory();
        using var again = new TempDirectory();
        FixtureHosts.Expand(fixture, dir.Path);

        using var saved = new StringWriter();
        HostCapture.Save(new HostRoot(dir.Path), saved);
        HostCapture.Expand(new StringReader(saved.ToString()), "saved", again.Path);

        Assert.That(Describe(new CpuTopologyReader(new HostRoot(again.Path)).Read()), Is.EqualTo(Describe(expected)));
        Assert.That(new CpuTopologyReader(new HostRoot(again.Path)).HugepageSizes(), Is.EqualTo(new[] { HugepageSize.TwoMiB, HugepageSize.OneGiB }));
    }
}
