using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

public class BindingVerbTests
{
    [Test]
    public async Task I_can_bind_a_slot_by_hand_see_it_in_status_and_unbind_it_back()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();

        var bind = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00");

        Assert.That(bind.ExitCode, Is.EqualTo(0), bind.ToString());
        Assert.That(bind.Stdout, Does.Contain("0000:03:00.0: now on vfio-pci (was amdgpu).").And.Contain("0000:03:00.1: now on vfio-pci (was snd_hda_intel)."));

        var status = await HookVerbTests.Run(host, host.Kernel, null, null, "status");

        Assert.That(status.ExitCode, Is.EqualTo(0), status.ToString());
        Assert.That(status.Stdout, Does.Contain("passthrough bind").And.Contain("prepared").And.Contain("amdgpu").And.Contain("ok"));

        var unbind = await HookVerbTests.Run(host, host.Kernel, null, null, "unbind", "03:00");

        Assert.That(unbind.ExitCode, Is.EqualTo(0), unbind.ToString());
        Assert.That(unbind.Stdout, Does.Contain("0000:03:00.0: back on amdgpu."));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public async Task I_cannot_unbind_the_gpu_of_a_running_vm_named_bind_and_a_manual_bind_is_still_unbound()
    {
        using var host = new SimulatedHost().AmdGpu()
            .Function("0000:05:00.0", 0x10de, 0x2684, 0x030000, "nouveau", 20)
            .Function("0000:05:00.1", 0x10de, 0x22ba, 0x040300, "snd_hda_intel", 20);
        var started = await HookVerbTests.Run(host, host.Kernel, HookVerbTests.Domain("bind", "dynamic", "0000:03:00.0", "0000:03:00.1"), null, "hook", "qemu", "bind", "prepare", "begin", "-");
        Assert.That(started.ExitCode, Is.EqualTo(0), started.ToString());
        var manual = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:05:00");
        Assert.That(manual.ExitCode, Is.EqualTo(0), manual.ToString());

        var refused = await HookVerbTests.Run(host, host.Kernel, null, null, "unbind", "0000:03:00");

        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.Stderr, Does.Contain("0000:03:00.0, 0000:03:00.1 belongs to VM 'bind', which passthrough prepared.")
            .And.Contain($"passthrough restore {HookVerbTests.Uuid}"));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"), "the VM keeps its GPU");
        Assert.That(host.DriverOf("0000:03:00.1"), Is.EqualTo("vfio-pci"));

        var status = await HookVerbTests.Run(host, host.Kernel, null, null, "status");
        Assert.That(status.Stdout, Does.Contain("VM 'bind'").And.Contain("passthrough bind"));

        var unbound = await HookVerbTests.Run(host, host.Kernel, null, null, "unbind", "0000:05:00");

        Assert.That(unbound.ExitCode, Is.EqualTo(0), unbound.ToString());
        Assert.That(unbound.Stdout, Does.Contain("0000:05:00.0: back on nouveau."));
        Assert.That(host.DriverOf("0000:05:00.0"), Is.EqualTo("nouveau"));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"), "still the VM's");
    }

    [Test]
    public async Task I_can_read_the_bindings_as_json_for_scripts()
    {
        using var host = new SimulatedHost().AmdGpu()
            .Function("0000:06:00.0", 0x1b21, 0x2142, 0x0c0330, "vfio-pci", 30, native: "xhci_hcd");
        await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00");

        var status = await HookVerbTests.Run(host, host.Kernel, null, null, "status", "--json");

        Assert.That(status.ExitCode, Is.EqualTo(0), status.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(status.Stdout);
        var vm = json.RootElement.GetProperty("vms")[0];
        Assert.That(vm.GetProperty("owner").GetString(), Is.EqualTo("bind"));
        Assert.That(vm.GetProperty("state").GetString(), Is.EqualTo("prepared"));
        var devices = vm.GetProperty("devices").EnumerateArray().Select(d => (d.GetProperty("address").GetString(), d.GetProperty("current").GetString(), d.GetProperty("hostDriver").GetString())).ToList();
        Assert.That(devices, Is.EqualTo(new[] { ("0000:03:00.0", "vfio-pci", "amdgpu"), ("0000:03:00.1", "vfio-pci", "snd_hda_intel") }));
        Assert.That(json.RootElement.GetProperty("vfioOutsidePassthrough")[0].GetString(), Is.EqualTo("0000:06:00.0"));
        Assert.That(json.RootElement.GetProperty("healthy").GetBoolean(), Is.True);
    }

    [Test]
    public async Task I_can_unbind_a_device_bound_at_boot_and_the_kernel_picks_its_driver()
    {
        using var host = new SimulatedHost()
            .Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 14, native: "amdgpu");
        host.Kernel.RegisterDriver("pci", "amdgpu");

        var unbind = await HookVerbTests.Run(host, host.Kernel, null, null, "unbind", "0000:03:00.0");

        Assert.That(unbind.ExitCode, Is.EqualTo(0), unbind.ToString());
        Assert.That(unbind.Stdout, Does.Contain("no record of its driver; the kernel chose amdgpu"));
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"));
    }

    [Test]
    public async Task I_can_restore_a_vm_by_name_after_a_crash_and_status_tells_me_first()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();
        using (var kernel = host.FailingKernel())
        {
            kernel.CrashAt = 4;
            var crashed = await HookVerbTests.Run(host, kernel, HookVerbTests.Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1"), null, "hook", "qemu", "win11", "prepare", "begin", "-");
            Assert.That(crashed.ExitCode, Is.Not.EqualTo(0), "the process died mid-bind");
        }

        var status = await HookVerbTests.Run(host, host.Kernel, null, null, "status");

        Assert.That(status.ExitCode, Is.EqualTo(1), status.ToString());
        Assert.That(status.Stdout, Does.Contain("VM 'win11'").And.Contain("preparing: a start or stop did not finish; `passthrough restore win11`"));

        var restore = await HookVerbTests.Run(host, host.Kernel, null, null, "restore", "win11");

        Assert.That(restore.ExitCode, Is.EqualTo(0), restore.ToString());
        Assert.That(restore.Stdout, Does.Contain("VM 'win11': restored (2 device(s) back on their drivers)."));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public async Task I_can_restore_all_and_get_told_when_there_is_nothing()
    {
        using var host = new SimulatedHost().AmdGpu();

        var result = await HookVerbTests.Run(host, host.Kernel, null, null, "restore", "--all");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("Nothing to restore"));
    }

    [Test]
    public async Task I_am_told_there_is_nothing_to_restore_for_a_vm_passthrough_never_bound()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();

        var result = await HookVerbTests.Run(host, host.Kernel, null, null, "restore", "nosuchvm");

        // Nothing bound for it is what a restore reaches: a second restore of a VM is exit 0 too (changed:false).
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("Nothing to restore for 'nosuchvm': no state journal"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public void I_get_a_clear_refusal_when_binding_under_a_root_without_a_kernel()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();

        var result = CliRun.Run("--root", host.Root, "bind", "0000:03:00");

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(result.Stderr, Does.Contain("a directory tree has no kernel behind it"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }
}
