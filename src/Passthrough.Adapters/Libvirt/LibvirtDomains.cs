using Passthrough.Adapters.Processes;
using Passthrough.Errors;

namespace Passthrough.Adapters.Libvirt;

/// <summary>
/// Reads domain definitions from libvirt (`virsh dumpxml NAME`): the one place verbs get a
/// domain's XML from, so every verb reports a missing domain or an unreachable libvirt alike.
/// </summary>
public sealed class LibvirtDomains
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly IProcessRunner _runner;
    private readonly IReadOnlyDictionary<string, string> _environment;

    /// <param name="runner">Runs virsh.</param>
    /// <param name="environment">The caller's environment; its LIBVIRT_DEFAULT_URI is handed to virsh when no URI is given.</param>
    public LibvirtDomains(IProcessRunner runner, IReadOnlyDictionary<string, string> environment)
    {
        _runner = runner;
        _environment = environment;
    }

    /// <summary>
    /// The domain's XML as libvirt stores it. A domain libvirt does not know is an input error, an
    /// unreachable libvirt a host error; <paramref name="otherwise"/> ends each remedy with the
    /// verb's other way in ("give the file with --xml"), <paramref name="connectOption"/> names the
    /// verb's URI option (null: it has none, LIBVIRT_DEFAULT_URI chooses). <paramref name="inactive"/>:
    /// the persistent definition (`--inactive`), the one an edit changes and `virsh define` replaces.
    /// </summary>
    public async Task<string> DumpXmlAsync(string name, string? uri, string? connectOption, string otherwise, bool inactive = false, CancellationToken cancellationToken = default)
    {
        var chooseUri = connectOption is null ? "set LIBVIRT_DEFAULT_URI" : $"give {connectOption}";
        var nameUri = connectOption is null ? "set LIBVIRT_DEFAULT_URI" : $"name the URI with {connectOption}";
        var options = new ProcessOptions { Timeout = Timeout };
        string[] dump = inactive ? ["dumpxml", "--inactive", name] : ["dumpxml", name];
        string[] arguments = uri is null ? dump : ["-c", uri, .. dump];
        if (uri is null && _environment.TryGetValue("LIBVIRT_DEFAULT_URI", out var fromEnvironment))
        {
            options = options with { Environment = new Dictionary<string, string> { ["LIBVIRT_DEFAULT_URI"] = fromEnvironment } };
            uri = fromEnvironment;
        }

        var command = $"virsh {string.Join(' ', arguments.Select(ProcessRunner.Quote))}";
        var run = await _runner.RunAsync("virsh", arguments, options, cancellationToken).ConfigureAwait(false);
        if (run.Succeeded)
        {
            return run.Stdout;
        }

        var errors = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        var reason = run.TimedOut ? $"no answer in {Timeout.TotalSeconds:0} s" : errors.Count > 0 ? string.Join(' ', errors) : run.Stderr.Trim();

        // "failed to get domain" (libvirt 7+) or "Domain not found" (older): the name is wrong, not the host.
        if (errors.Any(l => l.Contains("failed to get domain", StringComparison.Ordinal) || l.Contains("Domain not found", StringComparison.Ordinal)))
        {
            throw PassthroughException.Input(
                $"`{command}` failed: {reason}",
                $"Check the name with `virsh{(uri is null ? string.Empty : $" -c {uri}")} list --all` (as root for qemu:///system, or {chooseUri}), or {otherwise}.");
        }

        throw PassthroughException.Host(
            $"`{command}` failed: {reason}",
            $"Check that libvirtd (or virtqemud) is running and that you may use it (root or the libvirt group); {nameUri}, or {otherwise}.");
    }
}
