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

/// <summary>The outcome of `hooks install`.</summary>
public sealed record HookInstallResult(string Target, string Binary, string? BackedUp, string? Replaced, bool Updated);

/// <summary>The outcome of `hooks uninstall`.</summary>
public sealed record HookUninstallResult(string Target, string Outcome, bool Changed);

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
    public HookInstallResult Install(string binary)
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
        string? backedUp = null;
        string? replaced = null;
        var updated = false;
        if (!File.Exists(RecordPath))
        {
            var created = new[] { HooksDirectory, QemuDirectory }.Where(d => !Directory.Exists(_root.Path(d))).ToList();
            var record = new HookInstallRecord { Previous = "absent", CreatedDirectories = created, InstalledAt = DateTimeOffset.UtcNow };
            if (existing.IsSymlink)
            {
                record = record with { Previous = "symlink", LinkTarget = new FileInfo(target).LinkTarget };
                replaced = $"a symlink to {record.LinkTarget}";
            }
            else if (existing.Exists && !existing.IsOurs)
            {
                AtomicFile.Write(BackupPath, File.ReadAllBytes(target), mode: UnixFileMode.UserRead | UnixFileMode.UserWrite);
                record = record with { Previous = "file", Backup = BackupDirectory + "/" + HookScript.FileName, Mode = (int)File.GetUnixFileMode(target) };
                backedUp = BackupPath;
                replaced = "a script that was not ours";
            }

            // The record is written before the hook: a crash in between still lets uninstall restore.
            AtomicFile.WriteText(RecordPath, JsonSerializer.Serialize(record, Json.HookInstallRecord), mode: UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        else
        {
            updated = existing.IsOurs;
            if (existing.Exists && !existing.IsOurs)
            {
                throw PassthroughException.Host(
                    $"{target} was replaced by something that is not Passthrough's hook since Passthrough was installed.",
                    $"Move it away (its original is kept in {BackupPath} if there was one), then install again.");
            }
        }

        if (new FileInfo(target).LinkTarget is not null)
        {
            // Recorded above; the hook must be a regular file, not written through someone's link.
            File.Delete(target);
        }

        AtomicFile.WriteText(target, script, mode: Executable);
        return new HookInstallResult(target, binary, backedUp, replaced, updated);
    }

    /// <summary>Removes our hook and puts back exactly what the first install found.</summary>
    public HookUninstallResult Uninstall()
    {
        var target = Target;
        var existing = Describe(target);
        if (existing.Exists && !existing.IsOurs)
        {
            return new HookUninstallResult(target, "not Passthrough's hook: left alone", Changed: false);
        }

        if (!File.Exists(RecordPath))
        {
            if (!existing.Exists)
            {
                return new HookUninstallResult(target, "not installed", Changed: false);
            }

            File.Delete(target);
            return new HookUninstallResult(target, "removed (no record of an earlier file)", Changed: true);
        }

        var record = ReadRecord();
        string outcome;
        switch (record.Previous)
        {
            case "file":
                var backup = _root.Path(record.Backup ?? BackupDirectory + "/" + HookScript.FileName);
                AtomicFile.Write(target, File.ReadAllBytes(backup), mode: (UnixFileMode)(record.Mode ?? (int)Executable));
                File.Delete(backup);
                outcome = "restored the script that was there before";
                break;
            case "symlink":
                if (existing.Exists || existing.IsSymlink)
                {
                    File.Delete(target);
                }

                File.CreateSymbolicLink(target, record.LinkTarget ?? throw PassthroughException.Failure($"{RecordPath} lacks the symlink's target."));
                outcome = $"restored the symlink to {record.LinkTarget}";
                break;
            default:
                if (existing.Exists)
                {
                    File.Delete(target);
                }

                outcome = "removed";
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
        return new HookUninstallResult(target, outcome, Changed: true);
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
