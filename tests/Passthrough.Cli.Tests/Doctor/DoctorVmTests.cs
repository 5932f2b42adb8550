using System.Text.Json;
using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Doctor;

/// <summary>
/// `doctor --vm NAME` with the real virsh: the domains live in a libvirt test-driver node file
/// (test:///PATH), which every virsh process loads afresh, so the verb's own `virsh dumpxml`
/// sees them. The host is seed 001's (RTX 2080 at 01:00.0 and its HDMI audio at 01:00.1).
/// </summary>
public class DoctorVmTests
{
    private const string Hostdevs = """
        <hostdev mode='subsystem' type='pci' managed='yes'>
          <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
          <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0' multifunction='on'/>
        </hostdev>
        """;

    private TempDirectory _root = null!;
    private string _uri = null!;

    /// <summary>win11-split: the audio function on its own guest bus, and a third function the card does not have.</summary>
    private static string Split => Domain("win11-split", Hostdevs + """
        <hostdev mode='subsystem' type='pci' managed='yes'>
          <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>
          <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>
        </hostdev>
        <hostdev mode='subsystem' type='pci' managed='yes'>
          <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x2'/></source>
          <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x2'/>
        </hostdev>
        """);

    /// <summary>win11-good: both functions on one guest slot with the host's function numbers.</summary>
    private static string Good => Domain("win11-good", Hostdevs + """
        <hostdev mode='subsystem' type='pci' managed='yes'>
          <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>
          <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x1'/>
        </hostdev>
        """);

    private static string Domain(string name, string hostdevs) => $"""
        <domain type='kvm'>
          <name>{name}</name>
          <memory unit='GiB'>16</memory>
          <vcpu>8</vcpu>
          <os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices>
            {hostdevs}
            <memballoon model='none'/>
          </devices>
        </domain>
        """;

    [SetUp]
    public void LayOutHostAndLibvirt()
    {
        _root = new TempDirectory("doctor-vm");
        DoctorHosts.Expand(DoctorHosts.Seed001(), _root.Path);
        var node = _root.Combine("libvirt-node.xml");
        File.WriteAllText(node, $"""
            <node>
              <cpu><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>2</threads><active>16</active><mhz>3600</mhz></cpu>
              <memory>67108864</memory>
              {Split}
              {Good}
            </node>
            """);
        _uri = $"test://{node}";
    }

    [TearDown]
    public void Remove() => _root.Dispose();

    private CliResult Doctor(params string[] args) =>
        CliRun.RunAsync(["--root", _root.Path, "doctor", .. args], environment: new Dictionary<string, string> { ["LIBVIRT_DEFAULT_URI"] = _uri }).GetAwaiter().GetResult();

    private static List<(string Id, string Severity, string? Subject, string Message, string Evidence)> Findings(CliResult result)
    {
        using var doc = JsonDocument.Parse(result.Stdout);
        return [.. doc.RootElement.GetProperty("findings").EnumerateArray().Select(f => (
            f.GetProperty("id").GetString()!,
            f.GetProperty("severity").GetString()!,
            f.GetProperty("subject").GetString(),
            f.GetProperty("message").GetString()!,
            string.Join(" | ", f.GetProperty("evidence").EnumerateArray().Select(e => e.GetString()))))];
    }

    [Test]
    public void I_can_check_a_vm_libvirt_knows_and_see_what_is_wrong_with_its_gpu()
    {
        var result = Doctor("--vm", "win11-split", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        var findings = Findings(result);
        var missing = findings.Single(f => f.Id == "device-missing");
        Assert.That(missing.Severity, Is.EqualTo("error"));
        Assert.That(missing.Message, Does.Contain("host device 0000:01:00.2 does not exist on this host"));
        Assert.That(missing.Evidence, Is.EqualTo("domain XML lint"));
        var split = findings.Single(f => f.Id == "split-functions");
        Assert.That(split.Severity, Is.EqualTo("warning"));
        Assert.That(split.Message, Does.Contain("the functions of 0000:01:00 sit on different guest buses or slots"));
    }

    [Test]
    public void I_see_the_vms_findings_in_the_text_report_too()
    {
        var result = Doctor("--vm", "win11-split");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stdout, Does.Contain("✗ device-missing").And.Contain("0000:01:00.2"));
        Assert.That(result.Stdout, Does.Contain("split-functions"));
    }

