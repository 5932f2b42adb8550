using System.CommandLine;
using Passthrough.Adapters;
using Passthrough.Adapters.Binding;
using Passthrough.Adapters.Sysfs;
using Passthrough.Binding;
using Passthrough.Cli.Completion;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// `passthrough completion bash|zsh|fish`: the shell's completion script, generated from the command
/// tree. The scripts call back `passthrough completion --values slot|journal` (hidden) for what
/// only the host knows.
/// </summary>
internal sealed class CompletionVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var shell = new Argument<string?>("SHELL") { Description = "bash, zsh or fish.", Arity = ArgumentArity.ZeroOrOne };
        shell.CompletionSources.Add([.. ShellScripts.Shells]);
        var values = new Option<string?>("--values") { Description = "Print the values of KIND (slot, journal) one a line, for the scripts.", HelpName = "KIND", Hidden = true };
        var command = new Command("completion", "Print the completion script for bash, zsh or fish (packages install it where each shell looks).") { shell, values };
        command.SetAction(async result =>
        {
            if (result.GetValue(values) is { } kind)
            {
                foreach (var value in Values(kind, GlobalOptions.HostRoot(result)))
                {
                    await context.Out.WriteLineAsync(value).ConfigureAwait(false);
                }

                return PassthroughCli.Ok;
            }

            var name = result.GetValue(shell);
            if (name is null || !ShellScripts.Shells.Contains(name))
            {
                throw PassthroughException.Input(
                    name is null ? "Name the shell to print the completion script for." : $"No completion script for the shell '{name}'.",
                    $"Known shells: {string.Join(", ", ShellScripts.Shells)}; for example: passthrough completion bash > /etc/bash_completion.d/passthrough");
            }

            var tree = CommandNode.From(PassthroughCli.BuildRoot(context));
            await context.Out.WriteAsync(ShellScripts.For(name, tree)).ConfigureAwait(false);
            return PassthroughCli.Ok;
        });
        return command;
    }

    /// <summary>Values only this host knows; the scripts drop errors so a TAB never prints one under the cursor.</summary>
    private static IEnumerable<string> Values(string kind, HostRoot root)
    {
        switch (kind)
        {
            case "slot":
                return new SysfsHostReader(root, names: false).Read().Gpus.Select(g => g.Slot.ToString());
            case "journal":
                return new JournalStore(root).All().SelectMany(j => j.Owner is JournalOwner.ManualBind ? [j.Id] : new[] { j.Owner.RestoreArgument, j.Id }).Distinct(StringComparer.Ordinal);
            default:
                throw PassthroughException.Input($"No completion values of the kind '{kind}'.", "Known kinds: slot, journal.");
        }
    }
}
