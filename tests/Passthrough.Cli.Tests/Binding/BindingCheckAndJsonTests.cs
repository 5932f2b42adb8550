using System.Text.Json;
using NUnit.Framework;
using Passthrough.Adapters.Systemd;
using Passthrough.Cli;
using Passthrough.Host;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>`bind`, `unbind` and `restore` with --json and --check, on the simulated kernel.</summary>
public class BindingCheckAndJsonTests
{
    private static readonly string[] BindingNames = ["changed", "actions", "rebootRequired", "warnings", "diffs", "devices"];

    [Test]
    public async Task I_can_check_what_bind_would_do_without_changing_anything()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = Everything(host);

        var check = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00", "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(Everything(host), Is.EqualTo(before), "no sysfs write, no journal, no lock file");
        Assert.That(host.Events, Is.Empty, "the kernel saw nothing");
        using var json = JsonDocument.Parse(check.Stdout);
        var report = json.RootElement;
        Assert.That(report.EnumerateObject().Select(p => p.Name), Is.EqualTo(BindingNames));
        Assert.That(report.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(Strings(report.GetProperty("actions")), Is.EqualTo(new[]
        {
            "bind 0000:03:00.0 to vfio-pci (from amdgpu)",
            "bind 0000:03:00.1 to vfio-pci (from snd_hda_intel)",
        }));
        Assert.That(Devices(report), Is.EqualTo(new[] { ("0000:03:00.0", "amdgpu", "vfio-pci", true), ("0000:03:00.1", "snd_hda_intel", "vfio-pci", true) }));

        var bind = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00", "--json");

        Assert.That(bind.ExitCode, Is.Zero, bind.ToString());
        using var bound = JsonDocument.Parse(bind.Stdout);
        Assert.That(Devices(bound.RootElement), Is.EqualTo(Devices(report)), "the check foresaw what bind did");
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"));
    }

