using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

public class SingleGpuSwapTests
{
    private const string Uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f";

    /// <summary>A single NVIDIA GPU driving the desktop: gdm, fbcon on vtcon1, efifb, the nvidia stack loaded.</summary>
    private static SimulatedHost Desktop()
    {
        var host = new SimulatedHost().NvidiaGpu()
            .VtConsole(0, "(S) dummy device", bound: true)
            .VtConsole(1, "(M) frame buffer device", bound: true)
            .PlatformFramebuffer("efi-framebuffer")
            .Drm("0000:01:00.0", "card0")
            .Drm("0000:01:00.0", "renderD128")
            .Sound("0000:01:00.1", 1)
            .Module("nvidia_uvm").Module("nvidia_modeset").Module("nvidia_drm");
        return host;
    }

    private static RecordingSystemdFake Systemd(SimulatedHost host)
    {
        var systemd = new RecordingSystemdFake(host.Events);
        systemd.Units["gdm.service"] = "active";
        systemd.Aliases["display-manager.service"] = "gdm.service";
        return systemd;
    }

    private static VmPassthroughConfig Vm() => BindingEngineTests.Vm(PassthroughMode.SingleGpu, "0000:01:00.0", "0000:01:00.1");

    [Test]
    public async Task I_can_hand_my_only_gpu_to_the_vm_and_get_my_desktop_back_in_reverse_order()
    {
        using var host = Desktop();
        var before = host.Snapshot();
        var systemd = Systemd(host);
        var engine = BindingEngineTests.Engine(host, host.Kernel, systemd);

        await engine.PrepareAsync(Vm());

        Assert.That(host.Events, Is.EqualTo(new[]
        {
            "systemd stop gdm.service",
            "write /sys/class/vtconsole/vtcon1/bind 0",
            "write /sys/bus/platform/drivers/efi-framebuffer/unbind efi-framebuffer.0",
            "modprobe -r nvidia_drm",
            "modprobe -r nvidia_modeset",
            "modprobe -r nvidia_uvm",
            "modprobe -r nvidia",
            "write /sys/bus/pci/devices/0000:01:00.0/driver_override vfio-pci",
            "write /sys/bus/pci/drivers_probe 0000:01:00.0",
            "write /sys/bus/pci/devices/0000:01:00.1/driver_override vfio-pci",
            "write /sys/bus/pci/drivers/snd_hda_intel/unbind 0000:01:00.1",
            "write /sys/bus/pci/drivers_probe 0000:01:00.1",
        }));
        Assert.That(host.DriverOf("0000:01:00.0"), Is.EqualTo("vfio-pci"));
        Assert.That(host.Read("sys/class/vtconsole/vtcon0/bind"), Is.EqualTo("1"), "the dummy console is left alone");
        host.Events.Clear();

        var report = await engine.RestoreAsync(Uuid);

        Assert.That(report!.Failures, Is.Empty);
        Assert.That(host.Events, Is.EqualTo(new[]
        {
            "write /sys/bus/pci/drivers/vfio-pci/unbind 0000:01:00.1",
            "write /sys/bus/pci/devices/0000:01:00.1/driver_override ",
            "write /sys/bus/pci/drivers/vfio-pci/unbind 0000:01:00.0",
            "write /sys/bus/pci/devices/0000:01:00.0/driver_override ",
            "modprobe nvidia",
            "modprobe nvidia_uvm",
            "modprobe nvidia_modeset",
            "modprobe nvidia_drm",
            "write /sys/bus/pci/drivers/snd_hda_intel/bind 0000:01:00.1",
            "write /sys/bus/platform/drivers/efi-framebuffer/bind efi-framebuffer.0",
            "write /sys/class/vtconsole/vtcon1/bind 1",
            "systemd start gdm.service",
        }));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(systemd.Disposed, Is.True, "the bus connection is closed");
    }

