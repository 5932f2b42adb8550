using System.Text;
using Passthrough.Errors;
using Passthrough.Shell;

namespace Passthrough.Adapters.Hooks;

/// <summary>
/// The qemu.d hook script (hooks/qemu.d/50-passthrough in the repository) with the absolute path of
/// the passthrough binary fixed in at install time, so libvirt's minimal PATH does not matter.
/// </summary>
public static class HookScript
{
    /// <summary>The file name under /etc/libvirt/hooks/qemu.d/ (libvirt runs them in alphabetical order).</summary>
    public const string FileName = "50-passthrough";

    /// <summary>A line only our script has: tells our file from a user's script of the same name.</summary>
    public const string Marker = "# passthrough-hook-format: ";

    private const string Placeholder = "@PASSTHROUGH@";
    private const string BinaryLinePrefix = "passthrough=";

    public static string Template { get; } = LoadTemplate();

    /// <summary>The script calling <paramref name="binary"/> (an absolute path).</summary>
    public static string Render(string binary)
    {
        if (!Path.IsPathRooted(binary))
        {
            throw PassthroughException.Input(
                $"--binary {binary}: the hook needs an absolute path (libvirt runs hooks with a minimal PATH).",
                "Give the full path, such as /usr/local/bin/passthrough.");
        }

        if (binary.Contains('\n', StringComparison.Ordinal) || binary.Contains('\0', StringComparison.Ordinal))
        {
            throw PassthroughException.Input($"--binary: a path with a newline cannot be used: {binary.ReplaceLineEndings(" ")}");
        }

        return Template.Replace(Placeholder, ShellWords.Quote(binary), StringComparison.Ordinal);
    }

    /// <summary>True when the text is a script we installed (any format version).</summary>
    public static bool IsOurs(string text) => text.Contains(Marker, StringComparison.Ordinal);

    /// <summary>The binary a rendered script calls, or null when the line is missing.</summary>
    public static string? BinaryOf(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(BinaryLinePrefix, StringComparison.Ordinal))
            {
                return ShellWords.Unquote(line[BinaryLinePrefix.Length..]);
            }
        }

        return null;
    }

    private static string LoadTemplate()
    {
        using var stream = typeof(HookScript).Assembly.GetManifestResourceStream("Passthrough.Hooks.50-passthrough")
            ?? throw new InvalidOperationException("the hook script resource is missing from the build");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
