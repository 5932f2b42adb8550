namespace Passthrough.Cli.Rendering;

// The --json (and --check --json) records of the mutating verbs that say more than ChangeReportJson. Each starts
// with its five properties, in that order (changed, actions, rebootRequired, warnings, diffs): a consumer that only
// knows ChangeReportJson reads every one of them.

/// <summary>
/// `setup apply|undo --json`: <see cref="Backup"/> is the backup the apply made or the undo restored (null under
/// --check and when nothing changed); <see cref="Files"/> the host paths written (or that would be);
/// <see cref="CommandsNotRun"/> what --root (or --check) left for the host itself.
/// </summary>
internal sealed record SetupChangeJson(
    bool Changed,
    IReadOnlyList<string> Actions,
    bool RebootRequired,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<FileDiffJson> Diffs,
    string? Backup,
    string? Mode,
    IReadOnlyList<string> Files,
    IReadOnlyList<string> CommandsRun,
    IReadOnlyList<string> CommandsNotRun,
    IReadOnlyList<string> Systemd);

/// <summary>
/// `hooks install|uninstall --json`: the hook's host path, the program it runs (install), and the command that
/// makes libvirt notice the change (null when nothing changed: libvirt reads the hook directory when it starts).
/// </summary>
internal sealed record HooksChangeJson(
    bool Changed,
    IReadOnlyList<string> Actions,
    bool RebootRequired,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<FileDiffJson> Diffs,
    string Path,
    string? Binary,
    string? Restart);

/// <summary>`bind|unbind --json`: every function asked for, its driver before and (expected) after.</summary>
internal sealed record BindingChangeJson(
    bool Changed,
    IReadOnlyList<string> Actions,
    bool RebootRequired,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<FileDiffJson> Diffs,
    IReadOnlyList<DeviceChangeJson> Devices);

/// <summary>
/// One function in `bind|unbind --json`: its driver before, and the one it is on after (bind: vfio-pci;
/// unbind: the recorded driver; null: the kernel's choice, or no driver).
/// </summary>
internal sealed record DeviceChangeJson(string Address, string? Before, string? After, bool Changed);

/// <summary>`restore --json`: the state journals given back (or that would be).</summary>
internal sealed record RestoreChangeJson(
    bool Changed,
    IReadOnlyList<string> Actions,
    bool RebootRequired,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<FileDiffJson> Diffs,
    IReadOnlyList<RestoredJournalJson> Restored);

/// <summary>One journal in `restore --json`: its id, owner (VM name or "bind") and functions.</summary>
internal sealed record RestoredJournalJson(string Id, string Owner, IReadOnlyList<string> Devices);

/// <summary>
/// `rom install --json`: the ROM's host path and the line for the domain XML. A ROM is binary: its write is an
/// action, never a diff.
/// </summary>
internal sealed record RomInstallJson(
    bool Changed,
    IReadOnlyList<string> Actions,
    bool RebootRequired,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<FileDiffJson> Diffs,
    string Path,
    string RomLine,
    bool UefiCapable);
