using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Processes;
using Passthrough.Adapters.Setup;
using Passthrough.Adapters.Sysfs;
using Passthrough.Domain;
using Passthrough.Setup;
using Passthrough.Testing;

namespace Passthrough.Tests.Setup;

/// <summary>The files setup writes, read by the real programs that consume them (dracut, bash as
/// grub-mkconfig and mkinitcpio source their configs, systemd-analyze).</summary>
public sealed class SetupRealToolTests
{
    private static async Task<string> ApplyAsync(string name, TempDirectory temp)
    {
        var root = SetupFixtures.Create(name, temp);
        var host = new HostRoot(root);
        var inventory = new SysfsHostReader(host, names: false).Read();
        var plan = SetupPlanner.Plan(new SetupRequest
        {
            Mode = PassthroughMode.Static,
            Functions = inventory.Gpu(Pci.PciSlot.ParseLenient(SetupFixtures.SlotOf(name))).Functions,
            Facts = inventory.Facts,
            Files = new BootFilesReader(host).Read(),
        });
        await new SetupApplier(host, new RecordingProcessRunner(), null, runCommands: false).ApplyAsync(plan);
        return root;
    }

    [Test]
    public async Task I_get_a_dracut_conf_that_real_dracut_reads()
    {
        RealPart.RequireProgram("/usr/bin/dracut", "dracut");

        // With --no-kernel dracut never opens /lib/modules/KVER (dracut.sh checks it only for a
        // kernel), so the running kernel's name serves even in a container that has no modules.
        var kver = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

        using var temp = new TempDirectory();
        var root = await ApplyAsync("systemd-boot", temp);

        // --debug traces every assignment; --print-cmdline stops before building an image.
        var result = await ProcessRunner.Instance.RunAsync("dracut", ["--conf", "/dev/null", "--confdir", Path.Join(root, "etc/dracut.conf.d"), "--kver", kver, "--no-kernel", "--debug", "--print-cmdline"], new ProcessOptions().WithTimeout(TimeSpan.FromMinutes(2)));

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        var output = result.Stdout + result.Stderr;
        Assert.That(output, Does.Contain(". " + Path.Join(root, "etc/dracut.conf.d/passthrough-vfio.conf")));
        Assert.That(output, Does.Contain("force_drivers=' vfio vfio_iommu_type1 vfio_pci '"));
        Assert.That(output, Does.Not.Contain("should have surrounding white spaces"));
    }

    [Test]
    public async Task I_get_an_etc_default_grub_that_the_shell_reads_as_intended()
    {
        using var temp = new TempDirectory();
        var root = await ApplyAsync("debian-grub", temp);
        var file = Path.Join(root, "etc/default/grub");

        // grub-mkconfig reads the file with `. /etc/default/grub`.
        var syntax = await ProcessRunner.Instance.RunAsync("bash", ["-n", file]);
        var value = await ProcessRunner.Instance.RunAsync("bash", ["-c", "lsb_release() { :; }; . \"$1\"; printf '%s|%s' \"$GRUB_CMDLINE_LINUX_DEFAULT\" \"$GRUB_CMDLINE_LINUX\"", "bash", file]);

        Assert.That(syntax.ExitCode, Is.Zero, syntax.Stderr);
        Assert.That(value.Stdout, Is.EqualTo("quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:2805,10de:22bd|"));
    }

    [Test]
    public async Task I_get_mkinitcpio_modules_in_the_order_the_arch_wiki_gives()
    {
        using var temp = new TempDirectory();
        var root = await ApplyAsync("arch-mkinitcpio", temp);

        // mkinitcpio sources its config as bash.
        var value = await ProcessRunner.Instance.RunAsync("bash", ["-c", ". \"$1\"; printf '%s ' \"${MODULES[@]}\"", "bash", Path.Join(root, "etc/mkinitcpio.conf")]);

        Assert.That(value.Stdout, Is.EqualTo("vfio_pci vfio vfio_iommu_type1 amdgpu "));
    }

    [Test]
    public async Task I_get_a_binding_unit_and_memlock_drop_in_systemd_accepts()
    {
        RealPart.RequireProgram("/usr/bin/systemd-analyze", "systemd");
        using var temp = new TempDirectory();
        var root = await ApplyAsync("fedora-bls", temp);
        var unit = Path.Join(root, "etc/systemd/system", SetupPlanner.BindUnit);

        var result = await ProcessRunner.Instance.RunAsync("systemd-analyze", ["verify", unit]);

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        Assert.That(result.Stderr.Trim(), Is.Empty, "no unknown keys or bad lines");
        Assert.That(File.ReadAllText(Path.Join(root, "etc/systemd/system/virtqemud.service.d", SetupPlanner.MemlockDropIn)), Does.Contain("[Service]\nLimitMEMLOCK=infinity\n"));
    }
}
