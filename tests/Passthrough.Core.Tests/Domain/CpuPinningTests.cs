using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Testing;

namespace Passthrough.Tests.Domain;

/// <summary>The core planner of `--pin`: which host CPU each vCPU gets, on the fixture CPUs and on any topology.</summary>
public class CpuPinningTests
{
    private static PinPlan Auto(HostCpuTopology host, int vcpus, int hostCores = 1) =>
        PinPlanner.Auto(new CpuPinRequest(host).WithHostCores(hostCores), vcpus);

    private static PinPlan Explicit(HostCpuTopology host, string cpus, int hostCores = 1, bool split = false) =>
        PinPlanner.Explicit(new CpuPinRequest(host).WithHostCores(hostCores).WithAllowSplitSmt(split), CpuSet.Parse(cpus, "--pin"));

    [Test]
    public void I_get_each_vcpu_pair_on_one_cores_two_threads_and_the_emulator_on_cpu_0s_core()
    {
        var plan = Auto(CpuFixtureHosts.EightCore, 6);

        Assert.That(plan.Vcpus, Is.EqualTo(new[] { 1, 9, 2, 10, 3, 11 }));
        Assert.That(plan.HostCpus.ToString(), Is.EqualTo("0,8"));
        Assert.That(plan.Topology, Is.EqualTo(new CpuTopology(1, 3, 2)));
    }

    [Test]
    public void I_get_the_stacked_cache_ccd_on_an_x3d_cpu()
    {
        var plan = Auto(CpuFixtureHosts.X3D, 12);

        Assert.That(plan.GuestCpus.ToString(), Is.EqualTo("1-6,17-22"), "CCD0 (0-7,16-23) has the 96 MiB L3");
        Assert.That(plan.HostCpus.ToString(), Is.EqualTo("0,16"));
    }

    [Test]
    public void I_get_the_other_ccd_when_the_vm_would_not_fit_beside_the_hosts_core_in_the_stacked_one()
    {
        // CCD0 has 7 cores left after the host's core 0; 8 cores fit only in CCD1: one L3 beats the bigger L3.
        var plan = Auto(CpuFixtureHosts.X3D, 16);

        Assert.That(plan.GuestCpus.ToString(), Is.EqualTo("8-15,24-31"));
        Assert.That(plan.Topology, Is.EqualTo(new CpuTopology(1, 8, 2)));
    }

    [Test]
    public void I_get_both_ccds_filled_stacked_cache_first_when_one_is_not_enough()
    {
        var plan = Auto(CpuFixtureHosts.X3D, 20);

        // CCD0's 7 free cores (1-7,17-23), then CCD1's first 3 (8-10,24-26).
        Assert.That(plan.GuestCpus.ToString(), Is.EqualTo("1-10,17-26"));
        Assert.That(plan.Topology, Is.EqualTo(new CpuTopology(1, 10, 2)));
    }

    [Test]
    public void I_get_performance_cores_on_an_intel_hybrid_cpu()
    {
        var plan = Auto(CpuFixtureHosts.Hybrid, 8);

        Assert.That(plan.GuestCpus.ToString(), Is.EqualTo("2-9"), "P-cores are 0-15 with adjacent siblings; E-cores 16-23");
        Assert.That(plan.HostCpus.ToString(), Is.EqualTo("0-1"));
        Assert.That(plan.Topology, Is.EqualTo(new CpuTopology(1, 4, 2)));
    }

    [Test]
    public void I_get_e_cores_only_after_every_free_p_core_and_the_guest_sees_single_threads_then()
    {
        var plan = Auto(CpuFixtureHosts.Hybrid, 16);

        Assert.That(plan.GuestCpus.ToString(), Is.EqualTo("2-17"), "P-cores 1-7 are CPUs 2-15, then E-cores 16 and 17");
        Assert.That(plan.Topology, Is.EqualTo(new CpuTopology(1, 16, 1)), "7 P-cores with 2 threads and 2 E-cores with 1 cannot be told as threads=2");
    }

    [Test]
    public void I_can_keep_more_cores_for_the_host()
    {
        var plan = Auto(CpuFixtureHosts.EightCore, 8, hostCores: 2);

        Assert.That(plan.HostCpus.ToString(), Is.EqualTo("0-1,8-9"));
        Assert.That(plan.GuestCpus.ToString(), Is.EqualTo("2-5,10-13"));
    }

