using NLog;
using NUnit.Framework;
using Passthrough.Adapters.Sysfs;
using Passthrough.Adapters.Systemd;
using Passthrough.Cli;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

[NonParallelizable]
public class HookVerbTests
{
    internal const string Uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f";

    [TearDown]
    public void ResetLogging() => LogManager.Configuration = null;

    internal static string Domain(string name, string? mode, params string[] functions)
    {
        var metadata = mode is null
            ? string.Empty
            : $"<metadata><passthrough:config xmlns:passthrough=\"urn:passthrough:1\" mode=\"{mode}\"/></metadata>";
        var hostdevs = string.Concat(functions.Select(f =>
            $"<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x{f[5..7]}' slot='0x{f[8..10]}' function='0x{f[11]}'/></source></hostdev>"));
        return $"<domain type='kvm'><name>{System.Security.SecurityElement.Escape(name)}</name><uuid>{Uuid}</uuid>{metadata}<devices>{hostdevs}</devices></domain>";
    }

    internal static async Task<CliResult> Run(SimulatedHost host, IKernelWriter kernel, string? stdin, ISystemdManager? systemd, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var input = new StringReader(stdin ?? string.Empty);
        var context = new CliContext(output, error, input, isTerminal: false, host.Kernel)
        {
            Kernel = kernel,
            Systemd = systemd is null ? null : () => systemd,
        };
        var code = await PassthroughCli.RunAsync(["--root", host.Root, .. args], context);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    private static string Log(SimulatedHost host) =>
        File.ReadAllText(Path.Join(host.Root, "var", "log", "passthrough", "passthrough.log"));

    [Test]
    public async Task I_get_nothing_and_exit_0_for_a_vm_without_passthrough_metadata()
    {
        using var host = new SimulatedHost().AmdGpu();

        var result = await Run(host, host.Kernel, Domain("plain", null, "0000:03:00.0"), null, "hook", "qemu", "plain", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout + result.Stderr, Is.Empty);
        Assert.That(host.Events, Is.Empty);
    }

    // The installed script no longer passes these on, but a script of an older version does, and so may a user.
    [TestCase("start", "begin")]
    [TestCase("started", "begin")]
    [TestCase("stopped", "end")]
    [TestCase("migrate", "begin")]
    [TestCase("reconnect", "begin")]
    [TestCase("prepare", "end")]
    [TestCase("release", "begin")]
    public async Task I_get_exit_0_and_no_change_for_operations_the_hook_does_not_handle(string op, string subop)
    {
        using var host = new SimulatedHost().AmdGpu();

        var result = await Run(host, host.Kernel, Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1"), null, "hook", "qemu", "win11", op, subop, "-");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout + result.Stderr, Is.Empty);
        Assert.That(host.Events, Is.Empty);
    }

    [Test]
    public async Task I_can_start_and_stop_a_vm_with_an_awkward_name_through_the_hook()
    {
        const string name = "win 11 'gaming' $(reboot)";
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();
        var xml = Domain(name, "dynamic", "0000:03:00.0", "0000:03:00.1");

        var prepare = await Run(host, host.Kernel, xml, null, "hook", "qemu", name, "prepare", "begin", "-");

        Assert.That(prepare.ExitCode, Is.EqualTo(0), prepare.ToString());
        Assert.That(prepare.Stdout + prepare.Stderr, Is.Empty);
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"));
        Assert.That(host.DriverOf("0000:03:00.1"), Is.EqualTo("vfio-pci"));

        var release = await Run(host, host.Kernel, xml, null, "hook", "qemu", name, "release", "end", "-", "shutdown");

        Assert.That(release.ExitCode, Is.EqualTo(0), release.ToString());
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(Log(host), Does.Contain($"INFO passthrough hook qemu {name} prepare begin")
            .And.Contain($"INFO passthrough hook qemu {name} release end"));
    }

    [Test]
    public async Task I_get_one_actionable_line_on_stderr_when_prepare_fails_and_the_host_is_untouched()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();
        using var kernel = host.FailingKernel();
        kernel.FailAt = 4; // unbind of the audio function

        var result = await Run(host, kernel, Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1"), null, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1));
        Assert.That(lines[0], Does.StartWith("passthrough: Could not unbind 0000:03:00.1 from snd_hda_intel").And.Contain("dmesg"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        Assert.That(Log(host), Does.Contain("ERROR passthrough hook qemu win11 prepare begin failed"));
    }

    [Test]
    public async Task I_get_a_partially_prepared_vm_restored_when_libvirt_calls_release_after_a_failed_start()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();
        var xml = Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1");
        using (var kernel = host.FailingKernel())
        {
            kernel.CrashAt = 3;
            var crashed = await Run(host, kernel, xml, null, "hook", "qemu", "win11", "prepare", "begin", "-");
            Assert.That(crashed.ExitCode, Is.Not.EqualTo(0), "the process died mid-bind");
        }

        var release = await Run(host, host.Kernel, xml, null, "hook", "qemu", "win11", "release", "end", "-", "failed");

        Assert.That(release.ExitCode, Is.EqualTo(0), release.ToString());
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public async Task I_can_give_my_only_gpu_to_a_vm_and_systemd_is_asked_to_stop_and_start_the_display_manager()
    {
        using var host = new SimulatedHost().AmdGpu().VtConsole(1, "(M) frame buffer device", bound: true);
        var before = host.Snapshot();
        var systemd = new RecordingSystemdFake(host.Events);
        systemd.Units["sddm.service"] = "active";
        systemd.Aliases["display-manager.service"] = "sddm.service";
        var xml = Domain("win11", "single-gpu", "0000:03:00.0", "0000:03:00.1");

        var prepare = await Run(host, host.Kernel, xml, systemd, "hook", "qemu", "win11", "prepare", "begin", "-");
        var release = await Run(host, host.Kernel, xml, systemd, "hook", "qemu", "win11", "release", "end", "-");

        Assert.That(prepare.ExitCode + release.ExitCode, Is.EqualTo(0), prepare + "\n" + release);
        Assert.That(host.Events[0], Is.EqualTo("systemd stop sddm.service"));
        Assert.That(host.Events[^1], Is.EqualTo("systemd start sddm.service"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }
}
