using System.CommandLine;
using Passthrough.Binding;
using Passthrough.Cli.Rendering;
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
        var json = ChangeOptions.Json();
        var check = ChangeOptions.Check("It lists each journal's steps; under a --root without a kernel it fails (exit 3: nothing can be given back there). Steps that would fail (a driver refusing, systemd) are not foreseen.");
        var command = new Command("restore", "Give back what passthrough bound for a VM (or --all), from its state journal. Nothing bound for it: nothing to do (exit 0).") { target, all, json, check };
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var wanted = result.GetValue(target);
            var everything = result.GetValue(all);
            var asJson = result.GetValue(json);
            var checking = result.GetValue(check);
            if (wanted is null == !everything)
            {
                throw PassthroughException.Input("Give a VM name or uuid, or --all (not both).", "For example: passthrough restore win11");
            }

            var engine = BindingServices.Engine(context, root, GlobalOptions.SystemBusAddress(result), progress: StepSpinner.For(context, asJson));
            var journals = engine.Journals.All();
            var chosen = everything ? journals : journals.Where(j => Matches(j, wanted!)).ToList();
            var restored = chosen.Select(j => new RestoredJournalJson(j.Id, j.Owner.Name, [.. j.FunctionStates().Select(f => f.Address.ToString())])).ToList();
            // One after the other, as they are restored: the CPUs a journal gives back depend on those still held.
            var plans = chosen.Select((j, i) => RestorePlan.ForJournal(j, engine.Timeouts, engine.IsolationFor(j, chosen.Take(i).Select(c => c.Id)))).ToList();
            var actions = chosen.SelectMany((j, i) => plans[i].Select(step => $"{Describe(j)}: {step}")).ToList();
            if (chosen.Count == 0)
            {
                // Restoring is reaching a state: nothing bound for it is that state already (a second restore, or a
                // VM whose hook gave everything back). A name passthrough never saw is said, not an error.
                var nothing = everything
                    ? "Nothing to restore: passthrough has nothing bound."
                    : $"Nothing to restore for '{wanted}': no state journal in {engine.Journals.Directory} (passthrough has nothing of it bound; `passthrough status` lists what is).";
                if (asJson)
                {
                    Json.Write(context.Out, new RestoreChangeJson(false, [], false, everything ? [] : [nothing], [], []), Json.Shapes.RestoreChangeJson);
                }
                else
                {
                    await context.Out.WriteLineAsync(nothing).ConfigureAwait(false);
                }

                return PassthroughCli.Ok;
            }

            if (checking)
            {
                BindingServices.ForeseeKernel(context, root);
                if (asJson)
                {
                    Json.Write(context.Out, new RestoreChangeJson(true, actions, false, [], [], restored), Json.Shapes.RestoreChangeJson);
                }
                else
                {
                    foreach (var (journal, plan) in chosen.Zip(plans))
                    {
                        await context.Out.WriteLineAsync($"{Describe(journal)}: would give back {journal.FunctionStates().Count} device(s):").ConfigureAwait(false);
                        foreach (var step in plan)
                        {
                            await context.Out.WriteLineAsync($"  {step}").ConfigureAwait(false);
                        }
                    }

                    await context.Out.WriteLineAsync("--check: nothing was changed.").ConfigureAwait(false);
                }

                return PassthroughCli.Ok;
            }

            var failures = new List<string>();
            foreach (var journal in chosen)
            {
                var report = await engine.RestoreAsync(journal.Id, cancellationToken).ConfigureAwait(false);
                if (report is null || report.Succeeded)
                {
                    if (!asJson)
                    {
                        await context.Out.WriteLineAsync($"{Describe(journal)}: restored ({journal.FunctionStates().Count} device(s) back on their drivers).").ConfigureAwait(false);
                    }

                    continue;
                }

                foreach (var failure in report.Failures)
                {
                    await (asJson ? context.Error : context.Out).WriteLineAsync($"{Describe(journal)}: {failure}").ConfigureAwait(false);
                }

                failures.AddRange(report.Failures);
            }

            if (failures.Count > 0)
            {
                throw PassthroughException.Failure(
                    $"{failures.Count} step(s) could not be undone (listed above); the journal is kept.",
                    "Fix the cause (`dmesg`, `journalctl`) and run the same restore again: it only redoes what is still missing.");
            }

            if (asJson)
            {
                Json.Write(context.Out, new RestoreChangeJson(true, actions, false, [], [], restored), Json.Shapes.RestoreChangeJson);
            }

            return PassthroughCli.Ok;
        });
        return command;
    }

    private static bool Matches(BindingJournal journal, string wanted) =>
        journal.Owner.Matches(wanted) || string.Equals(journal.Id, wanted, StringComparison.OrdinalIgnoreCase);

    internal static string Describe(BindingJournal journal) =>
        journal.Owner is JournalOwner.ManualBind ? $"`passthrough bind` of {string.Join(", ", journal.FunctionStates().Select(f => f.Address))}" : journal.Owner.Title;
}
