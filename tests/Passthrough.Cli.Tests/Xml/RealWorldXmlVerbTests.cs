using System.Text;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>`passthrough xml` on domain files from the wild (issue 18), through the CLI as a user runs it.</summary>
public class RealWorldXmlVerbTests
{
    private static string Corpus(string name) => Path.Join(RepoPaths.Fixtures, "domains", "corpus", name);

    private static List<string> Changes(string diff) =>
        [.. diff.Split('\n').Where(l => (l.StartsWith('+') || l.StartsWith('-')) && !l.StartsWith("+++", StringComparison.Ordinal) && !l.StartsWith("---", StringComparison.Ordinal))];

    [Test]
    public void The_diff_of_an_edit_shows_only_the_real_change_when_the_description_has_apostrophes()
    {
        var result = CliRun.Run("xml", "set", Corpus("entities-in-text.xml"), "--smm", "on", "--diff");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(Changes(result.Stdout), Is.EqualTo(new[] { "+    <smm state='on'/>" }));
    }

    [Test]
    public void I_can_edit_an_ISO_8859_1_file_in_place_and_it_stays_ISO_8859_1_byte_for_byte()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("latin1.xml");
        var original = File.ReadAllBytes(Corpus("latin1-declared.xml"));
        File.WriteAllBytes(file, original);

        var diff = CliRun.Run("xml", "set", file, "--memballoon", "none", "--diff");
        var result = CliRun.Run("xml", "set", file, "--memballoon", "none", "--in-place");

        Assert.That(diff.ExitCode, Is.EqualTo(0), diff.ToString());
        Assert.That(Changes(diff.Stdout), Is.EqualTo(new[] { "+    <memballoon model='none'/>" }));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var expected = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(original).Replace("  </devices>", "    <memballoon model='none'/>\n  </devices>", StringComparison.Ordinal));
        Assert.That(File.ReadAllBytes(file), Is.EqualTo(expected));
        Assert.That(File.ReadAllBytes(file + ".bak"), Is.EqualTo(original));
    }

    [Test]
    public void A_file_with_a_byte_that_is_not_UTF8_is_refused_and_nothing_is_written()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("broken.xml");
        var bytes = File.ReadAllBytes(Corpus("latin1-declared.xml"));
        var text = Encoding.Latin1.GetString(bytes).Replace("<?xml version='1.0' encoding='ISO-8859-1'?>\n", string.Empty, StringComparison.Ordinal);
        File.WriteAllBytes(file, Encoding.Latin1.GetBytes(text));
        var before = File.ReadAllBytes(file);

        var result = CliRun.Run("xml", "set", file, "--memballoon", "none", "--in-place");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain($"{file}:3: Input is not proper UTF-8: byte 0xE9 at offset {Array.IndexOf(before, (byte)0xE9)}"));
        Assert.That(result.Stderr, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(File.ReadAllBytes(file), Is.EqualTo(before));
        Assert.That(File.Exists(file + ".bak"), Is.False);
    }

    [Test]
    public void Add_gpu_on_an_i440fx_machine_refuses_with_lints_reason_unless_I_allow_it()
    {
        var refused = CliRun.Run("xml", "add-gpu", Corpus("ubuntu-server-i440fx.xml"), "--slot", "0000:0a:00", "--functions", "0,1");
        var allowed = CliRun.Run("xml", "add-gpu", Corpus("ubuntu-server-i440fx.xml"), "--slot", "0000:0a:00", "--functions", "0,1", "--allow-i440fx");
        var lint = CliRun.RunWith(allowed.Stdout, null, "xml", "lint", "-");

        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.Stdout, Is.Empty);
        Assert.That(refused.Stderr, Does.Contain("pcie-on-i440fx").And.Contain("no PCIe bus").And.Contain("--allow-i440fx"));
        Assert.That(allowed.ExitCode, Is.EqualTo(0), allowed.ToString());
        Assert.That(lint.Stdout, Does.Contain("pcie-on-i440fx"), "lint still says what add-gpu warned about");
    }

    [Test]
    public void Set_topoext_on_an_aarch64_guest_is_refused_with_the_reason()
    {
        var xml = File.ReadAllText(Corpus("minimal.xml")).Replace("<type>hvm</type>", "<type arch='aarch64' machine='virt'>hvm</type>", StringComparison.Ordinal);

        var result = CliRun.RunWith(xml, null, "xml", "set", "-", "--topoext", "on");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("x86 guests only").And.Contain("arch='aarch64'").And.Contain("AMD x86 CPUID"));
    }

    [Test]
    public void Set_topoext_without_a_cpu_element_says_what_to_add_and_adds_it_with_cpu_host_passthrough()
    {
        var refused = CliRun.Run("xml", "set", Corpus("minimal.xml"), "--topoext", "on");
        var added = CliRun.Run("xml", "set", Corpus("minimal.xml"), "--topoext", "on", "--cpu", "host-passthrough");

        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.Stderr, Does.Contain("no <cpu> element").And.Contain("--cpu host-passthrough"));
        Assert.That(added.ExitCode, Is.EqualTo(0), added.ToString());
        Assert.That(added.Stdout, Does.Contain("<cpu mode='host-passthrough'>").And.Contain("<feature policy='require' name='topoext'/>"));
    }
}