    [Test]
    public async Task I_get_changed_false_from_a_second_identical_bind_and_nothing_is_rebound()
    {
        using var host = new SimulatedHost().AmdGpu();
        var first = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00", "--json");
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        var bound = Everything(host);
        host.Events.Clear();

        var check = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00", "--check", "--json");
        var second = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00", "--json");

        foreach (var run in new[] { check, second })
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            using var json = JsonDocument.Parse(run.Stdout);
            Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.False, run.Stdout);
            Assert.That(json.RootElement.GetProperty("actions").GetArrayLength(), Is.Zero);
            Assert.That(json.RootElement.GetProperty("warnings").GetArrayLength(), Is.Zero, "these are Passthrough's own binds");
        }

        Assert.That(host.Events, Is.Empty, "the GPU was not given back and bound again");
        Assert.That(WithoutLock(Everything(host)), Is.EqualTo(WithoutLock(bound)), "journal kept as it was");

        var status = await HookVerbTests.Run(host, host.Kernel, null, null, "status", "--json");
        using var state = JsonDocument.Parse(status.Stdout);
        Assert.That(state.RootElement.GetProperty("vms")[0].GetProperty("devices")[0].GetProperty("hostDriver").GetString(), Is.EqualTo("amdgpu"), "unbind still knows the host driver");
    }

    [Test]
    public async Task I_get_changed_false_and_a_warning_for_a_device_on_vfio_pci_since_boot()
    {
        using var host = new SimulatedHost()
            .Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 14, native: "amdgpu");

        var bind = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00.0", "--json");

        Assert.That(bind.ExitCode, Is.Zero, bind.ToString());
        using var json = JsonDocument.Parse(bind.Stdout);
        Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.False);
        Assert.That(Strings(json.RootElement.GetProperty("warnings")).Single(), Does.Contain("0000:03:00.0 was on vfio-pci already, not bound by Passthrough"));
        var journals = Path.Join(host.Root, "run", "passthrough");
        Assert.That(Directory.Exists(journals) ? Directory.EnumerateFiles(journals, "*.json") : [], Is.Empty, "no empty journal");
    }

    [Test]
    public async Task I_get_the_same_refusal_from_bind_check_as_from_bind_when_the_group_cannot_be_given_away()
    {
        using var host = new SimulatedHost().AmdGpu()
            .Function("0000:00:14.0", 0x8086, 0x7ae0, 0x0c0330, "xhci_hcd", 14);
        var before = Everything(host);

        var check = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00", "--check", "--json");
        var bind = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00", "--json");

        Assert.That(check.ExitCode, Is.EqualTo(1), check.ToString());
        Assert.That((check.ExitCode, check.Stderr), Is.EqualTo((bind.ExitCode, bind.Stderr)));
        Assert.That(check.Stdout, Is.Empty);
        Assert.That(WithoutLock(Everything(host)), Is.EqualTo(WithoutLock(before)));
    }

    [Test]
    public void I_am_told_by_bind_check_under_a_root_without_a_kernel_that_the_real_bind_cannot_run_there()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = Everything(host);

        var check = CliRun.Run("--root", host.Root, "bind", "0000:03:00", "--check", "--json");

        Assert.That(check.ExitCode, Is.EqualTo(3), check.ToString());
        Assert.That(check.Stderr, Does.Contain("a directory tree has no kernel behind it"));
        Assert.That(Everything(host), Is.EqualTo(before));
    }

    [Test]
    public async Task I_can_check_unbind_then_unbind_and_a_second_unbind_reports_changed_false()
    {
        using var host = new SimulatedHost().AmdGpu();
        var original = host.Snapshot();
        await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00");
        var bound = Everything(host);
        host.Events.Clear();

        var check = await HookVerbTests.Run(host, host.Kernel, null, null, "unbind", "0000:03:00", "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(Everything(host), Is.EqualTo(bound));
        Assert.That(host.Events, Is.Empty);
        using (var json = JsonDocument.Parse(check.Stdout))
        {
            Assert.That(json.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(BindingNames));
            Assert.That(json.RootElement.GetProperty("changed").GetBoolean(), Is.True);
            Assert.That(Devices(json.RootElement), Is.EqualTo(new[] { ("0000:03:00.0", "vfio-pci", "amdgpu", true), ("0000:03:00.1", "vfio-pci", "snd_hda_intel", true) }));
            Assert.That(Strings(json.RootElement.GetProperty("actions"))[0], Is.EqualTo("give 0000:03:00.0 back to amdgpu (from vfio-pci)"));
        }

        var unbind = await HookVerbTests.Run(host, host.Kernel, null, null, "unbind", "0000:03:00", "--json");
        var again = await HookVerbTests.Run(host, host.Kernel, null, null, "unbind", "0000:03:00", "--json");

        Assert.That(host.Snapshot(), Is.EqualTo(original));
        using var one = JsonDocument.Parse(unbind.Stdout);
        using var two = JsonDocument.Parse(again.Stdout);
        Assert.That(one.RootElement.GetProperty("changed").GetBoolean(), Is.True, unbind.ToString());
        Assert.That(two.RootElement.GetProperty("changed").GetBoolean(), Is.False, again.ToString());
        Assert.That(Devices(two.RootElement), Is.EqualTo(new[] { ("0000:03:00.0", "amdgpu", "amdgpu", false), ("0000:03:00.1", "snd_hda_intel", "snd_hda_intel", false) }));
    }

    [Test]
    public async Task I_can_check_what_restore_would_give_back_and_a_second_restore_reports_changed_false()
    {
        using var host = new SimulatedHost().AmdGpu();
        var original = host.Snapshot();
        var xml = HookVerbTests.Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1");
        await HookVerbTests.Run(host, host.Kernel, xml, null, "hook", "qemu", "win11", "prepare", "begin", "-");
        var prepared = Everything(host);
        host.Events.Clear();

        var check = await HookVerbTests.Run(host, host.Kernel, null, null, "restore", "win11", "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(Everything(host), Is.EqualTo(prepared));
        Assert.That(host.Events, Is.Empty);
        using (var json = JsonDocument.Parse(check.Stdout))
        {
            var report = json.RootElement;
            Assert.That(report.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "changed", "actions", "rebootRequired", "warnings", "diffs", "restored" }));
            Assert.That(report.GetProperty("changed").GetBoolean(), Is.True);
            Assert.That(Strings(report.GetProperty("actions")), Has.Member("VM 'win11': rebind 0000:03:00.0"));
            var journal = report.GetProperty("restored")[0];
            Assert.That(journal.GetProperty("owner").GetString(), Is.EqualTo("win11"));
            Assert.That(Strings(journal.GetProperty("devices")), Is.EquivalentTo(new[] { "0000:03:00.0", "0000:03:00.1" }));
        }

        var restore = await HookVerbTests.Run(host, host.Kernel, null, null, "restore", "win11", "--json");
        var again = await HookVerbTests.Run(host, host.Kernel, null, null, "restore", "win11", "--json");

        Assert.That(host.Snapshot(), Is.EqualTo(original));
        using var one = JsonDocument.Parse(restore.Stdout);
        using var two = JsonDocument.Parse(again.Stdout);
        Assert.That(one.RootElement.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(two.RootElement.GetProperty("changed").GetBoolean(), Is.False);
        Assert.That(again.ExitCode, Is.Zero);
        Assert.That(Strings(two.RootElement.GetProperty("warnings")).Single(), Does.StartWith("Nothing to restore for 'win11'"));
    }

    [Test]
    public async Task I_see_a_spinner_with_the_unit_and_elapsed_time_on_a_terminal_while_restore_waits_for_the_display_manager()
    {
        using var host = SingleGpuVmRunning(out var systemd);
        var slow = new SlowStartSystemdFake(systemd, TimeSpan.FromMilliseconds(1500));

        var restore = await RunOnTerminal(host, slow, "restore", "win11");

        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(restore.Stderr, Does.Contain("Starting sddm.service (1 s)"), "the step's name and the time it has taken");
        Assert.That(restore.Stdout, Does.Contain("VM 'win11': restored"));
    }

    [Test]
    public async Task I_get_nothing_but_the_json_on_a_terminal_with_json()
    {
        using var host = SingleGpuVmRunning(out var systemd);
        var slow = new SlowStartSystemdFake(systemd, TimeSpan.FromMilliseconds(1500));

        var restore = await RunOnTerminal(host, slow, "restore", "win11", "--json");

        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(restore.Stderr, Is.Empty, "no spinner bytes");
        Assert.That(restore.Stdout, Does.StartWith("{").And.Not.Contain("\u001b"));
        using var json = JsonDocument.Parse(restore.Stdout);
        Assert.That(Strings(json.RootElement.GetProperty("actions")), Has.Member("VM 'win11': start sddm.service"));
    }

    [TestCase(true, true, false, ExpectedResult = true)]
    [TestCase(true, true, true, ExpectedResult = false)]
    [TestCase(false, true, false, ExpectedResult = false)]
    [TestCase(true, false, false, ExpectedResult = false)]
    public bool I_see_a_spinner_only_when_both_streams_are_terminals_and_no_json_is_asked_for(bool stdout, bool stderr, bool json) =>
        Passthrough.Cli.Rendering.StepSpinner.Shows(stdout, stderr, json);

    private static SimulatedHost SingleGpuVmRunning(out RecordingSystemdFake systemd)
    {
        var host = new SimulatedHost().AmdGpu().VtConsole(1, "(M) frame buffer device", bound: true);
        systemd = new RecordingSystemdFake(host.Events);
        systemd.Units["sddm.service"] = "active";
        systemd.Aliases["display-manager.service"] = "sddm.service";
        var prepare = HookVerbTests.Run(host, host.Kernel, HookVerbTests.Domain("win11", "single-gpu", "0000:03:00.0", "0000:03:00.1"), systemd, "hook", "qemu", "win11", "prepare", "begin", "-").GetAwaiter().GetResult();
        Assert.That(prepare.ExitCode, Is.Zero, prepare.ToString());
        return host;
    }

    private static async Task<CliResult> RunOnTerminal(SimulatedHost host, ISystemdManager systemd, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new CliContext(output, error, null, isTerminal: true, host.Kernel)
        {
            ErrorIsTerminal = true,
            Kernel = host.Kernel,
            Systemd = () => systemd,
        };
        var code = await PassthroughCli.RunAsync(["--root", host.Root, .. args], context);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    private static string Everything(SimulatedHost host) => TreeSnapshot.Take(host.Root);

    /// <summary>The tree without the host lock (a real bind takes it even when it then has nothing to do).</summary>
    private static string WithoutLock(string snapshot) =>
        string.Join('\n', snapshot.Split('\n').Where(l => !l.Contains("/run/passthrough/lock", StringComparison.Ordinal) && !l.EndsWith("/run/passthrough/", StringComparison.Ordinal)));

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private static (string, string?, string?, bool)[] Devices(JsonElement report) =>
        [.. report.GetProperty("devices").EnumerateArray().Select(d => (d.GetProperty("address").GetString()!, d.GetProperty("before").GetString(), d.GetProperty("after").GetString(), d.GetProperty("changed").GetBoolean()))];

    /// <summary>systemd whose unit starts take a while, as a display manager's do.</summary>
    private sealed class SlowStartSystemdFake(RecordingSystemdFake inner, TimeSpan delay) : ISystemdManager
    {
        public Task<string?> ResolveUnitAsync(string unit, CancellationToken cancellationToken = default) => inner.ResolveUnitAsync(unit, cancellationToken);

        public Task<string> GetActiveStateAsync(string unit, CancellationToken cancellationToken = default) => inner.GetActiveStateAsync(unit, cancellationToken);

        public Task<string> StopUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default) => inner.StopUnitAsync(unit, timeout, cancellationToken);

        public async Task<string> StartUnitAsync(string unit, TimeSpan timeout, CancellationToken cancellationToken = default)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.StartUnitAsync(unit, timeout, cancellationToken);
        }

        public Task ReloadAsync(CancellationToken cancellationToken = default) => inner.ReloadAsync(cancellationToken);

        public Task EnableUnitFilesAsync(IReadOnlyList<string> unitFiles, CancellationToken cancellationToken = default) => inner.EnableUnitFilesAsync(unitFiles, cancellationToken);

        public Task<CpuSet> GetAllowedCpusAsync(string unit, CancellationToken cancellationToken = default) => inner.GetAllowedCpusAsync(unit, cancellationToken);

        public Task SetAllowedCpusAsync(string unit, CpuSet cpus, CancellationToken cancellationToken = default) => inner.SetAllowedCpusAsync(unit, cpus, cancellationToken);

        public void Dispose()
        {
        }
    }
}