    [Test]
    public void I_am_told_when_more_vcpus_are_asked_than_the_host_can_give()
    {
        var e = Assert.Throws<PassthroughException>(() => Auto(CpuFixtureHosts.EightCore, 16))!;

        Assert.That(e.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("16 vCPUs do not fit").And.Contain("leaves 14"));
        Assert.That(e.Remedy, Does.Contain("at most 14"));
    }

    [Test]
    public void I_am_told_to_give_an_even_count_when_a_core_would_be_split()
    {
        var e = Assert.Throws<PassthroughException>(() => Auto(CpuFixtureHosts.EightCore, 5))!;

        Assert.That(e.Message, Does.Contain("5 vCPUs").And.Contain("idle"));
        Assert.That(e.Remedy, Does.Contain("4 or 6"));
    }

    [Test]
    public void I_can_name_the_cpus_and_get_them_core_by_core()
    {
        var plan = Explicit(CpuFixtureHosts.X3D, "2-7,18-23");

        Assert.That(plan.Vcpus, Is.EqualTo(new[] { 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23 }));
        Assert.That(plan.Topology, Is.EqualTo(new CpuTopology(1, 6, 2)));
        Assert.That(plan.HostCpus.ToString(), Is.EqualTo("0,16"));
    }

    [Test]
    public void I_can_not_name_a_cpu_the_host_does_not_have()
    {
        var e = Assert.Throws<PassthroughException>(() => Explicit(CpuFixtureHosts.EightCore, "2-7,10-17"))!;

        Assert.That(e.Message, Does.Contain("no online CPUs 16-17").And.Contain("0-15"));
    }

    [Test]
    public void I_can_not_name_the_cpus_the_host_keeps()
    {
        var e = Assert.Throws<PassthroughException>(() => Explicit(CpuFixtureHosts.EightCore, "0-3,8-11"))!;

        Assert.That(e.Message, Does.Contain("CPUs 0,8 belong to the 1 core the host keeps"));
        Assert.That(e.Remedy, Does.Contain("--pin 1-3,9-11"));
    }

    [Test]
    public void I_can_not_split_a_cores_threads_unless_i_allow_it()
    {
        var e = Assert.Throws<PassthroughException>(() => Explicit(CpuFixtureHosts.EightCore, "2-7"))!;
        Assert.That(e.Message, Does.Contain("CPU 2 shares core 2,10 with CPU 10"));
        Assert.That(e.Remedy, Does.Contain("--allow-split-smt"));

        var plan = Explicit(CpuFixtureHosts.EightCore, "2-7", split: true);
        Assert.That(plan.Vcpus, Is.EqualTo(new[] { 2, 3, 4, 5, 6, 7 }));
        Assert.That(plan.Topology, Is.EqualTo(new CpuTopology(1, 6, 1)));
    }

    [Test]
    public void I_can_not_keep_every_core_for_the_host()
    {
        var e = Assert.Throws<PassthroughException>(() => Auto(CpuFixtureHosts.EightCore, 2, hostCores: 8))!;

        Assert.That(e.Message, Does.StartWith("--host-cores 8"));
    }

    [TestCase("0-3,8-11", "0-3,8-11")]
    [TestCase("5,1,3,2", "1-3,5")]
    [TestCase("7", "7")]
    [TestCase(" 0-1 , 16 ", "0-1,16")]
    public void A_cpu_list_reads_and_prints_as_the_kernel_writes_it(string text, string printed)
    {
        Assert.That(CpuSet.Parse(text, "--pin").ToString(), Is.EqualTo(printed));
    }

    [TestCase("all")]
    [TestCase("3-1")]
    [TestCase("")]
    [TestCase("1,,x")]
    public void A_bad_cpu_list_is_bad_input(string text)
    {
        var e = Assert.Throws<PassthroughException>(() => CpuSet.Parse(text, "--pin"))!;

        Assert.That(e.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.StartWith("--pin"));
    }

