using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Binding;
using Passthrough.Adapters.Processes;
using Passthrough.Adapters.Sysfs;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>The engine on a kernel-exact tree (HostTreeBuilder), checked with the real lspci.</summary>
public class KernelExactTreeTests
{
    /// <summary>Seed 000: an RX 7900 XTX behind its own PCIe switch, each function in its own group.</summary>
    private static string Rx7900Xtx(string dir) =>
        new HostTreeBuilder()
            .Amd().Modules("vfio_pci", "amdgpu", "snd_hda_intel").Driver("vfio-pci")
            .Function("0000:00:00.0", "1022:14d8", 0x060000, group: 0)
            .RootPort("0000:00:01.1", "1022:14db", group: 16, acs: true, below: b => b
                .SwitchPort("0000:01:00.0", "1002:1478", group: 17, below: up => up
                    .SwitchPort("0000:02:00.0", "1002:1479", group: 18, below: down => down
                        .Function("0000:03:00.0", "1002:744c", 0x030000, driver: "amdgpu", group: 19, flr: true, bootVga: true)
                        .Function("0000:03:00.1", "1002:ab30", 0x040300, driver: "snd_hda_intel", group: 20, flr: true))))
            .WriteTo(dir);

    private static async Task<string> DriverInUse(string root, string slot)
    {
        var result = await ProcessRunner.Instance.RunAsync("lspci", ["-A", "linux-sysfs", "-O", $"sysfs.path={root}/sys/bus/pci", "-k", "-s", slot]);
        Assert.That(result.Succeeded, result.Stderr);
        return result.Stdout;
    }

    [Test]
    public async Task I_can_see_with_lspci_that_the_gpu_went_to_vfio_pci_and_came_back()
    {
        using var dir = new TempDirectory();
        var root = Rx7900Xtx(dir.Path);
        var before = TreeSnapshot.Take(Path.Join(root, "sys"));
        var kernel = new SimulatedKernel(root, new Dictionary<string, string> { ["0000:03:00.0"] = "amdgpu", ["0000:03:00.1"] = "snd_hda_intel" });
        var hostRoot = new HostRoot(root);
        var engine = new BindingEngine(hostRoot, new SysfsHostReader(hostRoot, names: false), new SysfsDriverBinder(hostRoot, kernel, kernel, TimeSpan.FromSeconds(5)), () => throw new InvalidOperationException());
        var vm = BindingEngineTests.Vm(PassthroughMode.Dynamic, "0000:03:00.0", "0000:03:00.1");

        await engine.PrepareAsync(vm);

        Assert.That(await DriverInUse(root, "03:00.0"), Does.Contain("Kernel driver in use: vfio-pci"));
        Assert.That(await DriverInUse(root, "03:00.1"), Does.Contain("Kernel driver in use: vfio-pci"));

        await engine.RestoreAsync(vm.DomainUuid);

        Assert.That(await DriverInUse(root, "03:00.0"), Does.Contain("Kernel driver in use: amdgpu"));
        Assert.That(await DriverInUse(root, "03:00.1"), Does.Contain("Kernel driver in use: snd_hda_intel"));
        Assert.That(TreeSnapshot.Take(Path.Join(root, "sys")), Is.EqualTo(before));
    }
}
