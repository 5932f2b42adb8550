using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using CliWrap;
using Passthrough.Errors;
using Passthrough.Shell;

namespace Passthrough.Adapters.Processes;

/// <summary>Runs programs. Tests replace it with a recorder; production uses <see cref="ProcessRunner"/>.</summary>
public interface IProcessRunner
{
    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="arguments"/> and returns what it left
    /// behind, also when it failed or hit its time limit (then it was killed). Cancelling kills it
    /// too and throws <see cref="OperationCanceledException"/>; a program that cannot be started
    /// is a <see cref="FailureKind.Environment"/> error naming it and its package.
    /// </summary>
    Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, ProcessOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// The one place that starts processes, on CliWrap: an argument list (never a shell string),
/// captured output, and a time limit or cancellation that kills the whole process tree (CliWrap
/// kills with Process.Kill(entireProcessTree: true) and waits for the exit).
/// </summary>
public sealed class ProcessRunner : IProcessRunner
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    public static ProcessRunner Instance { get; } = new();

    public async Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, ProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ProcessOptions();
        var display = ShellWords.CommandLine(program, arguments);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();

        // Tools' messages in English and untranslated, so callers can match them (libvirt's "error:").
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal) { ["LC_ALL"] = "C" };
        foreach (var (key, value) in options.Environment ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var command = Cli.Wrap(program)
            .WithArguments(arguments)
            .WithEnvironmentVariables(environment)
            .WithStandardInputPipe(options.StandardInput is null ? PipeSource.Null : PipeSource.FromString(options.StandardInput, Utf8))
            .WithStandardOutputPipe(PipeTarget.ToStringBuilder(stdout, Utf8))
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(stderr, Utf8))
            .WithValidation(CommandResultValidation.None);
        if (options.WorkingDirectory is not null)
        {
            command = command.WithWorkingDirectory(options.WorkingDirectory);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(options.Timeout);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var result = await command.ExecuteAsync(limit.Token).ConfigureAwait(false);
            return new ProcessResult(display, result.ExitCode, stdout.ToString(), stderr.ToString(), false, stopwatch.Elapsed);
        }
        catch (Win32Exception e)
        {
            throw Missing(program, options, e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our limit, not the caller's cancellation (which propagates): the tree is dead by now and
            // the output pipes are closed, so what it printed so far is all there is.
            return new ProcessResult(display, ProcessResult.KilledExitCode, stdout.ToString(), stderr.ToString(), true, stopwatch.Elapsed);
        }
    }

    /// <summary>An argument as a POSIX shell would need it, for showing commands to users.</summary>
    public static string Quote(string argument) => ShellWords.QuoteIfNeeded(argument);

    private static PassthroughException Missing(string program, ProcessOptions options, Win32Exception e)
    {
        // CliWrap wraps the exception of Process.Start, whose errno says why (ENOENT, EACCES); its
        // message also names the working directory, which says nothing here.
        var reason = Marshal.GetPInvokeErrorMessage((e.InnerException as Win32Exception ?? e).NativeErrorCode);
        var package = options.Package ?? PackageHint.For(program);
        var install = package is null ? "Install the package that provides it" : $"Install the package that provides it ({package.InstallCommands})";
        return PassthroughException.Host(
            $"Cannot run `{program}`: {reason}.",
            Path.IsPathRooted(program) ? $"{install}, or check that {program} is an executable file." : $"{install}, or check PATH.",
            e);
    }
}
