using System.Globalization;
using Passthrough.Errors;

namespace Passthrough.Rom;

/// <summary>What is at the install path now.</summary>
public enum InstalledRom
{
    None,
    SameContent,
    DifferentContent,
}

/// <summary>What `rom install` does with the target.</summary>
public enum RomInstallAction
{
    /// <summary>The same bytes are there: nothing to write.</summary>
    AlreadyInstalled,

    /// <summary>Write the file (mode 0644); the old one, if any, is kept as NAME.bak.</summary>
    Write,
}

/// <summary>
/// The rules of `passthrough rom install`: a ROM with a header is refused (QEMU would not find the
/// image in it), the name is a plain file name, the directory absolute (the distribution's default
/// from <see cref="RomLocation"/> otherwise), and a different file of the same name is replaced only
/// with --force.
/// </summary>
public sealed record RomInstallPlan(string HostPath, RomInstallAction Action, bool KeepBackup)
{
    /// <summary>The host path the ROM goes to; checks name and directory (input errors otherwise).</summary>
    public static string TargetPath(string romPath, VbiosImage rom, RomLocation location, string? directory, string? name)
    {
        if (rom.HeaderBytes > 0)
        {
            throw PassthroughException.Input(
                string.Create(CultureInfo.InvariantCulture, $"{romPath} has a {rom.HeaderBytes}-byte header before the first image; QEMU would not find the ROM in it."),
                $"Remove it first: `passthrough rom fix {romPath} -o FIXED.rom`, then install FIXED.rom.");
        }

        var fileName = name ?? Path.GetFileName(romPath);
        if (fileName.Length == 0 || fileName.Contains('/', StringComparison.Ordinal) || fileName is "." or ".." || fileName.Contains('\'', StringComparison.Ordinal))
        {
            // A quote would break the <rom file='...'/> line printed for the user.
            throw PassthroughException.Input($"'{fileName}' cannot be a ROM file name.", "Give a plain file name with --name, such as rx7900xtx.rom.");
        }

        var hostDirectory = directory ?? location.Directory;
        if (!hostDirectory.StartsWith('/'))
        {
            throw PassthroughException.Input($"--dir {hostDirectory}: give an absolute directory.", "For example --dir /usr/share/qemu.");
        }

        return Path.Join(hostDirectory, fileName);
    }

    /// <summary>What to do at <paramref name="hostPath"/> given what is there.</summary>
    public static RomInstallPlan For(string hostPath, InstalledRom installed, bool force) => installed switch
    {
        InstalledRom.SameContent => new RomInstallPlan(hostPath, RomInstallAction.AlreadyInstalled, KeepBackup: false),
        InstalledRom.DifferentContent when !force => throw PassthroughException.Input(
            $"{hostPath} exists with different content.",
            "Choose another name with --name, or replace it with --force (the old file is kept as .bak)."),
        InstalledRom.DifferentContent => new RomInstallPlan(hostPath, RomInstallAction.Write, KeepBackup: true),
        _ => new RomInstallPlan(hostPath, RomInstallAction.Write, KeepBackup: false),
    };
}
