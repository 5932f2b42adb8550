using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Passthrough.Cli;

/// <summary>
/// `VERB --help` for a hidden verb (`man`) too: System.CommandLine's help builder writes nothing for a hidden
/// command, so the command is shown for the one help it asked for. It stays out of the top-level help and the
/// completions, which list only what is not hidden.
/// </summary>
internal sealed class HiddenVerbHelpAction(HelpAction help) : SynchronousCommandLineAction
{
    /// <summary>As the help action: `man --help` needs no --output.</summary>
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        var command = parseResult.CommandResult.Command;
        if (!command.Hidden)
        {
            return help.Invoke(parseResult);
        }

        command.Hidden = false;
        try
        {
            return help.Invoke(parseResult);
        }
        finally
        {
            command.Hidden = true;
        }
    }
}
