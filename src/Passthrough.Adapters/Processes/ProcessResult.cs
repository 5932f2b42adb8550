using Passthrough.Errors;

namespace Passthrough.Adapters.Processes;

/// <summary>What a finished (or killed) process left behind.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string Stdout, string Stderr, bool TimedOut, TimeSpan Elapsed)
{
    /// <summary>The exit code of a run stopped at its time limit: killed, it reported none.</summary>
    public const int KilledExitCode = -1;

    public bool Succeeded => !TimedOut && ExitCode == 0;

    /// <summary>
    /// Throws <see cref="CommandFailedException"/> (the command line, its stderr and what to do)
    /// when it failed; <paramref name="remedy"/> is the caller's advice, a generic one otherwise.
    /// </summary>
    public ProcessResult EnsureSuccess(string? remedy = null) =>
        Succeeded ? this : throw new CommandFailedException(this, remedy);
}

/// <summary>
/// A program ran and failed, or did not finish in time. Carries the whole result; the message is
/// one line: the command as a user would type it and what it wrote on stderr.
/// </summary>
public sealed class CommandFailedException : PassthroughException
{
    // Long enough for libvirt's and dracut's one-paragraph errors, short enough to stay one line on a terminal.
    private const int MaxOutputInMessage = 600;

    public CommandFailedException(ProcessResult result, string? remedy = null)
        : base(FailureKind.Failed, Describe(result), remedy ?? DefaultRemedy(result))
    {
        Result = result;
    }

    public CommandFailedException()
        : this(new ProcessResult("?", 1, string.Empty, string.Empty, false, TimeSpan.Zero))
    {
    }

    public CommandFailedException(string message)
        : base(message)
    {
        Result = new ProcessResult("?", 1, string.Empty, message, false, TimeSpan.Zero);
    }

    public CommandFailedException(string message, Exception inner)
        : base(message, inner)
    {
        Result = new ProcessResult("?", 1, string.Empty, message, false, TimeSpan.Zero);
    }

    public ProcessResult Result { get; }

    /// <summary>The command line (shell-quoted), as in the message.</summary>
    public string Command => Result.Command;

    /// <summary>What the program wrote on stderr, whole.</summary>
    public string Stderr => Result.Stderr;

    /// <summary>The program's stderr (its stdout when stderr is empty), trimmed, its lines joined into one.</summary>
    public static string OutputSummary(ProcessResult result)
    {
        var text = result.Stderr.Trim().Length > 0 ? result.Stderr : result.Stdout;
        var joined = string.Join(" / ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return joined.Length <= MaxOutputInMessage ? joined : joined[..MaxOutputInMessage] + " ...";
    }

    private static string Describe(ProcessResult result)
    {
        var output = OutputSummary(result);
        var said = output.Length > 0 ? $": {output}" : " and printed nothing";
        return result.TimedOut
            ? $"`{result.Command}` did not finish in {result.Elapsed.TotalSeconds:0.#} s and was stopped{(output.Length > 0 ? $"; it said: {output}" : ".")}"
            : $"`{result.Command}` failed with exit code {result.ExitCode}{said}";
    }

    private static string DefaultRemedy(ProcessResult result) =>
        result.TimedOut
            ? $"Check what `{result.Command}` waits for (a lock, a daemon, the network), then run it again."
            : $"Fix what it says and run it again; run `{result.Command}` yourself to see its whole output.";
}
