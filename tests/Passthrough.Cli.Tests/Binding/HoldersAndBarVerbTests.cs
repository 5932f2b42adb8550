using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>Issue 15 through the CLI: holders refused in every mode, BAR sizes checked, the dual-GPU fixture's doctor and list.</summary>
public class HoldersAndBarVerbTests
{
    private static SimulatedHost DualGpu() => new SimulatedHost()
        .Function("0000:00:02.0", 0x8086, 0xa780, 0x030000, "i915", 1)
        .AmdGpu()
        .Drm("0000:00:02.0", "card0")
        .Drm("0000:03:00.0", "card1")
        .Process(2301, "gnome-shell", "/dev/dri/card0", "/dev/dri/card1").RunsAs(2301, "alice", 1000);

    private static string WithBar(string domain, string bar) =>
        domain.Replace("mode=\"dynamic\"/>", $"mode=\"dynamic\">{bar}</passthrough:config>", StringComparison.Ordinal);

    [Test]
    public async Task I_cannot_bind_a_gpu_my_desktop_holds_and_am_told_which_process_of_which_user()
    {
        using var host = DualGpu();
        var before = host.Snapshot();

        var bind = await HookVerbTests.Run(host, host.Kernel, null, null, "bind", "0000:03:00");

        Assert.That(bind.ExitCode, Is.EqualTo(1), bind.ToString());
        Assert.That(bind.Stderr, Does.Contain("gnome-shell (pid 2301) has /dev/dri/card1 open (user alice)").And.Contain("nothing was changed"));
        Assert.That(bind.Stderr, Does.Contain("passthrough setup --mode dynamic"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public async Task My_dynamic_vm_does_not_start_while_a_compositor_holds_its_gpu_and_libvirt_hears_why()
    {
        using var host = DualGpu();
        var before = host.Snapshot();

        var result = await HookVerbTests.Run(host, host.Kernel, HookVerbTests.Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1"), null, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.Not.EqualTo(0));
        Assert.That(result.Stderr, Does.Contain("Cannot give VM 'win11'").And.Contain("gnome-shell (pid 2301) has /dev/dri/card1 open (user alice)"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [TestCase("<passthrough:bar index=\"0\" size=\"3GiB\"/>", "is not a BAR size: a power of two")]
    [TestCase("<passthrough:bar index=\"0\" size=\"16GiB\"/>", "0000:03:00.0 BAR 0 does not offer 16 GiB")]
    public async Task A_bar_size_my_card_does_not_take_is_one_line_exit_2_and_nothing_changes(string bar, string expected)
    {
        using var host = new SimulatedHost().AmdGpu().ResizableBar("0000:03:00.0", 0, 0x3fff, 256L << 20);
        var before = host.Snapshot();
        var domain = WithBar(HookVerbTests.Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1"), bar);

        var result = await HookVerbTests.Run(host, host.Kernel, domain, null, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain(expected));
        Assert.That(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, Is.LessThanOrEqualTo(2), "the error and what to do");
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public async Task My_vm_gets_the_bar_size_it_asks_for_and_the_card_gets_its_own_back_after_it_stops()
    {
        using var host = new SimulatedHost().AmdGpu().ResizableBar("0000:03:00.0", 0, 0x3fff, 256L << 20);
        var before = host.Snapshot();
        var domain = WithBar(HookVerbTests.Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1"), "<passthrough:bar index=\"0\" size=\"8GiB\"/>");

        var prepare = await HookVerbTests.Run(host, host.Kernel, domain, null, "hook", "qemu", "win11", "prepare", "begin", "-");
        var json = await HookVerbTests.Run(host, host.Kernel, null, null, "list", "--all", "--json");
        var release = await HookVerbTests.Run(host, host.Kernel, domain, null, "hook", "qemu", "win11", "release", "end", "-");

        Assert.That(prepare.ExitCode, Is.EqualTo(0), prepare.ToString());
        using var doc = JsonDocument.Parse(json.Stdout);
        var gpu = doc.RootElement.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("address").GetString() == "0000:03:00.0");
        Assert.That(gpu.GetProperty("resizableBars")[0].GetProperty("current").GetInt64(), Is.EqualTo(8L << 30), "the VM's size while it runs");
        Assert.That(release.ExitCode, Is.EqualTo(0), release.ToString());
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public void I_see_the_resizable_bars_of_the_dual_gpu_desktops_card_in_list_json()
    {
        using var dir = new TempDirectory();
        var root = FixtureHosts.Expand("dual-gpu-gnome-rebar", dir.Combine("host"));

        var result = CliRun.Run("--root", root, "list", "--all", "--json");

        using var doc = JsonDocument.Parse(result.Stdout);
        var devices = doc.RootElement.GetProperty("devices").EnumerateArray().ToDictionary(d => d.GetProperty("address").GetString()!, d => d.GetProperty("resizableBars"));
        var bar = devices["0000:03:00.0"][0];
        Assert.That(bar.GetProperty("index").GetInt32(), Is.EqualTo(0));
        Assert.That(bar.GetProperty("current").GetInt64(), Is.EqualTo(32L << 30));
        Assert.That(bar.GetProperty("supported").EnumerateArray().Select(s => s.GetInt64()), Is.EqualTo(Enumerable.Range(28, 8).Select(b => 1L << b)));
        Assert.That(devices["0000:0f:00.0"].GetArrayLength(), Is.Zero, "the iGPU has none: an empty list");
    }

    [Test]
    public void Doctor_names_gnome_shell_holding_my_passed_gpu_and_says_its_32_gib_bar_needs_a_larger_ovmf_window()
    {
        using var dir = new TempDirectory();
        var root = FixtureHosts.Expand("dual-gpu-gnome-rebar", dir.Combine("host"));

        var result = CliRun.Run("--root", root, "doctor", "--json");

        using var doc = JsonDocument.Parse(result.Stdout);
        var findings = doc.RootElement.GetProperty("findings").EnumerateArray().ToList();
        var holders = findings.Single(f => f.GetProperty("id").GetString() == "gpu-holders");
        Assert.That(holders.GetProperty("subject").GetString(), Is.EqualTo("0000:03:00"), "only the GPU meant for a VM, not the iGPU gnome-shell runs on");
        Assert.That(holders.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(holders.GetProperty("evidence")[0].GetString(), Is.EqualTo("/proc/2301/fd → /dev/dri/card1 (gnome-shell, user alice)"));
        var large = findings.Single(f => f.GetProperty("id").GetString() == "resizable-bar" && f.GetProperty("severity").GetString() == "warning");
        Assert.That(large.GetProperty("message").GetString(), Does.StartWith("BAR 0 is 32 GiB"));
        Assert.That(large.GetProperty("remedy").GetString(), Does.Contain("opt/ovmf/X-PciMmio64Mb,string=65536").And.Contain("<passthrough:bar index=\"0\" size=\"8GiB\"/>"));
    }
}
