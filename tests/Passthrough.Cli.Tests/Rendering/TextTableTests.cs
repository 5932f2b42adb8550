using NUnit.Framework;
using Passthrough.Cli.Rendering;

namespace Passthrough.Tests.Rendering;

public class TextTableTests
{
    private static string Render(TextTable table, bool bold = false, int? width = null)
    {
        using var output = new StringWriter();
        table.Write(output, bold, width);
        return output.ToString();
    }

    private static TextTable Gpus() => new TextTable("Address", "Class", "Name", "Driver")
        .Elastic(1, 2)
        .AddRow("0000:01:00.0", "VGA compatible controller", "TU104 [GeForce RTX 2070 SUPER]", "vfio-pci")
        .AddRow("0000:01:00.3", "Serial bus controller", "TU104 USB Type-C UCSI Controller", "nvidia-gpu");

    [Test]
    public void On_a_narrow_terminal_the_elastic_columns_wrap_and_nothing_is_cut_off()
    {
        var wide = Render(Gpus());
        var narrow = Render(Gpus(), width: 60);

        Assert.That(wide.Split('\n').Max(l => l.Length), Is.GreaterThan(60), "the table needs wrapping at 60 columns");
        Assert.That(narrow.Split('\n'), Has.All.Length.LessThanOrEqualTo(60));
        Assert.That(Words(narrow), Is.EquivalentTo(Words(wide)), "every word is still there");
        var lines = narrow.Split('\n');
        Assert.That(lines[2], Does.StartWith("  0000:01:00.0").And.EndWith("vfio-pci"), "the fixed columns stay on the row's first line");
        Assert.That(lines[3], Does.StartWith(new string(' ', 17)), "continuation lines are indented to the column");
    }

    [Test]
    public void A_terminal_wide_enough_or_a_pipe_gets_the_table_unchanged()
    {
        Assert.That(Render(Gpus(), width: 200), Is.EqualTo(Render(Gpus())));
        Assert.That(Render(Gpus(), width: null), Is.EqualTo(Render(Gpus())));
    }

    [Test]
    public void When_even_the_narrowest_columns_do_not_fit_the_table_overflows_rather_than_losing_text()
    {
        var tiny = Render(Gpus(), width: 20);

        Assert.That(Words(tiny), Is.EquivalentTo(Words(Render(Gpus()))));
    }

    private static string[] Words(string table) =>
        table.Replace("─", string.Empty, StringComparison.Ordinal).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);

    [Test]
    public void Columns_line_up_and_lines_carry_no_trailing_spaces()
    {
        var table = new TextTable("Address", "Driver", "Group")
            .AddRow("0000:03:00.0", "amdgpu", "14")
            .AddRow("0000:03:00.1", "snd_hda_intel", "")
            .AddRow("0000:0a:00.0", "-", "7");

        var lines = Render(table).Split('\n');

        Assert.That(lines[0], Is.EqualTo("  Address        Driver          Group"));
        Assert.That(lines[1], Is.EqualTo("  " + new string('─', 36)));
        Assert.That(lines[2], Is.EqualTo("  0000:03:00.0   amdgpu          14"));
        Assert.That(lines[3], Is.EqualTo("  0000:03:00.1   snd_hda_intel"));
        Assert.That(lines[4], Is.EqualTo("  0000:0a:00.0   -               7"));
        Assert.That(lines[5], Is.Empty, "ends with a newline");
    }

    [Test]
    public void A_cell_with_several_lines_makes_the_row_taller_and_keeps_the_columns()
    {
        var table = new TextTable("Group", "Members", "Viable")
            .AddRow("3", "0000:00:14.0 USB\n0000:00:14.2 Memory", "yes")
            .AddRow("12", "0000:01:00.0 VGA", "no");

        var lines = Render(table).Split('\n');

        Assert.That(lines[2], Is.EqualTo("  3       0000:00:14.0 USB      yes"));
        Assert.That(lines[3], Is.EqualTo("          0000:00:14.2 Memory"));
        Assert.That(lines[4], Is.EqualTo("  12      0000:01:00.0 VGA      no"));
    }

    [Test]
    public void The_header_is_bold_only_when_asked_and_the_rows_stay_plain()
    {
        var table = new TextTable("A", "B").AddRow("1", "2");

        Assert.That(Render(table, bold: true), Does.StartWith("\u001b[1m  A   B\u001b[0m\n"));
        Assert.That(Render(table, bold: true).Split('\n')[2], Is.EqualTo("  1   2"));
        Assert.That(Render(table), Does.Not.Contain("\u001b"));
    }

    [Test]
    public void A_row_with_the_wrong_number_of_cells_is_refused() =>
        Assert.Throws<ArgumentException>(() => new TextTable("A", "B").AddRow("1"));
}
