using System.Security.Cryptography;
using System.Text;
using Passthrough.Boot;
using Passthrough.Domain;
using Passthrough.Shell;

namespace Passthrough.Setup;

/// <summary>One file the plan writes: its content before (null when it does not exist yet) and after.</summary>
public sealed record FileEdit(string Path, string? Before, string After, string Reason)
{
    public bool IsNew => Before is null;

    /// <summary>SHA-256 of the content the plan was made against: apply refuses when the file no longer has it.</summary>
    public string? BeforeSha256 => Before is null ? null : SetupPlan.Sha256(Before);

    public string AfterSha256 => SetupPlan.Sha256(After);
}

/// <summary>A program the plan runs, with its arguments as a list (never a shell string).</summary>
public sealed record PlannedCommand(string Program, IReadOnlyList<string> Arguments, string Reason)
{
    public string Display => ShellWords.CommandLine(Program, Arguments);
}

/// <summary>An argument already on the command line that the plan reports and never adds.</summary>
public sealed record FlaggedArgument(string Argument, string Where, string Reason);

/// <summary>
/// What `setup` will do, computed purely from the host's files and inventory: file edits with
/// their before-hashes, commands (in order), systemd steps, and whether a reboot is needed.
/// </summary>
public sealed record SetupPlan
{
    public required PassthroughMode Mode { get; init; }

    public required BootSetup Boot { get; init; }

    /// <summary>The devices the plan is for ("0000:03:00.0 [1002:744c]").</summary>
    public IReadOnlyList<string> Devices { get; init; } = [];

    /// <summary>Kernel arguments the plan adds and removes, as written.</summary>
    public IReadOnlyList<string> ArgumentsAdded { get; init; } = [];

    public IReadOnlyList<string> ArgumentsRemoved { get; init; } = [];

    public IReadOnlyList<FileEdit> Edits { get; init; } = [];

    /// <summary>Commands that change kernel arguments owned by a tool (grubby, rpm-ostree, kernelstub).</summary>
    public IReadOnlyList<PlannedCommand> ArgumentCommands { get; init; } = [];

    /// <summary>Commands that rebuild generated files from the edited ones (grub.cfg, initramfs); undo runs them again.</summary>
    public IReadOnlyList<PlannedCommand> RegenerationCommands { get; init; } = [];

    /// <summary>What undo runs to take back <see cref="ArgumentCommands"/> whose effect is not in a file we back up.</summary>
    public IReadOnlyList<PlannedCommand> UndoCommands { get; init; } = [];

    /// <summary>Files the commands change (BLS entries under grubby): backed up before, restored by undo.</summary>
    public IReadOnlyList<string> CommandTouchedFiles { get; init; } = [];

    /// <summary>systemd daemon-reload after unit files change.</summary>
    public bool DaemonReload { get; init; }

    /// <summary>Unit files to enable (EnableUnitFiles), by name.</summary>
    public IReadOnlyList<string> UnitsToEnable { get; init; } = [];

    public bool RebootNeeded { get; init; }

    public IReadOnlyList<FlaggedArgument> Flagged { get; init; } = [];

    /// <summary>Facts and advice the user should read (contradictions found, what was skipped and why).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    public IEnumerable<PlannedCommand> Commands => ArgumentCommands.Concat(RegenerationCommands);

    /// <summary>Nothing to write, run or enable: the host is already set up.</summary>
    public bool IsEmpty => Edits.Count == 0 && ArgumentCommands.Count == 0 && RegenerationCommands.Count == 0 && UnitsToEnable.Count == 0 && !DaemonReload;

    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
