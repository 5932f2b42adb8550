using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>
/// Bad input through the native binary: one line saying what is wrong, one saying what to do, exit 2, no stack
/// trace, nothing written; the same words as in-process.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class BadInputTests
{
    private const string Malformed = "<domain type='kvm'>\n  <name>broken</name>\n  <devices>\n</domain>\n";

    private static string Example => Path.Join(RepoPaths.Examples, "domains", "win11-passthrough.xml");

    [Test]
    public void I_get_one_line_and_the_verb_i_meant_for_a_typo()
    {
        var result = NativeBinary.AssertSameAsInProcess("lsit");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Is.EqualTo("passthrough: 'lsit' is not a verb.\n  Did you mean `passthrough list`? `passthrough --help` lists every verb.\n"));
    }

    [Test]
    public void I_get_one_line_and_no_guess_for_a_word_far_from_every_verb()
    {
        var result = NativeBinary.AssertSameAsInProcess("--root", "/", "frobnicate");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Is.EqualTo("passthrough: 'frobnicate' is not a verb.\n  `passthrough --help` lists every verb.\n"));
    }

    [Test]
    public void I_get_usage_and_exit_2_for_an_unknown_option()
    {
        var result = NativeBinary.AssertSameAsInProcess("list", "--bogus");

        AssertOneErrorAndARemedy(result, "--bogus");
    }

    [Test]
    public void I_get_the_file_and_line_for_malformed_xml_and_the_file_is_left_alone()
    {
        using var dir = new TempDirectory("passthrough-native-bad");
        var file = dir.Combine("broken.xml");
        File.WriteAllText(file, Malformed);

        var lint = NativeBinary.AssertSameAsInProcess("xml", "lint", file);
        var edit = NativeBinary.AssertSameAsInProcess("xml", "add-gpu", file, "--slot", "0000:01:00", "--functions", "0,1", "--in-place");
        var piped = NativeBinary.AssertSameAsInProcessWith(Malformed, "xml", "set", "-", "--memballoon", "none");

        AssertOneErrorAndARemedy(lint, file + ":");
        AssertOneErrorAndARemedy(edit, file + ":");
        AssertOneErrorAndARemedy(piped, "<stdin>");
        Assert.That(File.ReadAllText(file), Is.EqualTo(Malformed));
        Assert.That(Directory.GetFiles(dir.Path), Is.EqualTo(new[] { file }), "no backup, no temp file");
    }

    [Test]
    public void I_get_exit_2_for_a_domain_file_that_does_not_exist()
    {
        var result = NativeBinary.AssertSameAsInProcess("xml", "lint", "/no/such/vm.xml");

        AssertOneErrorAndARemedy(result, "/no/such/vm.xml: no such file");
    }

    [Test]
    public void I_get_exit_2_for_a_missing_rom_file()
    {
        using var dir = new TempDirectory("passthrough-native-bad");
        var missing = dir.Combine("missing.rom");

        var inspect = NativeBinary.AssertSameAsInProcess("rom", "inspect", missing);
        var fix = NativeBinary.AssertSameAsInProcess("rom", "fix", missing, "-o", dir.Combine("fixed.rom"));
        var addGpu = NativeBinary.AssertSameAsInProcess("xml", "add-gpu", Example, "--slot", "0000:01:00", "--functions", "0", "--rom", missing);

        AssertOneErrorAndARemedy(inspect, missing);
        AssertOneErrorAndARemedy(fix, missing);
        AssertOneErrorAndARemedy(addGpu, "--rom " + missing + ": no such file");
        Assert.That(Directory.GetFileSystemEntries(dir.Path), Is.Empty, "nothing written");
    }

    [TestCase("doctor", "--slot", "0000:99:00")]
    [TestCase("xml", "add-gpu", "EXAMPLE", "--slot", "0000:99:00")]
    [TestCase("rom", "dump", "0000:99:00", "-o", "OUT")]
    [TestCase("setup", "plan", "--slot", "0000:99:00")]
    [TestCase("bind", "0000:99:00")]
    public void I_get_exit_2_naming_the_slot_for_a_slot_the_host_does_not_have(params string[] command)
    {
        using var dir = new TempDirectory("passthrough-native-bad");
        string[] args = [.. command.Select(a => a switch { "EXAMPLE" => Example, "OUT" => dir.Combine("out.rom"), _ => a })];

        var result = NativeBinary.AssertSameAsInProcess(["--root", Session.Workstation, .. args]);

        AssertOneErrorAndARemedy(result, "0000:99:00");
        Assert.That(Directory.GetFileSystemEntries(dir.Path), Is.Empty, "nothing written");
    }

    [TestCase("0000:zz:00")]
    [TestCase("03")]
    public void I_get_exit_2_for_a_slot_that_is_not_an_address(string slot)
    {
        var result = NativeBinary.AssertSameAsInProcess("xml", "remove-gpu", Example, "--slot", slot);

        AssertOneErrorAndARemedy(result, slot);
    }

    /// <summary>The rule for bad input: exit 2, nothing on stdout, the error line then the remedy, no stack trace.</summary>
    private static void AssertOneErrorAndARemedy(CliResult result, string named)
    {
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stdout, Is.Empty, result.ToString());
        var lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2), result.ToString());
        Assert.That(lines[0], Does.StartWith("passthrough: ").And.Contain(named));
        Assert.That(lines[1], Is.Not.Empty);
        NativeBinary.AssertNoStackTrace(result);
    }
}