    /// <summary>Any topology of 1-3 L3 domains (each 1-10 cores, 1 or 2 threads, P/E or not), either numbering.</summary>
    private static Gen<HostCpuTopology> Topologies() =>
        from adjacent in Gen.Elements(true, false)
        from hybrid in Gen.Elements(true, false)
        from clusters in Gen.ListOf(
            from cores in Gen.Choose(1, 10)
            from threads in Gen.Choose(1, 2)
            from l3 in Gen.Elements(16384L, 32768L, 98304L)
            from kind in Gen.Elements(CoreKind.Performance, CoreKind.Efficiency)
            select new CpuCluster(cores, threads, l3, hybrid ? kind : CoreKind.Uniform)).Where(l => l.Count is > 0 and <= 3)
        where clusters.Sum(c => c.Cores) >= 2
        select CpuTopologyFixtures.Model(adjacent, [.. clusters]);

    private static bool Sound(HostCpuTopology host, PinPlan plan, bool siblingsTogether)
    {
        var guest = plan.Vcpus;
        var noneTwice = guest.Distinct().Count() == guest.Count;
        var offHost = !plan.HostCpus.Overlaps(guest) && !plan.HostCpus.IsEmpty;
        var together = !siblingsTogether || host.Cores.Where(c => c.Cpus.Overlaps(guest)).All(c => c.Cpus.All(guest.Contains));
        var hostWhole = host.Cores.Where(c => c.Cpus.Overlaps(plan.HostCpus)).All(c => c.Cpus.All(plan.HostCpus.Contains));
        var topology = plan.Topology.Vcpus == guest.Count && plan.Topology.Sockets == 1;
        var pairs = plan.Topology.Threads == 1 || Enumerable.Range(0, guest.Count / plan.Topology.Threads)
            .All(k => host.CoreOf(guest[k * plan.Topology.Threads])!.Cpus.SequenceEqual(guest.Skip(k * plan.Topology.Threads).Take(plan.Topology.Threads)));
        return noneTwice && offHost && together && hostWhole && topology && pairs;
    }

    [Test]
    public void Auto_never_uses_a_cpu_twice_keeps_siblings_together_and_keeps_the_emulator_off_the_vcpus()
    {
        var cases = from host in Topologies()
                    from vcpus in Gen.Choose(1, host.Online.Count)
                    from hostCores in Gen.Choose(1, host.Cores.Count - 1)
                    select (host, vcpus, hostCores);

        Prop.ForAll(Arb.From(cases), c =>
        {
            PinPlan plan;
            try
            {
                plan = Auto(c.host, c.vcpus, c.hostCores);
            }
            catch (PassthroughException e) when (e.Kind == FailureKind.InvalidInput)
            {
                // Refused only when it does not fit, or a core would be split (odd count).
                return e.Message.Contains("do not fit", StringComparison.Ordinal) || e.Message.Contains("idle", StringComparison.Ordinal);
            }

            var oneL3 = c.host.Cores.Except(c.host.Cores.Take(c.hostCores))
                .GroupBy(core => (core.L3!.Cpus.ToString(), core.Kind)).Any(g => g.Sum(core => core.Threads) >= c.vcpus);
            var inOneL3 = plan.Vcpus.Select(cpu => c.host.CoreOf(cpu)!.L3!.Cpus).Distinct().Count() == 1;
            return plan.Vcpus.Count == c.vcpus && Sound(c.host, plan, siblingsTogether: true) && (!oneL3 || inOneL3);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(400).WithQuietOnSuccess(true));
    }

    [Test]
    public void An_explicit_list_is_either_refused_as_bad_input_or_pinned_soundly()
    {
        var cases = from host in Topologies()
                    from picks in Gen.ListOf(Gen.Choose(0, host.Online.Count + 2)).Where(l => l.Count > 0)
                    from split in Gen.Elements(true, false)
                    select (host, cpus: CpuSet.Of(picks), split);

        Prop.ForAll(Arb.From(cases), c =>
        {
            try
            {
                var plan = PinPlanner.Explicit(new CpuPinRequest(c.host).WithAllowSplitSmt(c.split), c.cpus);
                return plan.GuestCpus.Equals(c.cpus) && Sound(c.host, plan, siblingsTogether: !c.split);
            }
            catch (PassthroughException e) when (e.Kind == FailureKind.InvalidInput)
            {
                return !c.cpus.All(c.host.Online.Contains) || c.cpus.Overlaps(c.host.Cores[0].Cpus)
                    || (!c.split && c.host.Cores.Any(core => core.Cpus.Overlaps(c.cpus) && !core.Cpus.All(c.cpus.Contains)));
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(400).WithQuietOnSuccess(true));
    }
}
