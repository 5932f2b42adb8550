using System.Text;

namespace Passthrough.Shell;

/// <summary>
/// POSIX shell quoting, the one copy: for commands we show users, the hook script we write, and
/// the commands we type into virsh's shell (which splits words the way sh does for single quotes).
/// Inside single quotes nothing is special but the quote itself, which is written as '\''
/// (POSIX.1-2024, Shell Command Language 2.2.2).
/// </summary>
public static class ShellWords
{
    // Punctuation sh gives no meaning inside a word ('~' expands at a word's start, so it is quoted).
    private const string PlainPunctuation = "-_./:=,+@";

    /// <summary>Always single-quoted: safe wherever a shell word goes, even for the empty string.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Bare when nothing in it is special to the shell, single-quoted otherwise: what a user would type.</summary>
    public static string QuoteIfNeeded(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || PlainPunctuation.Contains(c, StringComparison.Ordinal))
            ? value
            : Quote(value);

    /// <summary>The command line a user could paste into a shell to run the same program with the same arguments.</summary>
    public static string CommandLine(string program, IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Select(QuoteIfNeeded).Prepend(QuoteIfNeeded(program)));

    /// <summary>
    /// The value of a word written by <see cref="Quote"/> or <see cref="QuoteIfNeeded"/> (single
    /// quotes and backslash escapes outside them); reads back what we wrote, not every shell word.
    /// </summary>
    public static string Unquote(string word)
    {
        var builder = new StringBuilder(word.Length);
        var inQuotes = false;
        for (var i = 0; i < word.Length; i++)
        {
            var c = word[i];
            if (c == '\'')
            {
                inQuotes = !inQuotes;
            }
            else if (c == '\\' && !inQuotes && i + 1 < word.Length)
            {
                builder.Append(word[++i]);
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
