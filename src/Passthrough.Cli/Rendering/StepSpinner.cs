using System.Diagnostics;
using System.Globalization;
using Passthrough.Adapters;
using Spectre.Console;

namespace Passthrough.Cli.Rendering;

/// <summary>
/// The spinner shown on standard error while a long step runs ("Running dracut --regenerate-all --force (12 s)").
/// Only a person watching a terminal sees it: with --json, or when standard output or standard error is not a
/// terminal (a pipe, a log, Ansible), nothing but the result is written.
/// </summary>
internal static class StepSpinner
{
    /// <summary>Whether a spinner is shown: both streams are terminals and no program reads the output.</summary>
    public static bool Shows(bool outputIsTerminal, bool errorIsTerminal, bool json) => outputIsTerminal && errorIsTerminal && !json;

    public static IStepProgress For(CliContext context, bool json) =>
        Shows(context.IsTerminal, context.ErrorIsTerminal, json) ? new Spinning(context.Error, context.Colour) : StepProgress.None;

    internal static string Label(string step, TimeSpan elapsed) =>
        string.Create(CultureInfo.InvariantCulture, $"{step} ({(int)elapsed.TotalSeconds} s)");

    /// <summary>Spectre's status display on standard error, its text updated every second with the time taken.</summary>
    private sealed class Spinning(TextWriter error, bool colour) : IStepProgress
    {
        public async Task<T> RunAsync<T>(string step, Func<Task<T>> work)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(error),
                // Redrawing the line needs ANSI cursor movement, colour or not (NO_COLOR only drops the colours).
                Ansi = AnsiSupport.Yes,
                ColorSystem = colour ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.Yes,
            });
            var watch = Stopwatch.StartNew();
            return await console.Status()
                .Spinner(Spinner.Known.Dots)
                .StartAsync(Markup.Escape(Label(step, TimeSpan.Zero)), async status =>
                {
                    var running = work();
                    while (await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false) != running)
                    {
                        status.Status(Markup.Escape(Label(step, watch.Elapsed)));
                    }

                    return await running.ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
    }
}
