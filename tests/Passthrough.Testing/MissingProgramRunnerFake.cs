using Passthrough.Adapters.Processes;

namespace Passthrough.Testing;

/// <summary>
/// Failure injection: the real <see cref="ProcessRunner"/>, except that <c>missing</c> is started
/// under a name no PATH holds, so the verb meets exactly what a host without that tool gives it.
/// </summary>
public sealed class MissingProgramRunnerFake(string missing) : IProcessRunner
{
    /// <summary>The commands that asked for the missing program.</summary>
    public List<string> Tried { get; } = [];

    public Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, ProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (program != missing)
        {
            return ProcessRunner.Instance.RunAsync(program, arguments, options, cancellationToken);
        }

        // The package hint stays the real program's, as on a host without it.
        Tried.Add(string.Join(' ', arguments.Prepend(program)));
        options ??= new ProcessOptions();
        options = options with { Package = options.Package ?? PackageHint.For(program) };
        return ProcessRunner.Instance.RunAsync($"{missing}-not-installed-{Guid.NewGuid():N}", arguments, options, cancellationToken);
    }
}
