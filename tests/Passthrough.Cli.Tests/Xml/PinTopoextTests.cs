using System.Text.Json;
using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>
/// `xml set --pin` on an AMD host gives the guest SMT threads, which it sees only with topoext: the pin requires it
/// (and says so in the report); an Intel host is left alone; a CPU `--topoext on` refuses is refused the same way.
/// </summary>
public class PinTopoextTests
{
    private const string Topoext = "<feature policy='require' name='topoext'/>";

    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    private static string Domain(string cpu) => $"""
        <domain type='kvm'>
          <name>gaming</name>
          <memory unit='GiB'>8</memory>
          <vcpu>4</vcpu>
          <os><type arch='x86_64' machine='q35'>hvm</type></os>
          {cpu}
          <devices/>
        </domain>

        """;

    private static JsonElement Report(CliResult result)
    {
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    [Test]
    public void I_get_topoext_with_pin_auto_on_an_amd_host_and_the_report_says_why()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.Copy(Golden("set-pin-list-no-cputune.in.xml"), file);

        var check = Report(CliRun.Run("--root", host.Path, "xml", "set", file, "--pin", "auto", "--in-place", "--check", "--json"));
        var done = CliRun.Run("--root", host.Path, "xml", "set", file, "--pin", "auto", "--in-place");
        var again = Report(CliRun.Run("--root", host.Path, "xml", "set", file, "--pin", "auto", "--in-place", "--json"));

        Assert.That(check.GetProperty("actions")[0].GetString(), Does.StartWith("require topoext on the guest CPU: AMD host and 2 threads per core"));
        Assert.That(check.GetProperty("actions")[1].GetString(), Is.EqualTo($"write {file}"));
        Assert.That(done.ExitCode, Is.EqualTo(0), done.ToString());
        Assert.That(done.Stderr, Does.Contain("passthrough: require topoext on the guest CPU"));
        var written = File.ReadAllText(file);
        var cpu = DomainDocument.Parse(written, file).Cpu!;
        Assert.That(cpu.Element("topology")!.Attribute("threads")!.Value, Is.EqualTo("2"));
        Assert.That(written, Does.Contain($"    <topology sockets='1' cores='2' threads='2'/>\n    {Topoext}\n  </cpu>"));
        Assert.That(again.GetProperty("changed").GetBoolean(), Is.False, "a second run finds it done");
        Assert.That(again.GetProperty("actions").GetArrayLength(), Is.Zero);
        var verdict = LibvirtCheck.DefineAndDump([("x", written)])[0];
        Assert.That(verdict.Accepted, verdict.Error);
        Assert.That(verdict.Dump, Does.Contain("<feature policy='require' name='topoext'/>"));
    }

    [Test]
    public void Pin_auto_on_an_intel_host_leaves_topoext_out()
    {
        using var host = SmallHost.Fixture("intel-13700k-hybrid");

        var json = Report(CliRun.Run("--root", host.Path, "xml", "set", Golden("set-pin-list-no-cputune.in.xml"), "--pin", "auto", "--json"));
        var after = json.GetProperty("diffs")[0].GetProperty("after").GetString()!;

        Assert.That(after, Does.Contain("threads='2'"), "the P-cores' siblings are pinned as threads");
        Assert.That(after, Does.Not.Contain("topoext"));
        Assert.That(json.GetProperty("actions").GetArrayLength(), Is.Zero);
    }

    [Test]
    public void A_pin_that_gives_the_guest_no_threads_leaves_topoext_out()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");

        var result = CliRun.Run("--root", host.Path, "xml", "set", Golden("set-pin-list-no-cputune.in.xml"), "--pin", "4-7", "--allow-split-smt");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("threads='1'").And.Not.Contain("topoext"));
    }

    [Test]
    public void A_host_model_cpu_gets_topoext_and_libvirt_takes_it()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");

        var result = CliRun.RunWith(Domain("<cpu mode='host-model'/>"), null, "--root", host.Path, "xml", "set", "-", "--pin", "auto");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain($"<cpu mode='host-model'>\n    <topology sockets='1' cores='2' threads='2'/>\n    {Topoext}\n  </cpu>"));
        Assert.That(LibvirtCheck.Validate(result.Stdout, "gaming"), Is.Null);
    }

    [Test]
    public void Pinning_a_domain_without_a_cpu_on_an_amd_host_is_refused_like_topoext_on_and_says_both_ways_out()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");
        var xml = Domain(string.Empty);

        var refused = CliRun.RunWith(xml, null, "--root", host.Path, "xml", "set", "-", "--pin", "auto");
        var added = CliRun.RunWith(xml, null, "--root", host.Path, "xml", "set", "-", "--pin", "auto", "--cpu", "host-passthrough");
        var without = CliRun.RunWith(xml, null, "--root", host.Path, "xml", "set", "-", "--pin", "auto", "--topoext", "off");
        var custom = CliRun.RunWith(Domain("<cpu mode='custom'><model>EPYC</model></cpu>"), null, "--root", host.Path, "xml", "set", "-", "--pin", "auto");

        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.Stdout, Is.Empty);
        var lines = refused.Stderr.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2), refused.Stderr);
        Assert.That(lines[0], Does.Contain("--pin on this AMD host gives the guest 2 threads per core, which it sees only with topoext").And.Contain("has no <cpu> element"));
        Assert.That(lines[1], Does.Contain("--cpu host-passthrough").And.Contain("--topoext off"));
        Assert.That(added.ExitCode, Is.EqualTo(0), added.ToString());
        Assert.That(added.Stdout, Does.Contain("<cpu mode='host-passthrough'>").And.Contain(Topoext));
        Assert.That(without.ExitCode, Is.EqualTo(0), without.ToString());
        Assert.That(without.Stdout, Does.Contain("threads='2'").And.Not.Contain("topoext"));
        Assert.That(custom.ExitCode, Is.EqualTo(2), custom.ToString());
        Assert.That(custom.Stderr, Does.Contain("this CPU is mode='custom'").And.Contain("--topoext off"));
    }
}
