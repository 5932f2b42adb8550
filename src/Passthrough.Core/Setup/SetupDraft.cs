using Passthrough.Boot;

namespace Passthrough.Setup;

/// <summary>A setup plan while it is drawn: each concern's planner adds its file edits, commands and notes
/// here, in the order the plan shows them.</summary>
internal sealed class SetupDraft(BootFiles files)
{
    public BootFiles Files { get; } = files;

    public List<FileEdit> Edits { get; } = [];

    /// <summary>Commands that change the kernel arguments (grubby, rpm-ostree, kernelstub).</summary>
    public List<PlannedCommand> ArgumentCommands { get; } = [];

    /// <summary>Commands that carry the edits into what boots (initramfs, grub.cfg, images, ESPs).</summary>
    public List<PlannedCommand> Regeneration { get; } = [];

    public List<PlannedCommand> Undo { get; } = [];

    /// <summary>Files the argument commands change, backed up before they run.</summary>
    public List<string> Touched { get; } = [];

    public List<string> Units { get; } = [];

    public List<string> Notes { get; } = [];

    /// <summary>Adds an edit that writes <paramref name="content"/> to <paramref name="path"/> unless it is already there.</summary>
    public bool AddIfChanged(string path, string content, string reason)
    {
        var before = Files.Read(path);
        if (string.Equals(before, content, StringComparison.Ordinal))
        {
            return false;
        }

        Edits.Add(new FileEdit(path, before, content, reason));
        return true;
    }
}