    [Test]
    public void I_get_the_processes_that_hold_the_gpu_named_and_my_desktop_back()
    {
        using var host = Desktop().Process(4242, "Xorg", "/dev/dri/card0").Process(4300, "pipewire", "/dev/snd/pcmC1D3p");
        var before = host.Snapshot();
        var systemd = Systemd(host);

        var error = Assert.ThrowsAsync<PassthroughException>(() => BindingEngineTests.Engine(host, host.Kernel, systemd).PrepareAsync(Vm()));

        Assert.That(error!.Message, Does.Contain("Xorg (pid 4242) has /dev/dri/card0 open").And.Contain("pipewire (pid 4300) has /dev/snd/pcmC1D3p open"));
        Assert.That(host.Events, Is.EqualTo(new[] { "systemd stop gdm.service", "systemd start gdm.service" }));
        Assert.That(systemd.Units["gdm.service"], Is.EqualTo("active"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public async Task I_can_swap_while_nvidia_persistenced_holds_the_gpu_it_is_stopped_and_started_again()
    {
        using var host = Desktop().Process(900, "nvidia-persiste", "/dev/nvidia0", "/dev/nvidiactl");
        var systemd = Systemd(host);
        systemd.Units["nvidia-persistenced.service"] = "active";
        systemd.OnStop["nvidia-persistenced.service"] = () => host.RemoveProcess(900);
        var engine = BindingEngineTests.Engine(host, host.Kernel, systemd);

        await engine.PrepareAsync(Vm());
        await engine.RestoreAsync(Uuid);

        var units = host.Events.Where(e => e.StartsWith("systemd", StringComparison.Ordinal));
        Assert.That(units, Is.EqualTo(new[]
        {
            "systemd stop gdm.service",
            "systemd stop nvidia-persistenced.service",
            "systemd start nvidia-persistenced.service",
            "systemd start gdm.service",
        }));
    }

    [Test]
    public void I_get_a_working_desktop_back_when_a_module_will_not_unload()
    {
        using var host = Desktop();
        var before = host.Snapshot();
        var systemd = Systemd(host);
        using var kernel = host.FailingKernel();
        kernel.BusyModules.Add("nvidia_modeset");

        var error = Assert.ThrowsAsync<PassthroughException>(() => BindingEngineTests.Engine(host, kernel, systemd).PrepareAsync(Vm()));

        Assert.That(error!.Message, Does.Contain("unload module nvidia_modeset").And.Contain("is in use").And.Contain("put back"));
        Assert.That(host.Events[^1], Is.EqualTo("systemd start gdm.service"), "the display manager comes back last");
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public void I_get_told_when_the_display_manager_does_not_stop()
    {
        using var host = Desktop();
        var before = host.Snapshot();
        var systemd = Systemd(host);
        systemd.StopResults["gdm.service"] = "timeout";

        var error = Assert.ThrowsAsync<PassthroughException>(() => BindingEngineTests.Engine(host, host.Kernel, systemd).PrepareAsync(Vm()));

        Assert.That(error!.Message, Does.StartWith("Stopping gdm.service ended with job result 'timeout'."));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public async Task I_can_restore_a_single_gpu_vm_after_a_crash_between_module_unload_and_bind()
    {
        using var host = Desktop();
        var before = host.Snapshot();
        var systemd = Systemd(host);
        using (var kernel = host.FailingKernel())
        {
            kernel.CrashAt = 2; // the first driver_override write, after the swap
            Assert.ThrowsAsync<SimulatedCrashException>(() => BindingEngineTests.Engine(host, kernel, systemd).PrepareAsync(Vm()));
        }

        Assert.That(host.DriverOf("0000:01:00.0"), Is.Null, "the crash left the GPU without a driver");

        var report = await BindingEngineTests.Engine(host, host.Kernel, systemd).RestoreAsync(Uuid);

        Assert.That(report!.Failures, Is.Empty);
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(systemd.Units["gdm.service"], Is.EqualTo("active"));
    }
}
