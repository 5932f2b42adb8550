using Passthrough.Adapters.Processes;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Shell;

namespace Passthrough.Adapters.Libvirt;

/// <summary>What <see cref="DiskImageCreator.CreateAsync"/> did.</summary>
public enum DiskImageOutcome
{
    /// <summary>qemu-img created a new image.</summary>
    Created,

    /// <summary>Something was already at the path; it was left exactly as it was.</summary>
    AlreadyThere,
}

/// <summary>
/// Creates a VM's disk image with `qemu-img create -f FORMAT PATH SIZE`, never over an existing
/// file: qemu-img itself would truncate it, and a user re-running `new` expects their installed
/// guest to survive.
/// </summary>
public sealed class DiskImageCreator
{
    private readonly IProcessRunner _runner;
    private readonly TimeSpan _timeout;

    public DiskImageCreator(IProcessRunner runner, TimeSpan? timeout = null)
    {
        _runner = runner;
        _timeout = timeout ?? TimeSpan.FromMinutes(2);
    }

    /// <summary>The qemu-img arguments (an argument list, never a shell string).</summary>
    public static IReadOnlyList<string> Arguments(string path, string format, DiskSize size) =>
        ["create", "-f", format, path, size.QemuImgArgument];

    /// <summary>The command as a user would type it.</summary>
    public static string CommandLine(string path, string format, DiskSize size) =>
        ShellWords.CommandLine("qemu-img", Arguments(path, format, size));

    /// <summary>True when a file, a block device, a directory or a (dangling) link is at the path.</summary>
    public static bool Exists(string path) =>
        File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;

    public async Task<DiskImageOutcome> CreateAsync(string path, string format, DiskSize size, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(path))
        {
            throw PassthroughException.Input($"--disk {path}: that is a directory.", "Give the path of an image file, e.g. /var/lib/libvirt/images/NAME.qcow2.");
        }

        if (Exists(path))
        {
            return DiskImageOutcome.AlreadyThere;
        }

        var directory = Path.GetDirectoryName(path) ?? "/";
        if (!Directory.Exists(directory))
        {
            throw PassthroughException.Input(
                $"--disk {path}: the directory {directory} does not exist.",
                $"Create it (mkdir -p {directory}) or give another path; libvirt's default pool is /var/lib/libvirt/images.");
        }

        var command = CommandLine(path, format, size);
        ProcessResult run;
        try
        {
            run = await _runner.RunAsync("qemu-img", Arguments(path, format, size), new ProcessOptions { Timeout = _timeout }, cancellationToken).ConfigureAwait(false);
        }
        catch (PassthroughException e) when (e.Kind == FailureKind.Environment)
        {
            throw PassthroughException.Host(
                $"Cannot create the disk: `qemu-img` could not be started (not installed, or not on PATH).",
                $"Install it (Fedora: dnf install qemu-img; Debian, Ubuntu: apt install qemu-utils), or add --no-create and run `{command}` yourself.",
                e);
        }

        if (!run.Succeeded)
        {
            RemoveLeftover(path);
            throw PassthroughException.Host(
                run.TimedOut
                    ? $"`{command}` did not finish in {_timeout.TotalSeconds:0} s; the disk was not created."
                    : $"`{command}` failed (exit {run.ExitCode}): {FirstLine(run.Stderr.Length > 0 ? run.Stderr : run.Stdout)}",
                "Fix what qemu-img says (free space, permissions, path), or create the disk yourself and run again: an existing disk is used as it is.");
        }

        return DiskImageOutcome.Created;
    }

    /// <summary>A failed or killed qemu-img may leave a partial image; it was not there before, so it goes.</summary>
    private static void RemoveLeftover(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing to remove, or not ours to remove: the error above says what failed.
        }
    }

    private static string FirstLine(string text)
    {
        var trimmed = text.Trim();
        var newline = trimmed.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? trimmed : trimmed[..newline];
    }
}
