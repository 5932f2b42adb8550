using System.Text.Json;
using System.Text.Json.Serialization;
using Passthrough.Adapters.Files;
using Passthrough.Errors;

namespace Passthrough.Adapters.Hooks;

/// <summary>What was at the hook's path before the first install, so uninstall can put it back.</summary>
public sealed record HookInstallRecord
{
    /// <summary>"absent", "file" or "symlink".</summary>
    public required string Previous { get; init; }

    /// <summary>Host path of the copy of a previous regular file.</summary>
    public string? Backup { get; init; }

    /// <summary>Mode of a previous regular file (octal digits as a number, e.g. 493 = 0755).</summary>
    public int? Mode { get; init; }

    /// <summary>Where a previous symlink pointed.</summary>
    public string? LinkTarget { get; init; }

    /// <summary>Host paths of directories the install created, parents first.</summary>
    public IReadOnlyList<string> CreatedDirectories { get; init; } = [];

    public DateTimeOffset InstalledAt { get; init; }
}

/// <summary>The outcome of `hooks install`; not <see cref="Changed"/> when the same hook was there already.</summary>
public sealed record HookInstallResult(string Target, string Binary, string? BackedUp, string? Replaced, bool Updated)
{
    public bool Changed { get; init; } = true;
}

/// <summary>
/// What `hooks install` will do, decided before anything is written: the script, the text at the hook's
/// path now ("" when there is none or a symlink), and what it replaces. Not <see cref="Changed"/> when
/// the same script is installed already (rewriting it would only make libvirt look as if it had not
/// noticed the hook).
/// </summary>
public sealed record HookInstallPlan(string Target, string Binary, string Script, string Before, bool Changed, bool FirstInstall, string? Replaced, bool Updated);

/// <summary>The outcome of `hooks uninstall`.</summary>
public sealed record HookUninstallResult(string Target, string Outcome, bool Changed);

/// <summary>What `hooks uninstall` will do: the hook's text now and what is there after ("" for nothing or a symlink).</summary>
public sealed record HookUninstallPlan(string Target, string Outcome, bool Changed, string Before, string After)
{
    internal HookInstallRecord? Record { get; init; }
}

/// <summary>What `hooks status` finds at the hook's path.</summary>
public sealed record HookFileState(
    string Target,
    bool Exists,
    bool IsSymlink,
    bool IsOurs,
    bool IsExecutable,
    bool IsCurrent,
    string? Binary,
    bool BinaryRuns,
    DateTime? ModifiedUtc,
    bool LegacyQemuHook);

/// <summary>
/// Installs the qemu.d hook without touching anything else: never /etc/libvirt/hooks/qemu (libvirt
/// runs both), never another script. What the first install replaces is kept under
/// ROOT/var/lib/passthrough/backups/hooks/ with a record, and uninstall puts exactly that back.
/// </summary>
public sealed class HookInstaller
{
    public const string HooksDirectory = "/etc/libvirt/hooks";
    public const string QemuDirectory = "/etc/libvirt/hooks/qemu.d";
    public const string HookPath = "/etc/libvirt/hooks/qemu.d/" + HookScript.FileName;
    public const string LegacyQemuHook = "/etc/libvirt/hooks/qemu";
    public const string BackupDirectory = "/var/lib/passthrough/backups/hooks";

