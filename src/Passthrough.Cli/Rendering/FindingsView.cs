using Passthrough.Diagnostics;
using Spectre.Console;

namespace Passthrough.Cli.Rendering;

/// <summary>
/// Findings as text, one <see cref="Finding"/> for every verb: doctor's report grouped by severity,
/// `xml lint`'s lines and `rom inspect`'s verdicts (each in the words its output has always used).
/// </summary>
internal static class FindingsView
{
    public static void Write(IAnsiConsole console, DoctorReport report)
    {
        foreach (var group in report.Findings.GroupBy(f => f.Severity))
        {
            var (title, colour, mark) = Style(group.Key);
            console.MarkupLine($"[bold {colour}]{title} ({group.Count()})[/]");
            foreach (var f in group)
            {
                var subject = f.Subject is null ? string.Empty : $" {Markup.Escape(f.Subject)}";
                if (f.Severity == Severity.Ok)
                {
                    console.MarkupLine($"  [{colour}]{mark}[/] {Markup.Escape(f.Id)}{subject}: {Markup.Escape(f.Message)}");
                    continue;
                }

                console.MarkupLine($"  [{colour}]{mark}[/] [bold]{Markup.Escape(f.Id)}[/]{subject}: {Markup.Escape(f.Message)}");
                foreach (var seen in f.Evidence.Take(4))
                {
                    console.MarkupLine($"      [grey]seen:[/] {Markup.Escape(seen)}");
                }

                if (f.Evidence.Count > 4)
                {
                    console.MarkupLine($"      [grey]seen: ... {f.Evidence.Count - 4} more (--json shows all)[/]");
                }

                if (!string.IsNullOrEmpty(f.Remedy))
                {
                    console.MarkupLine($"      [{colour}]do:[/] {Markup.Escape(f.Remedy)}");
                }
            }

            console.WriteLine();
        }

        var counts = Enum.GetValues<Severity>().Select(s => (s, n: report.Findings.Count(f => f.Severity == s)));
        console.MarkupLine(string.Join(", ", counts.Select(c => $"{c.n} {Noun(c.s, c.n)}")));
    }

    private static string Noun(Severity severity, int n) => severity switch
    {
        Severity.Error => n == 1 ? "error" : "errors",
        Severity.Warning => n == 1 ? "warning" : "warnings",
        Severity.Info => n == 1 ? "note" : "notes",
        _ => "ok",
    };

    private static (string Title, string Colour, string Mark) Style(Severity severity) => severity switch
    {
        Severity.Error => ("Errors", "red", "✗"),
        Severity.Warning => ("Warnings", "yellow", "!"),
        Severity.Info => ("Notes", "blue", "i"),
        _ => ("OK", "green", "✓"),
    };

    /// <summary>`xml lint`: "error   id: message", the remedy indented below, then the counts.</summary>
    public static void WriteLint(TextWriter output, IReadOnlyList<Finding> findings, string source)
    {
        foreach (var f in findings)
        {
            output.WriteLine($"{LintWord(f.Severity),-7} {f.Id}: {f.Message}");
            output.WriteLine($"        {f.Remedy}");
        }

        var errors = findings.Count(f => f.Severity == Severity.Error);
        var warnings = findings.Count(f => f.Severity == Severity.Warning);
        output.WriteLine(findings.Count == 0
            ? $"{source}: no problems found."
            : $"{source}: {errors} error(s), {warnings} warning(s), {findings.Count - errors - warnings} note(s).");
    }

    /// <summary>`rom inspect` and `rom dump`: "warning: message" (or "note:"), the remedy indented below.</summary>
    public static void WriteRomVerdicts(TextWriter output, IEnumerable<Finding> findings)
    {
        foreach (var f in findings)
        {
            output.WriteLine($"{RomWord(f.Severity)}: {f.Message}");
            if (f.Remedy is not null)
            {
                output.WriteLine($"  {f.Remedy}");
            }
        }
    }

    private static string LintWord(Severity severity) => severity switch
    {
        Severity.Error => "error",
        Severity.Warning => "warning",
        _ => "info",
    };

    private static string RomWord(Severity severity) => severity switch
    {
        Severity.Error => "error",
        Severity.Warning => "warning",
        _ => "note",
    };
}
