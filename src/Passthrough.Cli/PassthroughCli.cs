using System.CommandLine;
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

    public static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("Passthrough: VFIO GPU passthrough on libvirt hosts that works and stays working.");
        root.Options.Add(GlobalOptions.Root);
        var verbs = typeof(PassthroughCli).Assembly.GetTypes()
            .Where(t => typeof(IVerb).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => ((IVerb)Activator.CreateInstance(t)!).Create(context))
            .OrderBy(c => c.Name, StringComparer.Ordinal);
        foreach (var verb in verbs)
        {
            root.Subcommands.Add(verb);
        }

        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var root = BuildRoot(context);
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
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

    private static async Task ReportAsync(CliContext context, PassthroughException e)
    {
        await context.Error.WriteLineAsync($"passthrough: {e.Message}").ConfigureAwait(false);
        if (!string.IsNullOrEmpty(e.Remedy))
        {
            await context.Error.WriteLineAsync($"  {e.Remedy}").ConfigureAwait(false);
        }
    }
}
