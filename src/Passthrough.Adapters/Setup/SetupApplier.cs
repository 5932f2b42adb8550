using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Passthrough.Adapters.Files;
using Passthrough.Adapters.Processes;
using Passthrough.Adapters.Systemd;
using Passthrough.Errors;
using Passthrough.Setup;

namespace Passthrough.Adapters.Setup;

/// <summary>One file in a backup: where it lives on the host, whether it existed, and its hashes.</summary>
public sealed record BackupEntry(string Path, bool Existed, string? Sha256Before, string? Sha256After);

/// <summary>The manifest of one apply, ROOT/var/lib/passthrough/backups/TIMESTAMP/manifest.json.</summary>
public sealed record BackupManifest
{
    public required string Timestamp { get; init; }

    public required string Mode { get; init; }

    public IReadOnlyList<BackupEntry> Files { get; init; } = [];

    public IReadOnlyList<string> UnitsEnabled { get; init; } = [];

    public IReadOnlyList<SavedCommand> Regeneration { get; init; } = [];

    public IReadOnlyList<SavedCommand> Undo { get; init; } = [];

    public bool Undone { get; init; }
}

/// <summary>A command as stored in a manifest.</summary>
public sealed record SavedCommand(string Program, IReadOnlyList<string> Arguments)
{
    public PlannedCommand ToPlanned(string reason) => new(Program, Arguments, reason);
}

/// <summary>One file `setup undo` puts back: its text now and after the undo ("" when absent).</summary>
public sealed record UndoFile(string Path, string Current, string Restored);

/// <summary>
/// What `setup undo` of one backup will do, checked before anything is written: the files it restores
/// (or removes), the enablement links it takes away and the commands it runs after.
/// </summary>
public sealed record UndoPreview(BackupManifest Manifest, IReadOnlyList<UndoFile> Files, IReadOnlyList<string> UnitLinks, bool DaemonReload, IReadOnlyList<PlannedCommand> Commands);

/// <summary>What apply or undo did, and what it left for the user.</summary>
public sealed record SetupOutcome(string? Timestamp, IReadOnlyList<string> FilesWritten, IReadOnlyList<string> CommandsRun, IReadOnlyList<string> CommandsNotRun, IReadOnlyList<string> SystemdSteps, bool RebootNeeded);

