using NUnit.Framework;
using Passthrough.Adapters.Binding;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>Issue 15: the holder check runs before any unbind in every mode, not only single-GPU.</summary>
public class DeviceHoldersEveryModeTests
{
    private const string Uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f";

    /// <summary>A dual-GPU desktop: the iGPU runs the desktop (card0), the AMD card for the VM is card1 with HDMI audio card1.</summary>
    private static SimulatedHost DualGpu() => new SimulatedHost()
        .Function("0000:00:02.0", 0x8086, 0xa780, 0x030000, "i915", 1)
        .AmdGpu()
        .Drm("0000:00:02.0", "card0").Drm("0000:00:02.0", "renderD128")
        .Drm("0000:03:00.0", "card1").Drm("0000:03:00.0", "renderD129")
        .Sound("0000:03:00.1", 1);

    [Test]
    public void I_cannot_start_a_dynamic_vm_while_my_compositor_holds_its_gpu_and_nothing_changes()
    {
        using var host = DualGpu()
            .Process(2301, "gnome-shell", "/dev/dri/card0", "/dev/dri/card1").RunsAs(2301, "alice", 1000);
        var before = host.Snapshot();
        var engine = BindingEngineTests.Engine(host, host.Kernel);

        var error = Assert.ThrowsAsync<DevicesHeldException>(() => engine.PrepareAsync(BindingEngineTests.Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1")));

        Assert.That(error!.Message, Does.Contain("VM 'win11'").And.Contain("gnome-shell (pid 2301) has /dev/dri/card1 open (user alice)").And.Contain("nothing was changed"));
        Assert.That(error.Remedy, Does.Contain("passthrough setup --mode dynamic"));
        Assert.That(error.Holders.Select(h => h.Pid), Is.EqualTo(new[] { 2301 }));
        Assert.That(host.Events, Is.Empty, "not one write");
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(engine.Journals.Load(Uuid), Is.Null, "no journal left behind");
    }

    [Test]
    public async Task I_can_start_a_dynamic_vm_while_my_desktop_holds_only_the_other_gpu()
    {
        using var host = DualGpu().Process(2301, "gnome-shell", "/dev/dri/card0", "/dev/dri/renderD128");
        var engine = BindingEngineTests.Engine(host, host.Kernel);

        await engine.PrepareAsync(BindingEngineTests.Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1"));

        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"));
        Assert.That(host.DriverOf("0000:00:02.0"), Is.EqualTo("i915"));
    }

    [Test]
    public void I_am_told_a_sound_server_holds_the_gpus_hdmi_audio_by_pid_and_command()
    {
        using var host = DualGpu().Process(2410, "pipewire", "/dev/snd/controlC1", "/dev/snd/pcmC1D3p");
        var before = host.Snapshot();

        var error = Assert.ThrowsAsync<DevicesHeldException>(() => BindingEngineTests.Engine(host, host.Kernel).BindAsync("bind-0000:03:00.0", [Pci.PciAddress.Parse("0000:03:00.0"), Pci.PciAddress.Parse("0000:03:00.1")]));

        Assert.That(error!.Message, Does.Contain("pipewire (pid 2410) has /dev/snd/controlC1 open"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public void I_am_not_blamed_for_another_nvidia_cards_node_when_the_driver_names_this_ones()
    {
        using var host = new SimulatedHost()
            .Function("0000:01:00.0", 0x10de, 0x2684, 0x030000, "nvidia", 12)
            .Function("0000:02:00.0", 0x10de, 0x1e87, 0x030000, "nvidia", 13)
            .Process(1800, "Xorg", "/dev/nvidia0", "/dev/nvidiactl")
            .Process(1900, "nvtop", "/dev/nvidia1");
        Directory.CreateDirectory(Path.Join(host.Root, "proc/driver/nvidia/gpus/0000:02:00.0"));
        File.WriteAllText(Path.Join(host.Root, "proc/driver/nvidia/gpus/0000:02:00.0/information"), "Model: \t\t NVIDIA GeForce RTX 2080\nIRQ:   \t\t 160\nDevice Minor: \t 1\nBus Location: \t 0000:02:00.0\n");

        var error = Assert.ThrowsAsync<DevicesHeldException>(() => BindingEngineTests.Engine(host, host.Kernel).PrepareAsync(BindingEngineTests.Vm(PassthroughMode.Dynamic, "0000:02:00.0")));

        Assert.That(error!.Holders.Select(h => h.Command), Is.EqualTo(new[] { "nvtop" }), "Xorg holds only the host card's /dev/nvidia0 and the shared nvidiactl");
    }

    [Test]
    public async Task I_can_start_a_static_vm_whatever_holds_the_host_it_changes_nothing()
    {
        using var host = new SimulatedHost()
            .Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 14, native: "amdgpu")
            .Process(2301, "gnome-shell", "/dev/dri/card0");

        await BindingEngineTests.Engine(host, host.Kernel).PrepareAsync(BindingEngineTests.Vm(PassthroughMode.Static, "0000:03:00.0"));

        Assert.That(host.Events, Is.Empty);
    }
}
