using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Binding;
using Passthrough.Adapters.Sysfs;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

public class BindingEngineTests
{
    private const string Uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f";

    internal static VmPassthroughConfig Vm(PassthroughMode mode, params string[] devices) => new()
    {
        DomainName = "win11",
        DomainUuid = Uuid,
        Mode = mode,
        Hostdevs = [.. devices.Select(PciAddress.Parse)],
    };

    internal static BindingEngine Engine(SimulatedHost host, SimulatedKernel kernel, RecordingSystemdFake? systemd = null, double writeTimeoutSeconds = 5)
    {
        var root = new HostRoot(host.Root);
        return new BindingEngine(
            root,
            new SysfsHostReader(root, names: false),
            new SysfsDriverBinder(root, kernel, kernel, TimeSpan.FromSeconds(writeTimeoutSeconds)),
            () => systemd ?? throw new InvalidOperationException("this test expects no systemd call"))
        {
            LockTimeout = TimeSpan.FromSeconds(2),
        };
    }

    [Test]
    public async Task I_can_start_a_vm_and_its_gpu_functions_move_to_vfio_pci_then_come_back_exactly()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();
        var engine = Engine(host, host.Kernel);

        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1"));

        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"));
        Assert.That(host.DriverOf("0000:03:00.1"), Is.EqualTo("vfio-pci"));
        Assert.That(host.Read("sys/bus/pci/devices/0000:03:00.0/driver_override"), Is.EqualTo("vfio-pci"));
        var journal = engine.Journals.Load(Uuid);
        Assert.That(journal, Is.Not.Null);
        Assert.That(journal!.State, Is.EqualTo(BindingJournal.Prepared));
        Assert.That(journal.FunctionStates().Select(f => f.Driver), Is.EqualTo(new[] { "amdgpu", "snd_hda_intel" }));

        var report = await engine.RestoreAsync(Uuid);

