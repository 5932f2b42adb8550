namespace Passthrough.Cli.Rendering;

// The machine interface of every mutating verb (`--json`, and `--check` for a dry run): what changed, or
// with --check what would. Ansible modules and scripts decide "changed" from this, never from text.
// A verb with more to say declares its own record that starts with these five properties, in this order.

/// <summary>
/// `{"changed":BOOL,"actions":[...],"rebootRequired":BOOL,"warnings":[...],"diffs":[...]}`.
/// <see cref="Actions"/> are one human-readable line each ("bind 0000:03:00.0 to vfio-pci");
/// <see cref="Diffs"/> hold every file or domain definition the run changed (or would), empty otherwise.
/// </summary>
internal sealed record ChangeReportJson(
    bool Changed,
    IReadOnlyList<string> Actions,
    bool RebootRequired,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<FileDiffJson> Diffs)
{
    public static ChangeReportJson Unchanged { get; } = new(false, [], false, [], []);
}

/// <summary>
/// One changed file (its host path) or domain definition (`domain:NAME`): whole texts before and after,
/// as Ansible's diff mode shows them; Before is "" for a new file, After "" for a removed one.
/// </summary>
internal sealed record FileDiffJson(string Path, string Before, string After);
