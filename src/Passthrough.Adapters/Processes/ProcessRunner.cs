using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Passthrough.Errors;

namespace Passthrough.Processes;

/// <summary>What a finished (or killed) process left behind.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string Stdout, string Stderr, bool TimedOut, TimeSpan Elapsed)
{
    public bool Succeeded => !TimedOut && ExitCode == 0;

    /// <summary>Throws the library's error, naming the command and its stderr, when it failed.</summary>
    public ProcessResult EnsureSuccess(string? remedy = null) =>
        Succeeded
            ? this
            : throw PassthroughException.Failure(
                TimedOut
                    ? $"`{Command}` did not finish in {Elapsed.TotalSeconds:0.#} s and was stopped."
                    : $"`{Command}` failed with exit code {ExitCode}: {FirstLine(Stderr.Length > 0 ? Stderr : Stdout)}",
                remedy);

    private static string FirstLine(string text)
    {
        var trimmed = text.Trim();
        var newline = trimmed.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? trimmed : trimmed[..newline] + " ...";
    }
}

/// <summary>Runs programs. Tests replace it with a recorder; production uses <see cref="ProcessRunner"/>.</summary>
public interface IProcessRunner
{
    Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, ProcessOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>Options for one run: standard input, timeout, extra environment.</summary>
public sealed record ProcessOptions
{
    public string? StandardInput { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public ProcessOptions WithTimeout(TimeSpan timeout) => this with { Timeout = timeout };

    public ProcessOptions WithInput(string input) => this with { StandardInput = input };
}

/// <summary>
/// The one place that starts processes: an argument list (never a shell string), a timeout after
/// which the whole process tree is killed, and captured output.
/// </summary>
public sealed class ProcessRunner : IProcessRunner
{
    public static ProcessRunner Instance { get; } = new();

    public async Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, ProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ProcessOptions();
        var display = string.Join(' ', new[] { program }.Concat(arguments.Select(Quote)));
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["LC_ALL"] = "C";
        if (options.Environment is not null)
        {
            foreach (var (key, value) in options.Environment)
            {
                info.Environment[key] = value;
            }
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw PassthroughException.Host(
                $"Cannot run `{program}`: {e.Message}.",
                $"Install the package that provides `{program}`, or check PATH.",
                e);
        }

        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            if (options.StandardInput is not null)
            {
                await process.StandardInput.WriteAsync(options.StandardInput.AsMemory(), cancellationToken).ConfigureAwait(false);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited without reading its input; its exit code tells the story.
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        return new ProcessResult(display, process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false), timedOut, stopwatch.Elapsed);
    }

    /// <summary>An argument as a POSIX shell would need it, for showing commands to users.</summary>
    public static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,+@".Contains(c, StringComparison.Ordinal))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