/// <summary>
/// Applies a <see cref="SetupPlan"/> under a root: checks every file still has the content the plan
/// was made against, backs up what it will change (with a manifest so undo restores byte for
/// byte), writes atomically, then runs commands and systemd steps. Commands run only when
/// <c>runCommands</c> is set: the CLI sets it only for the live root.
/// </summary>
public sealed class SetupApplier
{
    // The manifest's serializer is generated at build time (no reflection in the native binary); same options as before.
    private static readonly BackupManifestJsonContext Json = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    });

    private readonly HostRoot _root;
    private readonly IProcessRunner _runner;
    private readonly ISystemdManager? _systemd;
    private readonly bool _runCommands;
    private readonly TimeProvider _clock;

    public SetupApplier(HostRoot root, IProcessRunner runner, ISystemdManager? systemd, bool runCommands, TimeProvider? clock = null)
    {
        _root = root;
        _runner = runner;
        _systemd = systemd;
        _runCommands = runCommands;
        _clock = clock ?? TimeProvider.System;
    }

    public const string BackupsDirectory = "/var/lib/passthrough/backups";

    /// <summary>Shows the long commands (initramfs and bootloader rebuilds) while they run.</summary>
    public IStepProgress Progress { get; init; } = StepProgress.None;

    public async Task<SetupOutcome> ApplyAsync(SetupPlan plan, CancellationToken cancellationToken = default)
    {
        foreach (var edit in plan.Edits)
        {
            var current = ReadOrNull(edit.Path);
            if (!string.Equals(current is null ? null : SetupPlan.Sha256(current), edit.BeforeSha256, StringComparison.Ordinal))
            {
                throw PassthroughException.Failure(
                    $"{edit.Path} changed since the plan was made (its SHA-256 is no longer {edit.BeforeSha256 ?? "that of a missing file"}); nothing was written.",
                    "Run `passthrough setup plan` again and review the new plan.");
            }
        }

        if (plan.IsEmpty)
        {
            return new SetupOutcome(null, [], [], [], [], false);
        }

        var timestamp = NewTimestamp();
        var backupDir = _root.Path($"{BackupsDirectory}/{timestamp}");
        Directory.CreateDirectory(backupDir);
        var entries = new List<BackupEntry>();
        foreach (var path in plan.Edits.Select(e => e.Path).Concat(plan.CommandTouchedFiles).Distinct(StringComparer.Ordinal))
        {
            var existed = File.Exists(_root.Path(path));
            if (existed)
            {
                var copy = BackupCopyPath(backupDir, path);
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(_root.Path(path), copy, overwrite: true);
            }

            var edit = plan.Edits.FirstOrDefault(e => e.Path == path);
            entries.Add(new BackupEntry(path, existed, existed ? Hash(_root.Path(path)) : null, edit?.AfterSha256));
        }

        var manifest = new BackupManifest
        {
            Timestamp = timestamp,
            Mode = plan.Mode.ToString(),
            Files = entries,
            UnitsEnabled = plan.UnitsToEnable,
            Regeneration = [.. plan.RegenerationCommands.Select(c => new SavedCommand(c.Program, c.Arguments))],
            Undo = [.. plan.UndoCommands.Select(c => new SavedCommand(c.Program, c.Arguments))],
        };
        WriteManifest(backupDir, manifest);

        var written = new List<string>();
        foreach (var edit in plan.Edits)
        {
            AtomicFile.WriteText(_root.Path(edit.Path), edit.After);
            written.Add(edit.Path);
        }

        var systemdSteps = await SystemdAsync(plan.DaemonReload, plan.UnitsToEnable, cancellationToken).ConfigureAwait(false);
        var (ran, notRun) = await RunAsync(plan.Commands, $"The files were written (backup {timestamp}); fix the cause and run the command again, or `passthrough setup undo {timestamp}`.", cancellationToken).ConfigureAwait(false);
        return new SetupOutcome(timestamp, written, ran, notRun, systemdSteps, plan.RebootNeeded);
    }

    /// <summary>Restores the files of one apply (the latest not yet undone when no timestamp is given).</summary>
    public Task<SetupOutcome> UndoAsync(string? timestamp, CancellationToken cancellationToken = default) =>
        CarryOutAsync(PreviewUndo(FindBackup(timestamp).Manifest), cancellationToken);

    /// <summary>
    /// What undoing <paramref name="manifest"/> would do, without changing anything. Fails, as the undo
    /// itself would, when a file changed after that apply (undo would lose those changes).
    /// </summary>
    public UndoPreview PreviewUndo(BackupManifest manifest)
    {
        var dir = _root.Path($"{BackupsDirectory}/{manifest.Timestamp}");
        foreach (var entry in manifest.Files.Where(e => e.Sha256After is not null))
        {
            var path = _root.Path(entry.Path);
            var now = File.Exists(path) ? Hash(path) : null;
            if (!string.Equals(now, entry.Sha256After, StringComparison.Ordinal))
            {
                throw PassthroughException.Failure(
                    $"{entry.Path} changed after `setup apply` {manifest.Timestamp}; undo would lose those changes, so nothing was restored.",
                    $"Compare it with {BackupCopyPath(dir, entry.Path)} and restore by hand.");
            }
        }

        // What `systemctl disable` removes for WantedBy=multi-user.target.
        var links = manifest.UnitsEnabled
            .Select(unit => $"/etc/systemd/system/multi-user.target.wants/{unit}")
            .Where(link => File.Exists(_root.Path(link)) || new FileInfo(_root.Path(link)).LinkTarget is not null)
            .ToList();
        var files = new List<UndoFile>();
        foreach (var entry in manifest.Files)
        {
            var path = _root.Path(entry.Path);
            var current = File.Exists(path) ? File.ReadAllText(path) : null;
            if (entry.Existed)
            {
                files.Add(new UndoFile(entry.Path, current ?? string.Empty, File.ReadAllText(BackupCopyPath(dir, entry.Path))));
            }
            else if (current is not null)
            {
                files.Add(new UndoFile(entry.Path, current, string.Empty));
            }
        }

        var daemonReload = manifest.Files.Any(f => f.Path.StartsWith("/etc/systemd/system/", StringComparison.Ordinal));
        var commands = manifest.Undo.Select(c => c.ToPlanned("undo")).Concat(manifest.Regeneration.Select(c => c.ToPlanned("regenerate"))).ToList();
        return new UndoPreview(manifest, files, links, daemonReload, commands);
    }

    /// <summary>Carries out a preview made by <see cref="PreviewUndo"/>.</summary>
    public async Task<SetupOutcome> CarryOutAsync(UndoPreview preview, CancellationToken cancellationToken = default)
    {
        var manifest = preview.Manifest;
        var dir = _root.Path($"{BackupsDirectory}/{manifest.Timestamp}");
        var restored = new List<string>();
        foreach (var link in preview.UnitLinks)
        {
            File.Delete(_root.Path(link));
            restored.Add(link);
        }

        foreach (var entry in manifest.Files)
        {
            var path = _root.Path(entry.Path);
            if (entry.Existed)
            {
                var copy = BackupCopyPath(dir, entry.Path);
                AtomicFile.Write(path, File.ReadAllBytes(copy), mode: File.GetUnixFileMode(copy));
                restored.Add(entry.Path);
            }
            else if (File.Exists(path))
            {
                File.Delete(path);
                restored.Add(entry.Path);
            }
        }

        WriteManifest(dir, manifest with { Undone = true });
        var systemdSteps = await SystemdAsync(preview.DaemonReload, [], cancellationToken).ConfigureAwait(false);
        var (ran, notRun) = await RunAsync(preview.Commands, "The files were restored; fix the cause and run the command again.", cancellationToken).ConfigureAwait(false);
        return new SetupOutcome(manifest.Timestamp, restored, ran, notRun, systemdSteps, manifest.Files.Count > 0);
    }

    /// <summary>Backups under the root, oldest first.</summary>
    public IReadOnlyList<BackupManifest> Backups()
    {
        var dir = _root.Path(BackupsDirectory);
        if (!Directory.Exists(dir))
        {
            return [];
        }

        return [.. Directory.EnumerateDirectories(dir)
            .Select(d => ReadManifest(Path.Join(d, "manifest.json")))
            .OfType<BackupManifest>()
            .OrderBy(m => m.Timestamp, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The apply `setup undo` takes back: the one named (an error when there is no such backup; it may be
    /// undone already), else the latest not yet undone, or null when every apply was undone.
    /// </summary>
    public BackupManifest? UndoTarget(string? timestamp) =>
        timestamp is null && !Backups().Any(b => !b.Undone) ? null : FindBackup(timestamp).Manifest;

    private (string Dir, BackupManifest Manifest) FindBackup(string? timestamp)
    {
        var backups = Backups();
        var manifest = timestamp is null
            ? backups.LastOrDefault(b => !b.Undone)
            : backups.FirstOrDefault(b => b.Timestamp == timestamp);
        if (manifest is null)
        {
            throw PassthroughException.Input(
                timestamp is null
                    ? $"No `setup apply` to undo: {_root.Path(BackupsDirectory)} has no backup that was not undone."
                    : $"No backup {timestamp} in {_root.Path(BackupsDirectory)}.",
                backups.Count == 0 ? "Nothing was applied on this root." : $"Backups: {string.Join(", ", backups.Select(b => b.Timestamp + (b.Undone ? " (undone)" : string.Empty)))}.");
        }

        return (_root.Path($"{BackupsDirectory}/{manifest.Timestamp}"), manifest);
    }

    private async Task<IReadOnlyList<string>> SystemdAsync(bool reload, IReadOnlyList<string> enable, CancellationToken cancellationToken)
    {
        var steps = new List<string>();
        if (reload)
        {
            steps.Add("daemon-reload");
        }

        steps.AddRange(enable.Select(u => "enable " + u));
        if (steps.Count == 0)
        {
            return steps;
        }

        // A systemd client given explicitly is used even when commands are not run: the caller chose its bus.
        if (_systemd is not null)
        {
            if (reload)
            {
                await _systemd.ReloadAsync(cancellationToken).ConfigureAwait(false);
            }

            if (enable.Count > 0)
            {
                await _systemd.EnableUnitFilesAsync(enable, cancellationToken).ConfigureAwait(false);
                await _systemd.ReloadAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        else if (_runCommands)
        {
            if (reload)
            {
                (await _runner.RunAsync("systemctl", ["daemon-reload"], cancellationToken: cancellationToken).ConfigureAwait(false)).EnsureSuccess();
            }

            foreach (var unit in enable)
            {
                (await _runner.RunAsync("systemctl", ["enable", unit], cancellationToken: cancellationToken).ConfigureAwait(false)).EnsureSuccess();
            }
        }

        return steps;
    }

    private async Task<(List<string> Ran, List<string> NotRun)> RunAsync(IEnumerable<PlannedCommand> commands, string remedy, CancellationToken cancellationToken)
    {
        var ran = new List<string>();
        var notRun = new List<string>();
        foreach (var command in commands)
        {
            if (!_runCommands)
            {
                notRun.Add(command.Display);
                continue;
            }

            // Rebuilding every initramfs takes minutes on a desktop with several kernels.
            var options = new ProcessOptions().WithTimeout(TimeSpan.FromMinutes(15));
            var result = await Progress.RunAsync($"Running {command.Display}", () => _runner.RunAsync(command.Program, command.Arguments, options, cancellationToken)).ConfigureAwait(false);
            result.EnsureSuccess(remedy);
            ran.Add(command.Display);
        }

        return (ran, notRun);
    }

    private string NewTimestamp()
    {
        var now = _clock.GetUtcNow();
        var stamp = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var candidate = stamp;
        for (var n = 2; Directory.Exists(_root.Path($"{BackupsDirectory}/{candidate}")); n++)
        {
            candidate = $"{stamp}-{n}";
        }

        return candidate;
    }

    private static string BackupCopyPath(string backupDir, string hostPath) => Path.Join(backupDir, "files", hostPath);

    private string? ReadOrNull(string hostPath)
    {
        var path = _root.Path(hostPath);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    private static string Hash(string path) => SetupPlan.Sha256(File.ReadAllText(path));

    private static void WriteManifest(string dir, BackupManifest manifest) =>
        AtomicFile.WriteText(Path.Join(dir, "manifest.json"), JsonSerializer.Serialize(manifest, Json.BackupManifest) + "\n");

    private static BackupManifest? ReadManifest(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), Json.BackupManifest) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The backup manifest's JSON, generated at build time.</summary>
[JsonSerializable(typeof(BackupManifest))]
internal sealed partial class BackupManifestJsonContext : JsonSerializerContext;
