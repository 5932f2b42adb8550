using System.CommandLine;
using Passthrough.Binding;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// `passthrough restore NAME|UUID|--all`: replays the state journal from a TTY or SSH after a crash
/// or a failed hook: devices back to their drivers, modules, framebuffer, consoles, display manager.
/// </summary>
internal sealed class RestoreVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var target = new Argument<string?>("NAME|UUID") { Description = "The VM's name or uuid (as in `passthrough status`).", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Restore everything passthrough has bound." };
        var command = new Command("restore", "Give back what passthrough bound for a VM (or --all), from its state journal.") { target, all };
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var wanted = result.GetValue(target);
            var everything = result.GetValue(all);
            if (wanted is null == !everything)
            {
                throw PassthroughException.Input("Give a VM name or uuid, or --all (not both).", "For example: passthrough restore win11");
            }

            var engine = BindingServices.Engine(context, root, GlobalOptions.SystemBusAddress(result));
            var journals = engine.Journals.All();
            var chosen = everything ? journals : journals.Where(j => Matches(j, wanted!)).ToList();
            if (chosen.Count == 0)
            {
                if (everything)
                {
                    await context.Out.WriteLineAsync("Nothing to restore: passthrough has nothing bound.").ConfigureAwait(false);
                    return PassthroughCli.Ok;
                }

                throw PassthroughException.Input(
                    $"No state journal for '{wanted}' in {engine.Journals.Directory}: passthrough has nothing of it bound.",
                    "`passthrough status` lists what is bound.");
            }

            var failures = new List<string>();
            foreach (var journal in chosen)
            {
                var report = await engine.RestoreAsync(journal.Id, cancellationToken).ConfigureAwait(false);
                if (report is null || report.Succeeded)
                {
                    await context.Out.WriteLineAsync($"{Describe(journal)}: restored ({journal.FunctionStates().Count} device(s) back on their drivers).").ConfigureAwait(false);
                    continue;
                }

                foreach (var failure in report.Failures)
                {
                    await context.Out.WriteLineAsync($"{Describe(journal)}: {failure}").ConfigureAwait(false);
                }

                failures.AddRange(report.Failures);
            }

            return failures.Count == 0
                ? PassthroughCli.Ok
                : throw PassthroughException.Failure(
                    $"{failures.Count} step(s) could not be undone (listed above); the journal is kept.",
                    "Fix the cause (`dmesg`, `journalctl`) and run the same restore again: it only redoes what is still missing.");
        });
        return command;
    }

    private static bool Matches(BindingJournal journal, string wanted) =>
        journal.Owner.Matches(wanted) || string.Equals(journal.Id, wanted, StringComparison.OrdinalIgnoreCase);

    internal static string Describe(BindingJournal journal) =>
        journal.Owner is JournalOwner.ManualBind ? $"`passthrough bind` of {string.Join(", ", journal.FunctionStates().Select(f => f.Address))}" : journal.Owner.Title;
}
