using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>
/// Resizable BARs beyond the hook: `list` shows them in text, `xml lint` and `doctor --vm/--xml` check
/// &lt;passthrough:bar&gt; by the hook's rule, and static mode says it applies none.
/// </summary>
public class ResizableBarStoryTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("passthrough-rebar");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string Host(string fixture) => FixtureHosts.Expand(fixture, _dir.Combine(fixture));

    /// <summary>The dual-GPU desktop's RX 7900 XTX (03:00.0, BAR 0 at 32 GiB of 256 MiB..32 GiB) and its audio, with &lt;passthrough:bar&gt; elements.</summary>
    internal static string Vm(string name, string mode, params string[] bars) => $"""
        <domain type='kvm'>
          <name>{name}</name>
          <uuid>9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f</uuid>
          <memory unit='GiB'>16</memory>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="{mode}">
              {string.Join("\n      ", bars)}
            </passthrough:config>
          </metadata>
          <os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices>
            <hostdev mode='subsystem' type='pci' managed='no'>
              <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>
              <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0' multifunction='on'/>
            </hostdev>
            <hostdev mode='subsystem' type='pci' managed='no'>
              <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source>
              <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x1'/>
            </hostdev>
            <memballoon model='none'/>
          </devices>
        </domain>
        """;

    private string File(string name, string text)
    {
        var path = _dir.Combine(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static string[] Lines(CliResult result) => result.Stdout.Split('\n');

    [TestCase("dual-gpu-gnome-rebar", "0000:03:00.0", "BAR 0: 32 GiB now, offers 256 MiB-32 GiB")]
    [TestCase("seed-004-x870e-rtx4060ti", "0000:01:00.0", "BAR 0: 256 MiB now, offers 1 MiB-8 GiB")]
    [TestCase("seed-000-proxmox-rx7900xtx", "0000:03:00.0", "BAR 0: 256 MiB now, offers 1 MiB-8 GiB")]
    [TestCase("rx7600-navi33-dual", "0000:03:00.0", "BAR 0: 256 MiB now, offers 1 MiB-8 GiB")]
    public void I_can_see_my_cards_bar_sizes_under_its_name_in_list_all(string fixture, string address, string bar)
    {
        var result = CliRun.Run("--root", Host(fixture), "list", "--all");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var lines = Lines(result);
        var row = Array.FindIndex(lines, l => l.StartsWith("  " + address + " ", StringComparison.Ordinal));
        Assert.That(lines[row + 1].Trim(), Is.EqualTo(bar), "the line under the function's row");
        Assert.That(lines[row + 1].IndexOf("BAR", StringComparison.Ordinal), Is.EqualTo(lines[0].IndexOf("Name", StringComparison.Ordinal)), "in the Name column");
        Assert.That(lines[row + 1][..lines[0].IndexOf("Name", StringComparison.Ordinal)], Is.Empty.Or.Matches("^ +$"), "nothing else on that line");
        Assert.That(lines, Has.None.Match(" $"));
    }

    [TestCaseSource(typeof(FixtureHosts), nameof(FixtureHosts.Names))]
    public void List_shows_in_text_exactly_the_resizable_bars_list_json_has(string fixture)
    {
        var root = Host(fixture);

        var text = CliRun.Run("--root", root, "list", "--all");
        var json = CliRun.Run("--root", root, "list", "--all", "--json");

        using var doc = JsonDocument.Parse(json.Stdout);
        var devices = doc.RootElement.GetProperty("devices").EnumerateArray().ToList();
        var bars = devices.Sum(d => d.GetProperty("resizableBars").GetArrayLength());
        var barLines = Lines(text).Count(l => l.TrimStart().StartsWith("BAR ", StringComparison.Ordinal) && l.Contains(", offers ", StringComparison.Ordinal));
        Assert.That(barLines, Is.EqualTo(bars));
        Assert.That(Lines(text).Count(l => l.Length > 0), Is.EqualTo(devices.Count + 2 + bars), "header, rule, a row per function and a line per resizable BAR");
    }

    [Test]
    public void I_can_lint_a_bar_size_my_card_does_not_offer_against_the_host_and_learn_what_it_offers()
    {
        var file = File("win11.xml", Vm("win11", "dynamic", "<passthrough:bar index=\"0\" size=\"64GiB\"/>"));
        var root = Host("dual-gpu-gnome-rebar");

        var text = CliRun.Run("--root", root, "xml", "lint", file);
        var json = CliRun.Run("--root", root, "xml", "lint", file, "--json");

        Assert.That(text.ExitCode, Is.EqualTo(1), text.ToString());
        Assert.That(text.Stdout, Does.Contain($"bar-size: {file}:7: 0000:03:00.0 BAR 0 does not offer 64 GiB (it offers 256 MiB, 512 MiB, 1 GiB, 2 GiB, 4 GiB, 8 GiB, 16 GiB, 32 GiB)."));
        Assert.That(text.Stdout, Does.Contain("Set <passthrough:bar size=...> to one of those sizes."));
        using var doc = JsonDocument.Parse(json.Stdout);
        var finding = doc.RootElement.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("id").GetString() == "bar-size");
        Assert.That(finding.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "id", "severity", "message", "remedy" }), "lint's JSON shape stays");
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("error"));
    }

    [Test]
    public void I_can_lint_a_size_the_card_offers_and_hear_nothing_about_it()
    {
        var file = File("win11.xml", Vm("win11", "dynamic", "<passthrough:bar index=\"0\" size=\"8GiB\"/>"));

        var result = CliRun.Run("--root", Host("dual-gpu-gnome-rebar"), "xml", "lint", file, "--json");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Not.Contain("bar-"));
    }

    [Test]
    public void I_can_lint_bars_without_a_host_and_get_each_malformed_one_but_no_host_rule()
    {
        var file = File("win11.xml", Vm("win11", "dynamic", "<passthrough:bar index=\"6\" size=\"8GiB\"/>", "<passthrough:bar index=\"0\" size=\"3GiB\"/>", "<passthrough:bar index=\"0\" size=\"64GiB\"/>"));

        var result = CliRun.Run("xml", "lint", file);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stdout, Does.Contain($"bar-size: {file}:7: <passthrough:bar index=\"6\"> is not a BAR index (0 to 5)."));
        Assert.That(result.Stdout, Does.Contain($"bar-size: {file}:8: <passthrough:bar size=\"3GiB\"> is not a BAR size: a power of two"));
        Assert.That(result.Stdout, Does.Not.Contain("64 GiB"), "whether the card offers it needs the host");
    }

    [Test]
    public void I_am_warned_that_a_static_vm_gets_no_bar_size_and_what_to_do()
    {
        var file = File("win11.xml", Vm("win11", "static", "<passthrough:bar index=\"0\" size=\"8GiB\"/>"));

        var result = CliRun.Run("xml", "lint", file);

        Assert.That(result.ExitCode, Is.EqualTo(0), "a warning, not an error: " + result);
        Assert.That(result.Stdout, Does.Contain($"warning bar-in-static-mode: {file}:7: <passthrough:bar> (BAR 0 8 GiB) is not applied in mode=\"static\""));
        Assert.That(result.Stdout, Does.Contain("Use mode=\"dynamic\"").And.Contain("set the size at boot"));
    }

    [Test]
    public void Doctor_xml_reports_my_vms_bar_against_the_host_with_evidence_and_a_remedy()
    {
        var file = File("win11.xml", Vm("win11", "dynamic", "<passthrough:bar index=\"2\" size=\"8GiB\"/>"));

        var result = CliRun.Run("--root", Host("dual-gpu-gnome-rebar"), "doctor", "--xml", file, "--json");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var finding = doc.RootElement.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("id").GetString() == "bar-size");
        Assert.That(finding.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "id", "severity", "subject", "message", "evidence", "remedy" }), "doctor's JSON shape stays");
        Assert.That(finding.GetProperty("subject").GetString(), Is.EqualTo("0000:03:00.0"));
        Assert.That(finding.GetProperty("message").GetString(), Is.EqualTo($"{file}:7: 0000:03:00.0 has no resizable BAR 2 (resizable: BAR 0)."));
        Assert.That(finding.GetProperty("evidence").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[]
        {
            "domain XML lint",
            $"{file}:7: <passthrough:bar index=\"2\" size=\"8GiB\" />",
            "/sys/bus/pci/devices/0000:03:00.0: BAR 0: 32 GiB now, offers 256 MiB-32 GiB",
        }));
        Assert.That(finding.GetProperty("remedy").GetString(), Does.Contain("passthrough list --all"));
    }

    [TestCase("dynamic", "ok")]
    [TestCase("static", "warning")]
    public void Doctor_xml_stops_warning_about_a_32_gib_bar_once_my_vm_asks_for_8_gib_as_its_remedy_says(string mode, string severity)
    {
        var file = File("win11.xml", Vm("win11", mode, "<passthrough:bar index=\"0\" size=\"8GiB\"/>"));

        var result = CliRun.Run("--root", Host("dual-gpu-gnome-rebar"), "doctor", "--xml", file, "--json");

        using var doc = JsonDocument.Parse(result.Stdout);
        var large = doc.RootElement.GetProperty("findings").EnumerateArray()
            .Single(f => f.GetProperty("id").GetString() == "resizable-bar" && f.GetProperty("message").GetString()!.StartsWith("BAR 0 is 32 GiB", StringComparison.Ordinal));
        Assert.That(large.GetProperty("severity").GetString(), Is.EqualTo(severity), mode == "static" ? "static mode applies no size: the BAR stays 32 GiB" : "the VM runs with 8 GiB");
        if (mode == "dynamic")
        {
            Assert.That(large.GetProperty("message").GetString(), Does.Contain("makes it 8 GiB while it runs"));
        }
    }

    [Test]
    public void Doctor_vm_warns_that_my_static_vm_from_libvirt_gets_no_bar_size()
    {
        var root = Host("dual-gpu-gnome-rebar");
        var node = File("node.xml", $"""
            <node>
              <cpu><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>2</threads><active>16</active><mhz>3600</mhz></cpu>
              <memory>67108864</memory>
              {Vm("win11-static", "static", "<passthrough:bar index=\"0\" size=\"8GiB\"/>")}
            </node>
            """);

        var result = CliRun.RunAsync(["--root", root, "doctor", "--vm", "win11-static", "--json"], environment: new Dictionary<string, string> { ["LIBVIRT_DEFAULT_URI"] = $"test://{node}" }).GetAwaiter().GetResult();

        using var doc = JsonDocument.Parse(result.Stdout);
        var finding = doc.RootElement.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("id").GetString() == "bar-in-static-mode");
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(finding.GetProperty("message").GetString(), Does.StartWith("virsh dumpxml win11-static:").And.Contain("is not applied in mode=\"static\""));
        Assert.That(finding.GetProperty("evidence").EnumerateArray().Select(e => e.GetString()), Does.Contain("<passthrough:config mode=\"static\">"));
        Assert.That(finding.GetProperty("remedy").GetString(), Does.Contain("mode=\"dynamic\""));
    }

    [Test]
    public async Task My_static_vm_starts_with_its_bar_left_alone_and_the_log_says_why()
    {
        using var host = new SimulatedHost()
            .Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 14, native: "amdgpu")
            .Function("0000:03:00.1", 0x1002, 0xab30, 0x040300, "vfio-pci", 14, native: "snd_hda_intel")
            .ResizableBar("0000:03:00.0", 0, 0x3fff, 256L << 20);
        var before = host.Snapshot();
        var domain = Vm("win11", "static", "<passthrough:bar index=\"0\" size=\"8GiB\"/>");

        var result = await HookVerbTests.Run(host, host.Kernel, domain, null, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(host.Events, Is.Empty, "no resize, no rebind");
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        var log = System.IO.File.ReadAllLines(Path.Join(host.Root, "var", "log", "passthrough", "passthrough.log"));
        Assert.That(log, Has.One.Contains(" WARN ").And.Contains("VM 'win11': <passthrough:bar> (BAR 0 8 GiB) is not applied in mode=\"static\"").And.Contains("Use mode=\"dynamic\""));
    }
}
