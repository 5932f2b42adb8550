using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Pci;

namespace Passthrough.Tests.Binding;

/// <summary>The single-GPU swap as a pure plan: facts in, the ordered steps (with their journal entries) out.</summary>
public class SingleGpuSwapPlanTests
{
    private static readonly PciFunction NvidiaVga = new() { Address = PciAddress.Parse("0000:01:00.0"), Class = new PciClass(0x030000), Driver = "nvidia", IommuGroup = 1 };

    private static readonly PciFunction NvidiaAudio = new() { Address = PciAddress.Parse("0000:01:00.1"), Class = new PciClass(0x040300), Driver = "snd_hda_intel", IommuGroup = 1 };

    private static readonly PciFunction[] Gpu = [NvidiaVga, NvidiaAudio];

    /// <summary>What the adapters read on an NVIDIA desktop: gdm running, fbcon on vtcon1, efifb, the nvidia stack without nvidia_uvm.</summary>
    private static SwapFacts Desktop() => new SwapFacts()
        .WithDisplayManager(new UnitFact("gdm.service", Running: true))
        .WithConsoles([new ConsoleFact("vtcon1", "(M) frame buffer device", Bound: true), new ConsoleFact("vtcon0", "(S) dummy device", Bound: true)])
        .WithFramebuffers([new PlatformDeviceFact("efi-framebuffer", "efi-framebuffer.0")])
        .WithLoadedModules(new HashSet<string> { "nvidia", "nvidia_modeset", "nvidia_drm", "snd_hda_intel" });

