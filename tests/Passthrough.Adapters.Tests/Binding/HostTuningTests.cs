using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Binding;
using Passthrough.Adapters.Sysfs;
using Passthrough.Adapters.Systemd;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>CPU isolation over D-Bus (the systemd fake on a private bus) and hugepages on the simulated kernel, through the engine.</summary>
[NonParallelizable]
public class HostTuningTests
{
    private const string Uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f";
    private const long TwoMiB = 2048;

    private PrivateDbusDaemon _daemon = null!;
    private SystemdServiceFake _systemd = null!;

    [SetUp]
    public async Task StartBus()
    {
        _daemon = new PrivateDbusDaemon();
        _systemd = await SystemdServiceFake.StartAsync(_daemon.Address);
        foreach (var unit in HostTuningPlan.HostUnits)
        {
            _systemd.AddUnit(unit, "active");
        }
    }

    [TearDown]
    public void StopBus()
    {
        _systemd?.Dispose();
        _daemon?.Dispose();
    }

    private static VmPassthroughConfig Vm(PassthroughMode mode, VmTuning tuning) => new()
    {
        DomainName = "win11",
        DomainUuid = Uuid,
        Mode = mode,
        Hostdevs = [PciAddress.Parse("0000:03:00.0"), PciAddress.Parse("0000:03:00.1")],
        Tuning = tuning,
    };

    private static VmTuning Isolate(string cpus) => VmTuning.None.WithIsolation(new CpuIsolation(Cpus(cpus), Auto: false));

    private static CpuSet Cpus(string list) => CpuSet.TryParse(list, out var set) ? set : throw new ArgumentException(list);

    private BindingEngine Engine(SimulatedHost host, SimulatedKernel kernel)
    {
        var root = new HostRoot(host.Root);
        return new BindingEngine(root, new SysfsHostReader(root, names: false), new SysfsDriverBinder(root, kernel, kernel, TimeSpan.FromSeconds(5)), () => new SystemdManager(_daemon.Address))
        {
            LockTimeout = TimeSpan.FromSeconds(2),
        };
    }

    private string AllowedCpus() => string.Join(" ", HostTuningPlan.HostUnits.Select(u => $"{u}={_systemd.AllowedCpusOf(u)}"));