    private const UnixFileMode Executable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    // The record's serializer is generated at build time (no reflection in the native binary); same options as before.
    private static readonly HookRecordJsonContext Json = new(new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });

    private readonly HostRoot _root;

    public HookInstaller(HostRoot root)
    {
        _root = root;
    }

    public string Target => _root.Path(HookPath);

    private string RecordPath => _root.Path(BackupDirectory + "/install.json");

    private string BackupPath => _root.Path(BackupDirectory + "/" + HookScript.FileName);

    /// <summary>Installs (or updates) the hook calling <paramref name="binary"/>.</summary>
    public HookInstallResult Install(string binary) => Install(PlanInstall(binary));

    /// <summary>What installing the hook calling <paramref name="binary"/> would do; fails as the install would.</summary>
    public HookInstallPlan PlanInstall(string binary)
    {
        var script = HookScript.Render(binary);
        var target = Target;
        if (Directory.Exists(target))
        {
            throw PassthroughException.Host(
                $"{target} is a directory; the hook must be a file there.",
                "Move that directory away, then run `passthrough hooks install` again.");
        }

        var existing = Describe(target);
        var before = existing.Exists && !existing.IsSymlink ? File.ReadAllText(target) : string.Empty;
        var first = !File.Exists(RecordPath);
        if (!first && existing.Exists && !existing.IsOurs)
        {
            throw PassthroughException.Host(
                $"{target} was replaced by something that is not Passthrough's hook since Passthrough was installed.",
                $"Move it away (its original is kept in {BackupPath} if there was one), then install again.");
        }

        var replaced = !first ? null
            : existing.IsSymlink ? $"a symlink to {new FileInfo(target).LinkTarget}"
            : existing.Exists && !existing.IsOurs ? "a script that was not ours"
            : null;
        var same = existing.IsOurs && before == script && File.GetUnixFileMode(target) == Executable;
        return new HookInstallPlan(target, binary, script, before, !same, first, replaced, Updated: !first && existing.IsOurs);
    }

    /// <summary>Carries out <paramref name="plan"/> (from <see cref="PlanInstall"/>); nothing when it changes nothing.</summary>
    public HookInstallResult Install(HookInstallPlan plan)
    {
        var target = plan.Target;
        if (!plan.Changed)
        {
            return new HookInstallResult(target, plan.Binary, null, null, Updated: false) { Changed = false };
        }

        var existing = Describe(target);
        string? backedUp = null;
        if (plan.FirstInstall)
        {
            var created = new[] { HooksDirectory, QemuDirectory }.Where(d => !Directory.Exists(_root.Path(d))).ToList();
            var record = new HookInstallRecord { Previous = "absent", CreatedDirectories = created, InstalledAt = DateTimeOffset.UtcNow };
            if (existing.IsSymlink)
            {
                record = record with { Previous = "symlink", LinkTarget = new FileInfo(target).LinkTarget };
            }
            else if (existing.Exists && !existing.IsOurs)
            {
                AtomicFile.Write(BackupPath, File.ReadAllBytes(target), mode: UnixFileMode.UserRead | UnixFileMode.UserWrite);
                record = record with { Previous = "file", Backup = BackupDirectory + "/" + HookScript.FileName, Mode = (int)File.GetUnixFileMode(target) };
                backedUp = BackupPath;
            }

            // The record is written before the hook: a crash in between still lets uninstall restore.
            AtomicFile.WriteText(RecordPath, JsonSerializer.Serialize(record, Json.HookInstallRecord), mode: UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        if (new FileInfo(target).LinkTarget is not null)
        {
            // Recorded above; the hook must be a regular file, not written through someone's link.
            File.Delete(target);
        }

        AtomicFile.WriteText(target, plan.Script, mode: Executable);
        return new HookInstallResult(target, plan.Binary, backedUp, plan.Replaced, plan.Updated);
    }

    /// <summary>What `hooks uninstall` would do, without changing anything.</summary>
    public HookUninstallPlan PlanUninstall()
    {
        var target = Target;
        var existing = Describe(target);
        var before = existing.Exists && !existing.IsSymlink ? File.ReadAllText(target) : string.Empty;
        if (existing.Exists && !existing.IsOurs)
        {
            return new HookUninstallPlan(target, "not Passthrough's hook: left alone", false, before, before);
        }

        if (!File.Exists(RecordPath))
        {
            return existing.Exists
                ? new HookUninstallPlan(target, "removed (no record of an earlier file)", true, before, string.Empty)
                : new HookUninstallPlan(target, "not installed", false, before, before);
        }

        var record = ReadRecord();
        return record.Previous switch
        {
            "file" => new HookUninstallPlan(target, "restored the script that was there before", true, before, File.ReadAllText(_root.Path(record.Backup ?? BackupDirectory + "/" + HookScript.FileName))) { Record = record },
            "symlink" => new HookUninstallPlan(target, $"restored the symlink to {record.LinkTarget}", true, before, string.Empty) { Record = record },
            _ => new HookUninstallPlan(target, "removed", true, before, string.Empty) { Record = record },
        };
    }

    /// <summary>Removes our hook and puts back exactly what the first install found.</summary>
    public HookUninstallResult Uninstall() => Uninstall(PlanUninstall());

    /// <summary>Carries out <paramref name="plan"/> (from <see cref="PlanUninstall"/>).</summary>
    public HookUninstallResult Uninstall(HookUninstallPlan plan)
    {
        var target = plan.Target;
        if (!plan.Changed)
        {
            return new HookUninstallResult(target, plan.Outcome, Changed: false);
        }

        var existing = Describe(target);
        if (plan.Record is not { } record)
        {
            File.Delete(target);
            return new HookUninstallResult(target, plan.Outcome, Changed: true);
        }

        switch (record.Previous)
        {
            case "file":
                var backup = _root.Path(record.Backup ?? BackupDirectory + "/" + HookScript.FileName);
                AtomicFile.Write(target, File.ReadAllBytes(backup), mode: (UnixFileMode)(record.Mode ?? (int)Executable));
                File.Delete(backup);
                break;
            case "symlink":
                if (existing.Exists || existing.IsSymlink)
                {
                    File.Delete(target);
                }

                File.CreateSymbolicLink(target, record.LinkTarget ?? throw PassthroughException.Failure($"{RecordPath} lacks the symlink's target."));
                break;
            default:
                if (existing.Exists)
                {
                    File.Delete(target);
                }

                foreach (var directory in record.CreatedDirectories.Reverse())
                {
                    var path = _root.Path(directory);
                    if (Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any())
                    {
                        Directory.Delete(path);
                    }
                }

                break;
        }

        File.Delete(RecordPath);
        return new HookUninstallResult(target, plan.Outcome, Changed: true);
    }

    /// <summary>What is at the hook's path now.</summary>
    public HookFileState Inspect() => Describe(Target);

    private HookFileState Describe(string target)
    {
        var info = new FileInfo(target);
        var isSymlink = info.LinkTarget is not null;
        var legacy = File.Exists(_root.Path(LegacyQemuHook));
        if (isSymlink)
        {
            // Ours is always a regular file; a link (even a dangling one) is someone else's.
            return new HookFileState(target, true, true, false, false, false, null, false, null, legacy);
        }

        if (!File.Exists(target))
        {
            return new HookFileState(target, false, false, false, false, false, null, false, null, legacy);
        }

        var text = File.ReadAllText(target);
        var ours = HookScript.IsOurs(text);
        var mode = File.GetUnixFileMode(target);
        // libvirt's daemon runs hooks as root: the owner's execute bit is what counts (virFileIsExecutable).
        var executable = (mode & UnixFileMode.UserExecute) != 0;
        var binary = ours ? HookScript.BinaryOf(text) : null;
        var current = binary is not null && Path.IsPathRooted(binary) && text == HookScript.Render(binary);
        var binaryRuns = binary is not null && Path.IsPathRooted(binary) && File.Exists(_root.Path(binary))
            && (File.GetUnixFileMode(_root.Path(binary)) & UnixFileMode.UserExecute) != 0;
        return new HookFileState(target, true, false, ours, executable, current, binary, binaryRuns, info.LastWriteTimeUtc, legacy);
    }

    private HookInstallRecord ReadRecord()
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(RecordPath), Json.HookInstallRecord)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw PassthroughException.Host(
                $"{RecordPath} is damaged ({e.Message}); it records what the hook replaced.",
                "Restore it from a backup, or remove it and delete the hook by hand.",
                e);
        }
    }
}

/// <summary>The install record's JSON, generated at build time.</summary>
[JsonSerializable(typeof(HookInstallRecord))]
internal sealed partial class HookRecordJsonContext : JsonSerializerContext;