    [Test]
    public void I_get_exit_0_for_a_vm_whose_gpu_is_laid_out_right()
    {
        var result = Doctor("--vm", "win11-good", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var ids = Findings(result).Where(f => f.Severity is "error" or "warning").Select(f => f.Id);
        Assert.That(ids, Has.None.AnyOf("device-missing", "split-functions", "multifunction", "no-uefi", "balloon-with-hostdev"));
    }

    [Test]
    public void I_get_the_same_findings_with_vm_as_with_xml_of_its_dumpxml()
    {
        var dump = ProcessRunner.Instance.RunAsync("virsh", ["-c", _uri, "dumpxml", "win11-split"]).GetAwaiter().GetResult().EnsureSuccess().Stdout;
        var file = _root.Combine("win11-split.xml");
        File.WriteAllText(file, dump);

        var fromVm = Doctor("--vm", "win11-split", "--json");
        var fromXml = Doctor("--xml", file, "--json");

        Assert.That(fromVm.ExitCode, Is.EqualTo(fromXml.ExitCode));
        Assert.That(
            Findings(fromVm).Select(f => (f.Id, f.Severity, f.Subject, f.Message.Replace("virsh dumpxml win11-split", "FILE", StringComparison.Ordinal))),
            Is.EqualTo(Findings(fromXml).Select(f => (f.Id, f.Severity, f.Subject, f.Message.Replace(file, "FILE", StringComparison.Ordinal)))));
    }

    [Test]
    public void I_can_name_the_libvirt_connection_with_connect()
    {
        var result = CliRun.Run("--root", _root.Path, "doctor", "--vm", "win11-split", "--connect", _uri, "--json");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(Findings(result).Select(f => f.Id), Does.Contain("device-missing").And.Contain("split-functions"));
    }

    [Test]
    public void I_get_exit_2_and_how_to_find_the_name_for_a_vm_libvirt_does_not_know()
    {
        var result = Doctor("--vm", "win10", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("passthrough: `virsh dumpxml win10` failed: error: failed to get domain 'win10'"));
        Assert.That(lines[1], Does.Contain($"virsh -c {_uri} list --all").And.Contain("--xml"));
    }

    [Test]
    public void I_get_exit_3_when_libvirt_cannot_be_reached()
    {
        var result = CliRun.Run("--root", _root.Path, "doctor", "--vm", "win11-split", "--connect", "test:///nonexistent/node.xml");

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(result.Stderr, Does.Contain("`virsh -c test:///nonexistent/node.xml dumpxml win11-split` failed: error: failed to connect to the hypervisor"));
        Assert.That(result.Stderr, Does.Contain("libvirtd"));
        Assert.That(result.Stdout, Is.Empty);
    }

    [Test]
    public void I_get_exit_3_and_what_to_install_when_virsh_is_missing()
    {
        var runner = new MissingProgramRunnerFake("virsh");

        var result = CliRun.RunAsync(["--root", _root.Path, "doctor", "--vm", "win11-split"], runner: runner).GetAwaiter().GetResult();

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(runner.Tried, Is.EqualTo(new[] { "virsh dumpxml win11-split" }));
        Assert.That(result.Stderr, Does.Contain("Cannot run `virsh").And.Contain("Install the package"));
        Assert.That(result.Stderr, Does.Not.Contain("   at "));
    }

    [Test]
    public void I_am_told_that_connect_goes_with_vm()
    {
        var result = CliRun.Run("--root", _root.Path, "doctor", "--connect", _uri);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("give --vm NAME with it"));
    }
}
