using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>Issue 15: &lt;passthrough:bar&gt; resizes a BAR between the host driver's unbind and vfio-pci's probe, and restore puts it back.</summary>
public class BarResizeTests
{
    private const string Uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f";
    private const long MiB = 1L << 20;
    private const long GiB = 1L << 30;

    /// <summary>An RX 7900 XTX offering 1 MiB..8 GiB (mask 0x3fff) for BAR 0, now 256 MiB.</summary>
    private static SimulatedHost Card() => new SimulatedHost().AmdGpu().ResizableBar("0000:03:00.0", 0, 0x3fff, 256 * MiB);

    private static VmPassthroughConfig Vm(params BarRequest[] bars) =>
        BindingEngineTests.Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1") with { Bars = bars };

    [Test]
    public async Task I_can_give_my_vm_an_8_gib_bar_and_get_256_mib_back_after_it_stops()
    {
        using var host = Card();
        var before = host.Snapshot();
        var engine = BindingEngineTests.Engine(host, host.Kernel);

        await engine.PrepareAsync(Vm(new BarRequest(0, 8 * GiB)));

        Assert.That(host.Events.Take(4), Is.EqualTo(new[]
        {
            "write /sys/bus/pci/devices/0000:03:00.0/driver_override vfio-pci",
            "write /sys/bus/pci/drivers/amdgpu/unbind 0000:03:00.0",
            "write /sys/bus/pci/devices/0000:03:00.0/resource0_resize 13",
            "write /sys/bus/pci/drivers_probe 0000:03:00.0",
        }));
        Assert.That(host.Read("sys/bus/pci/devices/0000:03:00.0/resource").Split('\n')[0], Does.EndWith("0x00000079ffffffff 0x000000000014220c"), "BAR 0 spans 8 GiB");
        var entry = engine.Journals.Load(Uuid)!.Entries.Single(e => e.Kind == JournalKind.BarSize);
        Assert.That((entry.Target, entry.Bar, entry.Size), Is.EqualTo(("0000:03:00.0", (int?)0, (long?)(256 * MiB))));

        host.Events.Clear();
        var report = await engine.RestoreAsync(Uuid);

        Assert.That(report!.Failures, Is.Empty);
        var resize = host.Events.IndexOf("write /sys/bus/pci/devices/0000:03:00.0/resource0_resize 8");
        Assert.That(resize, Is.GreaterThan(host.Events.IndexOf("write /sys/bus/pci/drivers/vfio-pci/unbind 0000:03:00.0")), "off vfio-pci first");
        Assert.That(resize, Is.LessThan(host.Events.IndexOf("write /sys/bus/pci/drivers/amdgpu/bind 0000:03:00.0")), "then amdgpu gets its old BAR");
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public void I_am_refused_a_size_my_card_does_not_offer_before_anything_changes()
    {
        using var host = Card();
        var before = host.Snapshot();
        var engine = BindingEngineTests.Engine(host, host.Kernel);

        var error = Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(new BarRequest(0, 16 * GiB))));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Is.EqualTo("VM 'win11': 0000:03:00.0 BAR 0 does not offer 16 GiB (it offers 1 MiB, 2 MiB, 4 MiB, 8 MiB, 16 MiB, 32 MiB, 64 MiB, 128 MiB, 256 MiB, 512 MiB, 1 GiB, 2 GiB, 4 GiB, 8 GiB)."));
        Assert.That(host.Events, Is.Empty);
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(engine.Journals.Load(Uuid), Is.Null);
    }

    [Test]
    public void I_am_refused_a_bar_index_my_card_cannot_resize()
    {
        using var host = Card();
        var engine = BindingEngineTests.Engine(host, host.Kernel);

        var error = Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(new BarRequest(2, 256 * MiB))));

        Assert.That(error!.Message, Does.Contain("0000:03:00.0 has no resizable BAR 2 (resizable: BAR 0)"));
        Assert.That(host.Events, Is.Empty);
    }

    [Test]
    public async Task I_can_ask_for_the_size_the_bar_has_and_nothing_is_resized()
    {
        using var host = Card();
        var engine = BindingEngineTests.Engine(host, host.Kernel);

        await engine.PrepareAsync(Vm(new BarRequest(0, 256 * MiB)));

        Assert.That(host.Events.Where(e => e.Contains("_resize", StringComparison.Ordinal)), Is.Empty);
        Assert.That(engine.Journals.Load(Uuid)!.Entries.Any(e => e.Kind == JournalKind.BarSize), Is.False);
    }

    [Test]
    public async Task I_get_the_old_bar_back_when_the_start_fails_after_the_resize()
    {
        using var host = Card();
        var before = host.Snapshot();
        // The probe after the resize (write 3: override, unbind, resize, probe) fails: everything is undone.
        using var kernel = host.FailingKernel();
        kernel.FailAt = 3;
        var engine = BindingEngineTests.Engine(host, kernel);

        Assert.ThrowsAsync<PassthroughException>(() => engine.PrepareAsync(Vm(new BarRequest(0, 8 * GiB))));

        Assert.That(host.Events, Does.Contain("write /sys/bus/pci/devices/0000:03:00.0/resource0_resize 8"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }
}