        Assert.That(report!.Failures, Is.Empty);
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(engine.Journals.Load(Uuid), Is.Null, "a finished restore removes the journal");
    }

    [Test]
    public async Task I_get_the_steps_in_the_kernels_order_override_unbind_probe()
    {
        using var host = new SimulatedHost().AmdGpu();

        await Engine(host, host.Kernel).PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1"));

        Assert.That(host.Events, Is.EqualTo(new[]
        {
            "write /sys/bus/pci/devices/0000:03:00.0/driver_override vfio-pci",
            "write /sys/bus/pci/drivers/amdgpu/unbind 0000:03:00.0",
            "write /sys/bus/pci/drivers_probe 0000:03:00.0",
            "write /sys/bus/pci/devices/0000:03:00.1/driver_override vfio-pci",
            "write /sys/bus/pci/drivers/snd_hda_intel/unbind 0000:03:00.1",
            "write /sys/bus/pci/drivers_probe 0000:03:00.1",
        }));
    }

    [Test]
    public async Task I_can_bind_when_vfio_pci_is_not_loaded_yet()
    {
        using var host = new SimulatedHost().AmdGpu().WithoutVfio();

        await Engine(host, host.Kernel).PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1"));

        Assert.That(host.Events[0], Is.EqualTo("modprobe vfio-pci"));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"));
    }

    [Test]
    public async Task I_get_the_host_exactly_as_it_was_when_any_step_fails()
    {
        int steps;
        using (var probe = new SimulatedHost().AmdGpu())
        {
            await Engine(probe, probe.Kernel).PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1"));
            steps = probe.Kernel.Writes;
        }

        Assert.That(steps, Is.EqualTo(6));
        for (var failAt = 0; failAt < steps; failAt++)
        {
            using var host = new SimulatedHost().AmdGpu();
            var before = host.Snapshot();
            using var kernel = host.FailingKernel();
            kernel.FailAt = failAt;
            var engine = Engine(host, kernel);

            var error = Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1")));

            Assert.That(error!.Message, Does.Contain("Could not").And.Contain("0000:03:00.").And.Contain("Device or resource busy"), $"failing write {failAt}");
            Assert.That(error.Message, Does.Contain("Everything done before was put back"), $"failing write {failAt}");
            Assert.That(host.Snapshot(), Is.EqualTo(before), $"tree after failing write {failAt}");
            Assert.That(engine.Journals.Load(Uuid), Is.Null, $"journal after failing write {failAt}");
        }
    }

    [Test]
    public async Task I_get_told_which_write_hung_and_the_host_is_rolled_back()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();
        using var kernel = host.FailingKernel();
        kernel.HangAt = 1; // the unbind from amdgpu
        var engine = Engine(host, kernel, writeTimeoutSeconds: 0.3);

        var error = Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1")));

        Assert.That(error!.Message, Does.Contain("unbind 0000:03:00.0 from amdgpu")
            .And.Contain("/sys/bus/pci/drivers/amdgpu/unbind")
            .And.Contain("did not return within 0.3 s"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        await Task.CompletedTask;
    }

    [Test]
    public async Task I_can_restore_after_a_crash_in_the_middle_of_binding()
    {
        for (var crashAt = 1; crashAt < 6; crashAt++)
        {
            using var host = new SimulatedHost().AmdGpu();
            var before = host.Snapshot();
            using (var kernel = host.FailingKernel())
            {
                kernel.CrashAt = crashAt;
                Assert.ThrowsAsync<SimulatedCrashException>(() => Engine(host, kernel).PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1")));
            }

            Assert.That(File.Exists(Path.Join(host.Root, "run", "passthrough", Uuid + ".json")), Is.True, "the journal survives the crash");
            Assert.That(host.Snapshot(), Is.Not.EqualTo(before), $"crash at {crashAt} left a change");

            var report = await Engine(host, host.Kernel).RestoreAsync(Uuid);

            Assert.That(report!.Failures, Is.Empty, $"crash at {crashAt}");
            Assert.That(host.Snapshot(), Is.EqualTo(before), $"after restoring a crash at write {crashAt}");
        }
    }

    [Test]
    public async Task I_can_start_a_vm_again_after_a_release_that_never_ran()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();
        var engine = Engine(host, host.Kernel);
        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1"));

        await engine.PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1"));
        await engine.RestoreAsync(Uuid);

        Assert.That(host.Snapshot(), Is.EqualTo(before), "the second start recorded amdgpu, not vfio-pci");
    }

    [Test]
    public void I_get_the_devices_in_the_way_named_and_nothing_is_touched_when_the_group_is_not_viable()
    {
        using var host = new SimulatedHost().AmdGpu()
            .Function("0000:04:00.0", 0x1022, 0x149c, 0x0c0330, "xhci_hcd", 14);
        var before = host.Snapshot();

        var error = Assert.ThrowsAsync<PassthroughException>(() => Engine(host, host.Kernel).PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1")));

        Assert.That(error!.Message, Does.Contain("group 14 also holds 0000:04:00.0").And.Contain("xhci_hcd"));
        Assert.That(error.Remedy, Does.Contain("0000:04:00.0"));
        Assert.That(host.Events, Is.Empty);
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public void I_get_a_clear_message_in_static_mode_when_the_gpu_is_not_on_vfio_pci()
    {
        using var host = new SimulatedHost().AmdGpu();

        var error = Assert.ThrowsAsync<PassthroughException>(() => Engine(host, host.Kernel).PrepareAsync(Vm(PassthroughMode.Static, "0000:03:00.0", "0000:03:00.1")));

        Assert.That(error!.Message, Is.EqualTo("VM 'win11' uses mode=\"static\" but 0000:03:00.0 is on amdgpu, 0000:03:00.1 is on snd_hda_intel, not vfio-pci."));
        Assert.That(error.Remedy, Does.Contain("mode=\"dynamic\""));
        Assert.That(host.Events, Is.Empty, "static mode never writes");
    }

    [Test]
    public async Task I_can_start_a_static_vm_whose_functions_are_bound_at_boot()
    {
        using var host = new SimulatedHost()
            .Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 14, native: "amdgpu")
            .Function("0000:03:00.1", 0x1002, 0xab30, 0x040300, "vfio-pci", 14, native: "snd_hda_intel");

        await Engine(host, host.Kernel).PrepareAsync(Vm(PassthroughMode.Static, "0000:03:00.0", "0000:03:00.1"));

        Assert.That(host.Events, Is.Empty);
        Assert.That(new JournalStore(new HostRoot(host.Root)).All(), Is.Empty);
    }

    [Test]
    public void I_get_told_another_start_holds_the_lock()
    {
        using var host = new SimulatedHost().AmdGpu();
        using var held = HostLock.Acquire(new HostRoot(host.Root), TimeSpan.FromSeconds(1));

        var error = Assert.ThrowsAsync<PassthroughException>(() => Engine(host, host.Kernel).PrepareAsync(Vm(PassthroughMode.Dynamic, "0000:03:00.0")));

        Assert.That(error!.Message, Does.Contain("Another passthrough is binding or restoring devices"));
        Assert.That(host.Events, Is.Empty);
    }

    [Test]
    public async Task I_can_start_two_vms_at_once_and_their_steps_do_not_interleave()
    {
        using var host = new SimulatedHost().AmdGpu()
            .Function("0000:05:00.0", 0x10de, 0x2684, 0x030000, "nouveau", 20)
            .Function("0000:05:00.1", 0x10de, 0x22ba, 0x040300, "snd_hda_intel", 20);
        using var kernel = host.FailingKernel();
        var slow = new SlowKernel(kernel);
        var root = new HostRoot(host.Root);
        BindingEngine MakeEngine() => new(root, new SysfsHostReader(root, names: false), new SysfsDriverBinder(root, slow, kernel, TimeSpan.FromSeconds(5)), () => throw new InvalidOperationException());
        var first = Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1");
        var second = Vm(PassthroughMode.Dynamic, "0000:05:00.0", "0000:05:00.1") with { DomainName = "linux", DomainUuid = "0f0e0d0c-0b0a-0908-0706-050403020100" };

        await Task.WhenAll(Task.Run(() => MakeEngine().PrepareAsync(first)), Task.Run(() => MakeEngine().PrepareAsync(second)));

        var order = host.Events.Select(e => e.Contains("0000:03:00", StringComparison.Ordinal) ? 'A' : 'B');
        Assert.That(string.Concat(order), Is.EqualTo("AAAAAABBBBBB").Or.EqualTo("BBBBBBAAAAAA"));
    }

    /// <summary>Makes each write take a little time so two unlocked engines would interleave.</summary>
    private sealed class SlowKernel(IKernelWriter inner) : IKernelWriter
    {
        public void Write(string path, string value)
        {
            Thread.Sleep(15);
            inner.Write(path, value);
        }
    }
}