    [Test]
    public void I_get_the_desktop_released_in_order_display_manager_consoles_framebuffer_modules_users_first()
    {
        var plan = SingleGpuSwapPlan.Build(Desktop(), Gpu, [], BindingTimeouts.Default);

        Assert.That(plan.Steps.Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "stop gdm.service",
            "check that nothing holds 0000:01:00.0, 0000:01:00.1",
            "unbind console vtcon1",
            "unbind efi-framebuffer.0 from efi-framebuffer",
            "unload module nvidia_drm",
            "unload module nvidia_modeset",
            "unload module nvidia",
        }));
        Assert.That(plan.Steps.Select(s => s.Records?.Kind), Is.EqualTo(new JournalKind?[]
        {
            JournalKind.DisplayManager, null, JournalKind.VtConsole, JournalKind.Framebuffer, JournalKind.Module, JournalKind.Module, JournalKind.Module,
        }));
        Assert.That(plan.Steps.OfType<UnitStep>().Single().Timeout, Is.EqualTo(BindingTimeouts.Default.UnitStop));
    }

    [Test]
    public void I_get_nvidia_persistenced_stopped_only_while_it_still_holds_the_gpu()
    {
        var facts = Desktop().WithPersistenced(new UnitFact("nvidia-persistenced.service", Running: true));

        var plan = SingleGpuSwapPlan.Build(facts, Gpu, [], BindingTimeouts.Default);

        var stop = plan.Steps.OfType<UnitStep>().Single(s => s.Unit == "nvidia-persistenced.service");
        Assert.That(stop.OnlyWhileHeld, Is.EqualTo(Gpu));
        Assert.That(stop.Records, Is.EqualTo(new JournalEntry(JournalKind.StoppedUnit, "nvidia-persistenced.service")));
        Assert.That(plan.Steps.ToList().IndexOf(stop), Is.EqualTo(1), "after the display manager, before the check that nothing holds the GPU");
        Assert.That(plan.Steps[2], Is.TypeOf<RequireFreeStep>());
    }

    [Test]
    public void I_get_my_own_module_list_instead_of_nvidias_and_nothing_stopped_that_is_not_running()
    {
        var facts = Desktop().WithDisplayManager(new UnitFact("sddm.service", Running: false)).WithLoadedModules(null);
        var amd = new PciFunction { Address = PciAddress.Parse("0000:03:00.0"), Class = new PciClass(0x030000), Driver = "amdgpu", IommuGroup = 14 };

        var configured = SingleGpuSwapPlan.Build(facts, [amd], ["amdgpu"], BindingTimeouts.Default);
        var none = SingleGpuSwapPlan.Build(facts, [amd], [], BindingTimeouts.Default);

        Assert.That(configured.Steps.OfType<UnitStep>(), Is.Empty);
        Assert.That(configured.Steps.OfType<ModuleStep>().Select(m => m.Module), Is.EqualTo(new[] { "amdgpu" }), "unreadable /proc/modules: every planned module");
        Assert.That(none.Steps.OfType<ModuleStep>(), Is.Empty, "no default list for a GPU not on nvidia");
    }

    [Test]
    public void I_get_no_unbind_for_a_function_whose_module_the_swap_unloads()
    {
        var facts = Desktop();
        var swap = SingleGpuSwapPlan.Build(facts, Gpu, [], BindingTimeouts.Default);
        var binding = new BindingPlan([], [
            new FunctionBinding(new FunctionState(NvidiaVga.Address, "nvidia", null), BindingPlan.StepsFor(NvidiaVga.Address, "nvidia")),
            new FunctionBinding(new FunctionState(NvidiaAudio.Address, "snd_hda_intel", null), BindingPlan.StepsFor(NvidiaAudio.Address, "snd_hda_intel")),
        ]);

        var steps = binding.Steps(f => swap.DriverAfter(f, facts));

        Assert.That(steps.Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "set driver_override of 0000:01:00.0 to vfio-pci",
            "probe drivers for 0000:01:00.0",
            "check that 0000:01:00.0 is on vfio-pci",
            "set driver_override of 0000:01:00.1 to vfio-pci",
            "unbind 0000:01:00.1 from snd_hda_intel",
            "probe drivers for 0000:01:00.1",
            "check that 0000:01:00.1 is on vfio-pci",
        }));
        Assert.That(steps[0].Records, Is.EqualTo(new JournalEntry(JournalKind.Function, "0000:01:00.0", "nvidia", null)), "the original driver is journaled, not the one after the swap");
        Assert.That(steps[3].Records, Is.EqualTo(new JournalEntry(JournalKind.Function, "0000:01:00.1", "snd_hda_intel", null)));
        Assert.That(steps.Count(s => s.Records is not null), Is.EqualTo(2));
    }

    [Test]
    public void I_get_the_driver_gone_when_its_module_has_another_name()
    {
        var facts = new SwapFacts().WithDriverModules(new Dictionary<string, string> { ["xhci_hcd"] = "xhci_pci" });
        var usb = new PciFunction { Address = PciAddress.Parse("0000:06:00.0"), Class = new PciClass(0x0c0330), Driver = "xhci_hcd", IommuGroup = 30 };

        var swap = SingleGpuSwapPlan.Build(facts, [usb], ["xhci_pci"], BindingTimeouts.Default);

        Assert.That(swap.DriverAfter(new FunctionState(usb.Address, "xhci_hcd", null), facts), Is.Null);
        Assert.That(facts.ModuleOf("vfio-pci"), Is.EqualTo("vfio_pci"));
    }

    [Test]
    public void I_get_the_desktop_back_in_reverse_with_the_display_manager_last()
    {
        var entries = new[]
        {
            new JournalEntry(JournalKind.DisplayManager, "gdm.service"),
            new JournalEntry(JournalKind.StoppedUnit, "nvidia-persistenced.service"),
            new JournalEntry(JournalKind.VtConsole, "vtcon0"),
            new JournalEntry(JournalKind.VtConsole, "vtcon1"),
            new JournalEntry(JournalKind.Framebuffer, "efi-framebuffer.0", "efi-framebuffer"),
            new JournalEntry(JournalKind.Module, "nvidia_drm"),
            new JournalEntry(JournalKind.Module, "nvidia"),
            new JournalEntry(JournalKind.Function, "0000:01:00.0", "nvidia", null),
        };
        var journal = new BindingJournal { Id = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f", Owner = JournalOwner.ForVm("9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f", "win11"), Mode = PassthroughMode.SingleGpu, Entries = entries };

        var steps = RestorePlan.ForJournal(journal, BindingTimeouts.Default.WithUnitStart(TimeSpan.FromSeconds(7)));

        Assert.That(steps.Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "release 0000:01:00.0",
            "load module nvidia",
            "load module nvidia_drm",
            "rebind 0000:01:00.0",
            "bind efi-framebuffer.0 to efi-framebuffer",
            "bind console vtcon1",
            "bind console vtcon0",
            "start nvidia-persistenced.service",
            "start gdm.service",
        }));
        Assert.That(steps.OfType<AttributeStep>().First().UnlessExists, Is.EqualTo("/sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0"), "a framebuffer bound again by the driver is left alone");
        Assert.That(steps.OfType<UnitStep>().Select(u => u.Timeout), Is.All.EqualTo(TimeSpan.FromSeconds(7)));
    }

    [Test]
    public void I_get_a_bind_that_falls_back_to_drivers_probe_and_a_verify_that_polls_from_the_plan()
    {
        var address = PciAddress.Parse("0000:03:00.0");

        var rebind = RestorePlan.Rebind(new FunctionState(address, "amdgpu", null), new FunctionState(address, null, null));

        Assert.That(rebind[0].Fallback, Is.EqualTo(BindingStep.DriversProbe(address)));
        Assert.That(rebind[1].Poll, Is.EqualTo(new Poll(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(20))));
    }
}
