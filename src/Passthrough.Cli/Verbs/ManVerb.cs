using System.CommandLine;
using System.Reflection;
using Passthrough.Adapters.Files;
using Passthrough.Cli.Completion;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// `passthrough man --output DIR` (hidden, for `make man` and the packages): writes passthrough.1
/// and one passthrough-VERB.1 per verb with sub-verbs, generated from the command tree.
/// </summary>
internal sealed class ManVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var output = new Option<string>("--output", "-o") { Description = "Write the pages into DIR (created).", HelpName = "DIR", Required = true };
        var command = new Command("man", "Write the man pages passthrough.1 and passthrough-VERB.1 (one per verb with sub-verbs), generated from the command tree, into --output DIR; `make man` and the packages run it.") { output };
        command.Hidden = true;
        command.SetAction(async result =>
        {
            var directory = result.GetValue(output)!;
            var version = typeof(PassthroughCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";
            var pages = ManPages.All(CommandNode.From(PassthroughCli.BuildRoot(context)), version);
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (IOException e)
            {
                throw PassthroughException.Host($"Cannot create {directory}: {e.Message}", "Give --output a directory you can write.", e);
            }

            foreach (var (file, text) in pages)
            {
                AtomicFile.WriteText(Path.Join(directory, file), text);
                await context.Out.WriteLineAsync(Path.Join(directory, file)).ConfigureAwait(false);
            }

            return PassthroughCli.Ok;
        });
        return command;
    }
}
