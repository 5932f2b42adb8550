using Passthrough.Adapters.Processes;
using Passthrough.Cli;

namespace Passthrough.Testing;

/// <summary>The outcome of one in-process CLI run.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs `passthrough ARGS` in-process with captured stdout and stderr.</summary>
public static class CliRun
{
    public static CliResult Run(params string[] args) => RunAsync(args).GetAwaiter().GetResult();

    public static CliResult RunWith(string? stdin, IProcessRunner? runner, params string[] args) =>
        RunAsync(args, stdin, runner).GetAwaiter().GetResult();

    public static async Task<CliResult> RunAsync(string[] args, string? stdin = null, IProcessRunner? runner = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var input = new StringReader(stdin ?? string.Empty);
        var context = new CliContext(output, error, input, isTerminal: false, runner, environment);
        var code = await PassthroughCli.RunAsync(args, context);
        return new CliResult(code, output.ToString(), error.ToString());
    }
}
