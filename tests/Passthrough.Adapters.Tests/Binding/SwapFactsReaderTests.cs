using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Binding;
using Passthrough.Binding;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>The facts a single-GPU swap is planned from, read from a kernel-shaped tree and a systemd fake.</summary>
public class SwapFactsReaderTests
{
    [Test]
    public async Task I_get_the_display_manager_consoles_framebuffer_modules_and_each_drivers_module_as_the_host_shows_them()
    {
        using var host = new SimulatedHost().NvidiaGpu()
            .VtConsole(0, "(S) dummy device", bound: true)
            .VtConsole(1, "(M) frame buffer device", bound: true)
            .PlatformFramebuffer("efi-framebuffer")
            .Module("nvidia_drm");
        // A driver whose module has another name (drivers/NAME/module -> /sys/module/MODULE).
        Directory.CreateDirectory(host.Sys("module/nvidia_core"));
        File.CreateSymbolicLink(host.Sys("bus/pci/drivers/nvidia/module"), "../../../../module/nvidia_core");
        var systemd = new RecordingSystemdFake(host.Events);
        systemd.Units["gdm.service"] = "active";
        systemd.Units["nvidia-persistenced.service"] = "inactive";
        systemd.Aliases["display-manager.service"] = "gdm.service";

        var facts = await new SwapFactsReader(new HostRoot(host.Root)).ReadAsync(systemd, null, ["nvidia", "snd_hda_intel"], CancellationToken.None);

        Assert.That(facts.DisplayManager, Is.EqualTo(new UnitFact("gdm.service", Running: true)));
        Assert.That(facts.Persistenced, Is.EqualTo(new UnitFact("nvidia-persistenced.service", Running: false)));
        Assert.That(facts.Consoles.OrderBy(c => c.Id, StringComparer.Ordinal), Is.EqualTo(new[]
        {
            new ConsoleFact("vtcon0", "(S) dummy device", Bound: true),
            new ConsoleFact("vtcon1", "(M) frame buffer device", Bound: true),
        }));
        Assert.That(facts.Framebuffers, Is.EqualTo(new[] { new PlatformDeviceFact("efi-framebuffer", "efi-framebuffer.0") }));
        Assert.That(facts.LoadedModules, Does.Contain("nvidia_drm").And.Contain("vfio_pci"));
        Assert.That(facts.ModuleOf("nvidia"), Is.EqualTo("nvidia_core"));
        Assert.That(facts.ModuleOf("snd_hda_intel"), Is.EqualTo("snd_hda_intel"), "no module link: the driver's own name");
        Assert.That(host.Events, Is.Empty, "reading changes nothing");
    }

    [Test]
    public async Task I_get_the_configured_display_manager_as_named_and_none_when_systemd_has_no_display_manager()
    {
        using var host = new SimulatedHost().NvidiaGpu();
        var systemd = new RecordingSystemdFake(host.Events);
        systemd.Units["sddm.service"] = "inactive";
        var reader = new SwapFactsReader(new HostRoot(host.Root));

        var configured = await reader.ReadAsync(systemd, "sddm.service", [], CancellationToken.None);
        var none = await reader.ReadAsync(systemd, null, [], CancellationToken.None);

        Assert.That(configured.DisplayManager, Is.EqualTo(new UnitFact("sddm.service", Running: false)));
        Assert.That(none.DisplayManager, Is.Null);
        Assert.That(none.Persistenced, Is.Null);
    }
}