    [Test]
    public async Task I_can_start_a_vm_with_isolated_cpus_and_the_host_keeps_off_them_until_it_stops()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7");
        var engine = Engine(host, host.Kernel);

        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("2-7")));

        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-1 system.slice=0-1 user.slice=0-1"));
        Assert.That(_systemd.Calls, Does.Contain("SetUnitProperties system.slice runtime=True AllowedCPUs=0-1"), "runtime only: gone at reboot");
        var journal = engine.Journals.Load(Uuid)!;
        Assert.That(journal.Entries.Where(e => e.Kind == JournalKind.CpuIsolation).Select(e => $"{e.Target}:{e.Before}->{e.After}"), Is.EqualTo(new[]
        {
            "init.scope:->0-1", "system.slice:->0-1", "user.slice:->0-1",
        }));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"));

        var report = await engine.RestoreAsync(Uuid);

        Assert.That(report!.Failures, Is.Empty);
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice= user.slice="), "empty again: every CPU");
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"));
    }

    [Test]
    public async Task I_get_back_the_cpus_a_unit_had_before_not_all_of_them()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7");
        _systemd.SetAllowedCpus("system.slice", Cpus("0-5"));
        var engine = Engine(host, host.Kernel);

        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("4-7")));

        Assert.That(_systemd.AllowedCpusOf("system.slice")!.ToString(), Is.EqualTo("0-3"));
        Assert.That(_systemd.AllowedCpusOf("user.slice")!.ToString(), Is.EqualTo("0-3"));

        await engine.RestoreAsync(Uuid);

        Assert.That(_systemd.AllowedCpusOf("system.slice")!.ToString(), Is.EqualTo("0-5"));
        Assert.That(_systemd.AllowedCpusOf("user.slice")!.ToString(), Is.Empty);
    }

    private const string OtherUuid = "5d0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";

    private static VmPassthroughConfig NvidiaVm(string cpus) => Vm(PassthroughMode.Dynamic, Isolate(cpus)) with
    {
        DomainName = "linux",
        DomainUuid = OtherUuid,
        Hostdevs = [PciAddress.Parse("0000:01:00.0"), PciAddress.Parse("0000:01:00.1")],
    };

    [Test]
    public async Task I_can_stop_two_vms_with_isolated_cpus_in_the_order_i_started_them_and_each_gives_back_only_its_own()
    {
        using var host = new SimulatedHost().AmdGpu().NvidiaGpu().OnlineCpus("0-7");
        _systemd.SetAllowedCpus("system.slice", Cpus("0-6"));
        var engine = Engine(host, host.Kernel);

        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("2-5")));
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-1,6-7 system.slice=0-1,6 user.slice=0-1,6-7"));

        await engine.PrepareAsync(NvidiaVm("6-7"));
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-1 system.slice=0-1 user.slice=0-1"));
        Assert.That(engine.Journals.Load(OtherUuid)!.Entries.Where(e => e.Kind == JournalKind.CpuIsolation).Select(e => $"{e.Target}:{e.Original}-{e.Isolated}"), Is.EqualTo(new[]
        {
            "init.scope:-6-7", "system.slice:0-6-6-7", "user.slice:-6-7",
        }), "the second VM's journal carries the units' originals, not what the first VM left");

        var first = await engine.RestoreAsync(Uuid);

        Assert.That(first!.Failures, Is.Empty);
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-5 system.slice=0-5 user.slice=0-5"), "the first VM's CPUs back, the running one's still kept off");
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"));
        Assert.That(host.DriverOf("0000:01:00.0"), Is.EqualTo("vfio-pci"));

        var second = await engine.RestoreAsync(OtherUuid);

        Assert.That(second!.Failures, Is.Empty);
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice=0-6 user.slice="), "the last stop gives each unit what it had before any VM");
        Assert.That(_systemd.Calls.Last(c => c.StartsWith("SetUnitProperties init.scope", StringComparison.Ordinal)), Is.EqualTo("SetUnitProperties init.scope runtime=True AllowedCPUs="), "empty: every CPU, as it was");
        Assert.That(host.DriverOf("0000:01:00.0"), Is.EqualTo("nvidia"));
    }

    [Test]
    public async Task A_failed_start_of_a_second_vm_leaves_the_first_ones_cpus_isolated()
    {
        using var host = new SimulatedHost().AmdGpu().NvidiaGpu().OnlineCpus("0-7");
        var engine = Engine(host, host.Kernel);
        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("2-5")));
        using var kernel = host.FailingKernel();
        kernel.FailAt = 2; // the second VM's first drivers_probe, after its isolation

        var error = Assert.ThrowsAsync<PassthroughException>(() => Engine(host, kernel).PrepareAsync(NvidiaVm("6-7")));

        Assert.That(error!.Message, Does.Contain("Everything done before was put back"));
        Assert.That(_systemd.Calls, Does.Contain("SetUnitProperties user.slice runtime=True AllowedCPUs=0-1"), "the second VM's isolation ran");
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-1,6-7 system.slice=0-1,6-7 user.slice=0-1,6-7"), "the rollback keeps the running VM's CPUs off");
        Assert.That(engine.Journals.Load(OtherUuid), Is.Null);

        await engine.RestoreAsync(Uuid);
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice= user.slice="));
    }

    [Test]
    public async Task A_damaged_journal_of_another_vm_leaves_the_cpus_isolated_and_says_why()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7");
        var engine = Engine(host, host.Kernel);
        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("2-7")));
        File.WriteAllText(engine.Journals.PathOf(OtherUuid), "{ \"id\": "); // whose CPUs that VM holds is unknown

        var report = await engine.RestoreAsync(Uuid);

        Assert.That(report!.Failures, Has.Count.EqualTo(1));
        Assert.That(report.Failures[0], Does.Contain(OtherUuid + ".json: the state journal is damaged").And.Contain("AllowedCPUs of the host units were left as they are"));
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-1 system.slice=0-1 user.slice=0-1"));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"), "everything else is given back");
        Assert.That(engine.Journals.Load(Uuid), Is.Not.Null, "kept for a restore once the damaged one is fixed");

        File.Delete(engine.Journals.PathOf(OtherUuid));
        Assert.That((await engine.RestoreAsync(Uuid))!.Failures, Is.Empty);
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice= user.slice="));
    }

    [Test]
    public async Task I_get_the_cpus_back_when_a_later_step_of_the_start_fails()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7");
        var before = host.Snapshot();
        using var kernel = host.FailingKernel();
        kernel.FailAt = 2; // the first drivers_probe
        var engine = Engine(host, kernel);

        var error = Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("2-7"))));

        Assert.That(error!.Message, Does.Contain("Everything done before was put back"));
        Assert.That(_systemd.Calls, Does.Contain("SetUnitProperties user.slice runtime=True AllowedCPUs=0-1"), "isolation ran before the bind");
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice= user.slice="));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(engine.Journals.Load(Uuid), Is.Null);
        await Task.CompletedTask;
    }

    [Test]
    public async Task I_can_restore_the_cpus_after_a_crash_in_the_middle_of_the_start()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-3");
        using (var kernel = host.FailingKernel())
        {
            kernel.CrashAt = 1;
            Assert.ThrowsAsync<SimulatedCrashException>(() => Engine(host, kernel).PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("1-3"))));
        }

        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0 system.slice=0 user.slice=0"), "the crash left the isolation in place");

        var report = await Engine(host, host.Kernel).RestoreAsync(Uuid);

        Assert.That(report!.Failures, Is.Empty);
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice= user.slice="));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"));
    }

    [Test]
    public async Task I_can_isolate_cpus_for_a_static_vm_whose_gpu_is_bound_at_boot()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7");
        var engine = Engine(host, host.Kernel);
        await engine.BindAsync("bind-0000:03:00.0", [PciAddress.Parse("0000:03:00.0"), PciAddress.Parse("0000:03:00.1")]);
        var events = host.Events.Count;

        await engine.PrepareAsync(Vm(PassthroughMode.Static, Isolate("6-7")));

        Assert.That(host.Events.Count, Is.EqualTo(events), "a static VM's functions are only checked");
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-5 system.slice=0-5 user.slice=0-5"));
        await engine.RestoreAsync(Uuid);
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope= system.slice= user.slice="));
    }

    [Test]
    public async Task A_static_vm_with_tuning_and_a_bar_size_starts_tuned_with_its_bar_left_as_it_is()
    {
        using var host = new SimulatedHost().AmdGpu().ResizableBar("0000:03:00.0", 0, 0x3fff, 256L << 20).OnlineCpus("0-7");
        var engine = Engine(host, host.Kernel);
        await engine.BindAsync("bind-0000:03:00.0", [PciAddress.Parse("0000:03:00.0"), PciAddress.Parse("0000:03:00.1")]);
        var events = host.Events.Count;

        // Bound at boot, so the kernel would refuse a resize: static mode applies no <passthrough:bar> (the hook logs that).
        await engine.PrepareAsync(Vm(PassthroughMode.Static, Isolate("6-7")) with { Bars = [new BarRequest(0, 8L << 30)] });

        Assert.That(host.Events.Count, Is.EqualTo(events), "no resize, no rebind");
        Assert.That(AllowedCpus(), Is.EqualTo("init.scope=0-5 system.slice=0-5 user.slice=0-5"));
        await engine.RestoreAsync(Uuid);
    }

    [Test]
    public void I_get_one_error_and_nothing_changed_when_the_cpu_list_names_cpus_the_host_lacks()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7");
        var before = host.Snapshot();
        var engine = Engine(host, host.Kernel);

        var error = Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("4-15"))));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.Contain("names CPU 8-15, which this host does not have (online: 0-7)").And.Not.Contain("\n"));
        Assert.That(_systemd.Calls.Where(c => c.StartsWith("SetUnitProperties", StringComparison.Ordinal)), Is.Empty);
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(engine.Journals.Load(Uuid), Is.Null);
    }

    [Test]
    public void I_cannot_give_the_vm_every_cpu_of_the_host()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-3");
        var engine = Engine(host, host.Kernel);

        var error = Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(PassthroughMode.Dynamic, Isolate("0-3"))));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.Contain("the host would have none left"));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"));
    }

    [Test]
    public async Task I_can_start_a_vm_with_its_hugepages_allocated_and_they_are_given_back_after()
    {
        // 1 GiB of VM memory in 2 MiB pages: 512, 12 of them already free.
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7").HugepagePool(TwoMiB, total: 12, free: 12, findable: 4096);
        var engine = Engine(host, host.Kernel);

        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, VmTuning.None.WithHugepages(new HugepagesAllocation(1024 * 1024, TwoMiB))));

        Assert.That(host.Read("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), Is.EqualTo("512"));
        Assert.That(host.Events.Take(2), Is.EqualTo(new[]
        {
            "write /proc/sys/vm/compact_memory 1",
            "write /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 512",
        }), "the hugepages first, before any device is touched");
        Assert.That(engine.Journals.Load(Uuid)!.Entries[0], Is.EqualTo(new JournalEntry(JournalKind.Hugepages, "2048") { Before = "12", After = "512" }));

        await engine.RestoreAsync(Uuid);

        Assert.That(host.Read("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), Is.EqualTo("12"));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"));
    }

    [Test]
    public void I_get_told_how_many_hugepages_were_short_and_nothing_else_changed()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7").HugepagePool(1024 * 1024, total: 0, free: 0, findable: 5);
        var engine = Engine(host, host.Kernel);

        var error = Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(
            PassthroughMode.Dynamic,
            Isolate("2-7").WithHugepages(new HugepagesAllocation(8L * 1024 * 1024, 1024 * 1024)))));

        Assert.That(error!.Message, Does.Contain("needs 8 hugepages of 1 GiB but the kernel found only 5 of the 8 asked for: 3 short"));
        Assert.That(error.Remedy, Does.Contain("hugepagesz=1G hugepages=8"));
        Assert.That(host.Read("sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"), Is.EqualTo("0"), "the pages it did find are given back");
        Assert.That(host.Events.Where(e => e.Contains("/sys/bus/pci", StringComparison.Ordinal)), Is.Empty, "no device was touched");
        Assert.That(_systemd.Calls.Where(c => c.StartsWith("SetUnitProperties", StringComparison.Ordinal)), Is.Empty, "the cpus were not isolated");
        Assert.That(engine.Journals.Load(Uuid), Is.Null);
    }

    [Test]
    public async Task I_keep_hugepages_another_vm_raised_while_mine_ran()
    {
        using var host = new SimulatedHost().AmdGpu().OnlineCpus("0-7").HugepagePool(TwoMiB, total: 0, free: 0, findable: 4096);
        var engine = Engine(host, host.Kernel);
        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, VmTuning.None.WithHugepages(new HugepagesAllocation(512 * 1024, TwoMiB))));
        host.Kernel.Write(Path.Join(host.Root, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "356"); // another VM's 100

        await engine.RestoreAsync(Uuid);

        Assert.That(host.Read("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), Is.EqualTo("100"));
    }
}
