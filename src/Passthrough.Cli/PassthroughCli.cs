using System.CommandLine;
using System.CommandLine.Help;
using Passthrough.Cli.Verbs;
using Passthrough.Errors;

namespace Passthrough.Cli;

/// <summary>
/// The command line and its single error boundary: every failure becomes one line on stderr
/// (message, then what to do) and an exit code. 0 ok, 1 findings or a failed step, 2 usage or bad
/// input, 3 environment or permission problem. Never a stack trace.
/// </summary>
public static class PassthroughCli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadInput = 2;
    public const int HostProblem = 3;

    /// <summary>
    /// Every verb, by name, in help order: the IVerb class FooVerb is the verb `foo` (a test holds every
    /// IVerb class to this table). A table, not an assembly scan: the native binary has no reflection,
    /// and a factory per verb keeps building only the verb that runs.
    /// </summary>
    internal static IReadOnlyList<(string Name, Func<IVerb> Create)> Verbs { get; } =
    [
        ("bind", static () => new BindVerb()),
        ("capture", static () => new CaptureVerb()),
        ("completion", static () => new CompletionVerb()),
        ("doctor", static () => new DoctorVerb()),
        ("explain", static () => new ExplainVerb()),
        ("groups", static () => new GroupsVerb()),
        ("hook", static () => new HookVerb()),
        ("hooks", static () => new HooksVerb()),
        ("list", static () => new ListVerb()),
        ("man", static () => new ManVerb()),
        ("new", static () => new NewVerb()),
        ("restore", static () => new RestoreVerb()),
        ("rom", static () => new RomVerb()),
        ("setup", static () => new SetupVerb()),
        ("snapshot", static () => new SnapshotVerb()),
        ("status", static () => new StatusVerb()),
        ("unbind", static () => new UnbindVerb()),
        ("xml", static () => new XmlVerb()),
    ];

    /// <summary>The whole command tree (help, completion, tests).</summary>
    public static RootCommand BuildRoot(CliContext context) => BuildRoot(context, null);

    /// <summary>
    /// The command tree for one invocation: when the arguments name a verb, only that verb is
    /// built. A short-lived CLI pays for every Command and Option it constructs, and `list` on a
    /// big host should not pay for the fifteen verbs it does not run.
    /// </summary>
    internal static RootCommand BuildRoot(CliContext context, string? verbName)
    {
        var root = new RootCommand("Passthrough: VFIO GPU passthrough on libvirt hosts that works and stays working.");
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HiddenVerbHelpAction((HelpAction)help.Action!);
        root.Options.Add(GlobalOptions.Root);
        root.Options.Add(GlobalOptions.SystemBus);
        var only = verbName is not null && Verbs.Any(v => v.Name == verbName) ? verbName : null;
        foreach (var (name, create) in Verbs)
        {
            if (only is null || name == only)
            {
                root.Subcommands.Add(create().Create(context));
            }
        }

        return root;
    }

    /// <summary>The first argument that is not a global option: the verb the user asked for, if any.</summary>
    internal static string? VerbNameIn(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (GlobalOptions.WithValue.Contains(arg))
            {
                i++; // its value
            }
            else if (arg.StartsWith('-'))
            {
                if (!GlobalOptions.WithValue.Any(o => arg.StartsWith(o + "=", StringComparison.Ordinal) || arg.StartsWith(o + ":", StringComparison.Ordinal)))
                {
                    return null; // --help, --version or a typo: the whole tree answers those
                }
            }
            else
            {
                return arg;
            }
        }

        return null;
    }

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var root = BuildRoot(context, VerbNameIn(args));
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                // An unknown first word gets one line of its own; System.CommandLine would also add "Required
                // command was not provided." before it.
                if (VerbNameIn(args) is { } word && !Verbs.Any(v => v.Name == word))
                {
                    await context.Error.WriteLineAsync($"passthrough: '{word}' is not a verb.").ConfigureAwait(false);
                    var near = Verbs.Select(v => v.Name).Where(v => EditDistance(v, word) <= 2).ToList();
                    await context.Error.WriteLineAsync(near.Count > 0
                        ? $"  Did you mean `passthrough {near[0]}`? `passthrough --help` lists every verb."
                        : "  `passthrough --help` lists every verb.").ConfigureAwait(false);
                    return BadInput;
                }

                foreach (var error in parse.Errors)
                {
                    await context.Error.WriteLineAsync($"passthrough: {error.Message}").ConfigureAwait(false);
                }

                await context.Error.WriteLineAsync("Run `passthrough --help` (or VERB --help) for usage.").ConfigureAwait(false);
                return BadInput;
            }

            var configuration = new InvocationConfiguration
            {
                Output = context.Out,
                Error = context.Error,
                EnableDefaultExceptionHandler = false,
            };
            return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (PassthroughException e)
        {
            await ReportAsync(context, e).ConfigureAwait(false);
            return e.Kind switch
            {
                FailureKind.InvalidInput => BadInput,
                FailureKind.Environment => HostProblem,
                _ => Failed,
            };
        }
        catch (UnauthorizedAccessException e)
        {
            await context.Error.WriteLineAsync($"passthrough: permission denied: {e.Message}").ConfigureAwait(false);
            await context.Error.WriteLineAsync("  Run it as root (sudo) or on a captured tree with --root.").ConfigureAwait(false);
            return HostProblem;
        }
        catch (OperationCanceledException)
        {
            await context.Error.WriteLineAsync("passthrough: interrupted.").ConfigureAwait(false);
            return Failed;
        }
#pragma warning disable CA1031 // The boundary: anything unexpected still gets one line, not a stack trace.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Logging.Log.Error(e, "unexpected failure");
            await context.Error.WriteLineAsync($"passthrough: internal error ({e.GetType().Name}): {e.Message}").ConfigureAwait(false);
            await context.Error.WriteLineAsync("  This is a bug in Passthrough; please report it with the command you ran.").ConfigureAwait(false);
            return Failed;
        }
    }

    /// <summary>Levenshtein distance, for suggesting the verb a typo meant.</summary>
    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static async Task ReportAsync(CliContext context, PassthroughException e)
    {
        await context.Error.WriteLineAsync($"passthrough: {e.Message}").ConfigureAwait(false);
        if (!string.IsNullOrEmpty(e.Remedy))
        {
            await context.Error.WriteLineAsync($"  {e.Remedy}").ConfigureAwait(false);
        }
    }
}
