using Passthrough.Diagnostics;
using Spectre.Console;

namespace Passthrough.Cli.Rendering;

/// <summary>Doctor findings as text: grouped by severity, message, what was seen, one line of remedy.</summary>
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
}
