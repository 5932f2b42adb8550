using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Verbs;

/// <summary>What `make demo` shows a newcomer on the bundled workstation host.</summary>
public class DemoOutputTests
{
    private TempDirectory _dir = null!;
    private string _root = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        _root = _dir.Combine("workstation");
        var expand = CliRun.Run("capture", "expand", FixtureHosts.WorkstationPath, _root);
        Assert.That(expand.ExitCode, Is.EqualTo(0), expand.ToString());
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static string Line(string text, string containing) =>
        text.Split('\n').Single(l => l.Contains(containing, StringComparison.Ordinal));

    /// <summary>A table row's cells (columns are at least two spaces apart).</summary>
    private static string[] Cells(string line) =>
        System.Text.RegularExpressions.Regex.Split(line.Trim(), " {2,}");

    [Test]
    public void I_see_both_gpus_and_which_one_the_firmware_booted_on()
    {
        var result = CliRun.Run("--root", _root, "list");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(Line(result.Stdout, "GPU 0000:00:02"), Does.EndWith("[boot display]"));
        Assert.That(Line(result.Stdout, "GPU 0000:01:00"), Does.Not.Contain("[boot display]"));
        Assert.That(
            Cells(Line(result.Stdout, "0000:01:00.0 ")),
            Is.EqualTo(new[] { "0000:01:00.0", "10de:1e84", "VGA compatible controller", "TU104 [GeForce RTX 2070 SUPER]", "vfio-pci", "12", "flr" }));
        Assert.That(Cells(Line(result.Stdout, "0000:00:02.0 ")), Does.Contain("i915").And.Contain("yes"), "the boot VGA column");
        Assert.That(result.Stdout.Split('\n'), Has.None.Match(" $"), "no trailing spaces in logs and diffs");
        Assert.That(Line(result.Stdout, "0000:01:00.2 "), Does.Contain("USB controller").And.Contain("xhci_hcd"));
        Assert.That(Line(result.Stdout, "0000:01:00.3 "), Does.Contain("Serial bus controller").And.Contain("nvidia-gpu"));
        Assert.That(result.Stdout, Does.Not.Contain("0000:00:1f.6"), "only GPUs without --all");
    }

    [Test]
    public void On_a_100_column_terminal_the_gpu_tables_fit_and_keep_every_name()
    {
        using var output = new StringWriter();
        var context = new Passthrough.Cli.CliContext(output, TextWriter.Null) { TerminalWidth = 100 };

        var code = Passthrough.Cli.PassthroughCli.RunAsync(["--root", _root, "list"], context).GetAwaiter().GetResult();
        var piped = CliRun.Run("--root", _root, "list");

        Assert.That(code, Is.EqualTo(0));
        Assert.That(piped.Stdout.Split('\n').Max(l => l.Length), Is.GreaterThan(100), "without a terminal, rows are whole lines");
        Assert.That(output.ToString().Split('\n'), Has.All.Length.LessThanOrEqualTo(100));
        Assert.That(output.ToString(), Does.Contain("TU104 [GeForce").And.Contain("SUPER]").And.Contain("UCSI"));
    }

    [Test]
    public void I_see_every_function_with_all()
    {
        var result = CliRun.Run("--root", _root, "list", "--all");

        Assert.That(result.Stdout, Does.Contain("0000:00:1f.6").And.Contain("e1000e").And.Contain("0000:02:00.0"));
    }

    [Test]
    public void I_see_the_gpu_group_as_viable_and_bridge_groups_as_nothing_to_assign()
    {
        var result = CliRun.Run("--root", _root, "groups");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(Line(result.Stdout, "0000:01:00.0 "), Does.Contain("identity").And.Contain("yes: only the functions of 0000:01:00"));
        Assert.That(Line(result.Stdout, "0000:00:01.0 "), Does.Contain("n/a: only bridges"));
    }
}
