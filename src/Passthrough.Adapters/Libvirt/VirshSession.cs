using System.Text;
using Passthrough.Adapters.Files;
using Passthrough.Adapters.Processes;
using Passthrough.Errors;
using Passthrough.Shell;

namespace Passthrough.Adapters.Libvirt;

/// <summary>What one command of a session printed on standard output.</summary>
public sealed record VirshOutput(string Command, string Stdout);

/// <summary>
/// Runs several virsh commands in ONE `virsh -c URI` process by feeding them on standard input
/// (virsh's interactive shell), so a define and the dumpxml that checks it see the same connection;
/// that matters for test:///default, whose state lives only as long as the process.
/// </summary>
public sealed class VirshSession
{
    private const string Marker = "@@passthrough@@end-of-command@@";
    private const string MarkerCommand = "echo '@@passthrough''@@end-of-command@@'";
    private readonly IProcessRunner _runner;

    public VirshSession(IProcessRunner runner, string uri)
    {
        _runner = runner;
        Uri = uri;
    }

    public string Uri { get; }

    /// <summary>Runs the commands (virsh shell syntax) and returns each one's standard output, plus stderr.</summary>
    public async Task<(IReadOnlyList<VirshOutput> Outputs, string Stderr)> RunAsync(IReadOnlyList<string> commands, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var script = new StringBuilder();
        foreach (var c in commands)
        {
            script.Append(c).Append('\n').Append(MarkerCommand).Append('\n');
        }

        var options = new ProcessOptions { StandardInput = script.ToString(), Timeout = timeout ?? TimeSpan.FromSeconds(120) };
        var result = await _runner.RunAsync("virsh", ["-q", "-c", Uri], options, cancellationToken).ConfigureAwait(false);
        if (result.TimedOut)
        {
            result.EnsureSuccess("Check that libvirtd is running (systemctl status libvirtd) and the URI is right.");
        }

        // Without a terminal virsh still prints its prompt and echoes each command it reads, so
        // each command is followed by an echo of a marker that only its output spells joined.
        var outputs = new List<VirshOutput>();
        var segments = result.Stdout.Split(Marker);
        for (var i = 0; i < segments.Length - 1 && i < commands.Count; i++)
        {
            var lines = segments[i].Split('\n').Where(l => !l.StartsWith("virsh # ", StringComparison.Ordinal));
            outputs.Add(new VirshOutput(commands[i], string.Join('\n', lines)));
        }

        if (outputs.Count < commands.Count && result.ExitCode != 0 && outputs.Count == 0)
        {
            throw PassthroughException.Host(
                $"virsh -c {Uri} failed: {result.Stderr.Trim()}",
                "Check the URI (--connect) and that libvirtd is running and you may use it (root or the libvirt group).");
        }

        return (outputs, result.Stderr);
    }

    /// <summary>Quotes an argument for virsh's shell, which reads single quotes as sh does.</summary>
    public static string Quote(string argument) => ShellWords.Quote(argument);
}

/// <summary>`--define`: save the current definition, then define the new one and read it back.</summary>
public sealed class VirshDefiner
{
    private readonly IProcessRunner _runner;

    public VirshDefiner(IProcessRunner runner)
    {
        _runner = runner;
    }

    /// <summary>
    /// Saves `virsh dumpxml --inactive NAME` (when the domain exists) under
    /// <paramref name="backupDirectory"/>, then defines <paramref name="xml"/> and returns what
    /// libvirt stored. Fails with libvirt's message when the definition is rejected.
    /// </summary>
    public async Task<(string? BackupPath, string Defined)> DefineAsync(string uri, string name, string xml, string backupDirectory, CancellationToken cancellationToken = default)
    {
        var session = new VirshSession(_runner, uri);
        var current = await CurrentAsync(uri, name, cancellationToken).ConfigureAwait(false);
        string? backup = null;
        if (current is not null)
        {
            var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
            backup = Path.Join(backupDirectory, $"{SafeName(name)}-{stamp}.xml");
            AtomicFile.WriteText(backup, current);
        }

        var temp = Path.Join(Path.GetTempPath(), $"passthrough-define-{Environment.ProcessId}-{Guid.NewGuid():N}.xml");
        try
        {
            await File.WriteAllTextAsync(temp, xml, cancellationToken).ConfigureAwait(false);
            var (outputs, stderr) = await session.RunAsync(
                [$"define {VirshSession.Quote(temp)}", $"dumpxml --inactive {VirshSession.Quote(name)}"],
                cancellationToken: cancellationToken).ConfigureAwait(false);
            var defined = outputs.Count > 1 ? outputs[1].Stdout : string.Empty;
            if (stderr.Contains("error:", StringComparison.Ordinal) || !defined.TrimStart().StartsWith("<domain", StringComparison.Ordinal))
            {
                var message = string.Join(' ', stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)));
                throw PassthroughException.Failure(
                    $"libvirt ({uri}) rejected the edited domain {name}: {message}",
                    backup is null ? "Nothing was changed in libvirt; fix the XML and try again." : $"Nothing was changed in libvirt; the previous definition is in {backup}.");
            }

            return (backup, defined);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>`virsh dumpxml --inactive NAME`: the persistent definition, or null when libvirt has no such domain.</summary>
    public async Task<string?> CurrentAsync(string uri, string name, CancellationToken cancellationToken = default)
    {
        var (before, _) = await new VirshSession(_runner, uri).RunAsync([$"dumpxml --inactive {VirshSession.Quote(name)}"], cancellationToken: cancellationToken).ConfigureAwait(false);
        return before.Count > 0 && before[0].Stdout.TrimStart().StartsWith("<domain", StringComparison.Ordinal) ? before[0].Stdout : null;
    }

    private static string SafeName(string name) =>
        new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);
}
