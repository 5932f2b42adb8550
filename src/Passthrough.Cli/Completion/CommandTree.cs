using System.CommandLine;
using System.CommandLine.Completions;

namespace Passthrough.Cli.Completion;

/// <summary>What a shell can offer for an option's or argument's value.</summary>
internal enum ValueKind
{
    /// <summary>The option is a switch: it takes no value.</summary>
    None,

    /// <summary>Some value the shell cannot guess (a VM name, a size).</summary>
    Any,

    /// <summary>One of a fixed list (AcceptOnlyFromAmong, booleans).</summary>
    Choice,

    /// <summary>A file name.</summary>
    File,

    /// <summary>A directory name.</summary>
    Directory,

    /// <summary>A GPU slot of this host (asked of `passthrough completion --values slot`).</summary>
    Slot,

    /// <summary>A state journal: the VM name or id `restore` takes.</summary>
    Journal,
}

/// <summary>One option of a command as shells and man pages see it.</summary>
internal sealed record OptionNode(string Name, IReadOnlyList<string> Aliases, string? Description, string? HelpName, ValueKind Kind, IReadOnlyList<string> Choices, bool Required)
{
    /// <summary>The name first, then its aliases (--output, -o).</summary>
    public IEnumerable<string> AllNames => new[] { Name }.Concat(Aliases);
}

/// <summary>One positional argument.</summary>
internal sealed record ArgumentNode(string Name, string? Description, ValueKind Kind, IReadOnlyList<string> Choices, bool Many, bool Optional);

/// <summary>
/// One command of the tree (the root, a verb, a sub-verb) reduced to what completion scripts and
/// man pages are generated from, so neither keeps its own list of verbs or options.
/// </summary>
internal sealed record CommandNode(IReadOnlyList<string> Path, string? Description, IReadOnlyList<OptionNode> Options, IReadOnlyList<ArgumentNode> Arguments, IReadOnlyList<CommandNode> Subcommands)
{
    /// <summary>"xml add-gpu"; "" for the root.</summary>
    public string PathText => string.Join(' ', Path);

    public string Name => Path.Count == 0 ? "passthrough" : Path[^1];

    /// <summary>This command and every command below it, parents first.</summary>
    public IEnumerable<CommandNode> SelfAndDescendants() => new[] { this }.Concat(Subcommands.SelectMany(s => s.SelfAndDescendants()));

    /// <summary>Reads the System.CommandLine tree; hidden commands and options are left out.</summary>
    public static CommandNode From(RootCommand root) => From(root, [], []);

    private static CommandNode From(Command command, IReadOnlyList<string> path, IReadOnlyList<Option> inherited)
    {
        var own = command.Options.Where(o => !o.Hidden).ToList();
        var recursive = inherited.Concat(own.Where(o => o.Recursive)).ToList();
        var options = own.Concat(inherited.Where(i => own.All(o => o.Name != i.Name))).Select(ToNode).OrderBy(o => o.Name, StringComparer.Ordinal).ToList();
        var arguments = command.Arguments.Where(a => !a.Hidden).Select(a => ToNode(command, a)).ToList();
        var subcommands = command.Subcommands.Where(c => !c.Hidden).OrderBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => From(c, [.. path, c.Name], recursive)).ToList();
        return new CommandNode(path, command.Description, options, arguments, subcommands);
    }

    private static OptionNode ToNode(Option option)
    {
        // A bool option accepts "--json true" but is typed as a switch: offer it as one.
        var takesValue = option.Arity.MaximumNumberOfValues > 0 && option.ValueType != typeof(bool);
        var choices = takesValue ? StaticChoices(option.GetCompletions(CompletionContext.Empty)) : [];
        var kind = !takesValue ? ValueKind.None : KindOf(option.HelpName, choices);
        // -? and /h are help's Windows spellings: no shell user types them, so no shell offers them.
        var aliases = option.Aliases.Where(a => a != option.Name && (a.StartsWith("--", StringComparison.Ordinal) || (a.Length == 2 && a[0] == '-' && char.IsAsciiLetter(a[1]))))
            .OrderByDescending(a => a.Length).ToList();
        return new OptionNode(option.Name, aliases, option.Description, option.HelpName, kind, choices, option.Required);
    }

    private static ArgumentNode ToNode(Command command, Argument argument)
    {
        var choices = StaticChoices(argument.GetCompletions(CompletionContext.Empty));
        var kind = command.Name == "restore" && argument.Name == "NAME|UUID" ? ValueKind.Journal : KindOf(argument.Name, choices);
        return new ArgumentNode(argument.Name, argument.Description, kind, choices, argument.Arity.MaximumNumberOfValues > 1, argument.Arity.MinimumNumberOfValues == 0);
    }

    private static List<string> StaticChoices(IEnumerable<CompletionItem> items) => [.. items.Select(i => i.Label)];

    /// <summary>
    /// The value's kind from the name the help shows for it: the verbs already call a GPU slot SLOT,
    /// a file FILE, PATH, IN, OUT, OLD or NEW, and a directory DIR, so the shells offer what the help says.
    /// </summary>
    private static ValueKind KindOf(string? helpName, List<string> choices) =>
        choices.Count > 0 ? ValueKind.Choice
        : helpName switch
        {
            "SLOT" => ValueKind.Slot,
            "FILE" or "PATH" or "IN" or "OUT" or "OLD" or "NEW" => ValueKind.File,
            "DIR" => ValueKind.Directory,
            _ => ValueKind.Any,
        };
}
