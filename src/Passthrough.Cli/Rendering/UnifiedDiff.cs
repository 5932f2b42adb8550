using System.Globalization;
using System.Text;
using DiffPlex;
using DiffPlex.Model;

namespace Passthrough.Cli.Rendering;

/// <summary>Unified diffs (as `diff -u` prints them) of two texts, computed with DiffPlex's line diff.</summary>
internal static class UnifiedDiff
{
    private const int DefaultContext = 3;

    /// <summary>A diff between two named texts; empty when they are equal.</summary>
    public static string Create(string oldText, string newText, string oldName, string newName, int context = DefaultContext)
    {
        if (oldText == newText)
        {
            return string.Empty;
        }

        var diff = new Differ().CreateLineDiffs(oldText, newText, ignoreWhitespace: false);
        var sb = new StringBuilder();
        sb.Append("--- ").Append(oldName).Append('\n');
        sb.Append("+++ ").Append(newName).Append('\n');
        AppendHunks(sb, diff.PiecesOld, diff.PiecesNew, diff.DiffBlocks, context);
        return sb.ToString();
    }

    /// <summary>A diff of a host file as a plan changes it (`a/PATH`, `b/PATH`; /dev/null for a new file).</summary>
    public static string Render(string path, string? before, string after)
    {
        var a = Lines(before ?? string.Empty);
        var b = Lines(after);
        var sb = new StringBuilder();
        sb.Append("--- ").Append(before is null ? "/dev/null" : "a" + path).Append('\n');
        sb.Append("+++ b").Append(path).Append('\n');
        if (a.Count == 0 && b.Count == 0)
        {
            return sb.ToString();
        }

        var blocks = a.Count == 0
            ? [new DiffBlock(0, 0, 0, b.Count)]
            : new Differ().CreateLineDiffs(string.Join('\n', a), string.Join('\n', b), ignoreWhitespace: false).DiffBlocks;
        AppendHunks(sb, a, b, blocks, DefaultContext);
        return sb.ToString();
    }

    private static void AppendHunks(StringBuilder sb, IReadOnlyList<string> a, IReadOnlyList<string> b, IList<DiffBlock> blocks, int context)
    {
        var i = 0;
        while (i < blocks.Count)
        {
            // Merge blocks whose context would overlap into one hunk.
            var j = i;
            while (j + 1 < blocks.Count && blocks[j + 1].DeleteStartA - (blocks[j].DeleteStartA + blocks[j].DeleteCountA) <= 2 * context)
            {
                j++;
            }

            var startA = Math.Max(0, blocks[i].DeleteStartA - context);
            var startB = Math.Max(0, blocks[i].InsertStartB - context);
            var endA = Math.Min(a.Count, blocks[j].DeleteStartA + blocks[j].DeleteCountA + context);
            var endB = Math.Min(b.Count, blocks[j].InsertStartB + blocks[j].InsertCountB + context);
            sb.Append(CultureInfo.InvariantCulture, $"@@ -{Range(startA, endA - startA)} +{Range(startB, endB - startB)} @@\n");

            var posA = startA;
            for (var k = i; k <= j; k++)
            {
                var block = blocks[k];
                for (; posA < block.DeleteStartA; posA++)
                {
                    sb.Append(' ').Append(a[posA]).Append('\n');
                }

                for (var d = 0; d < block.DeleteCountA; d++)
                {
                    sb.Append('-').Append(a[block.DeleteStartA + d]).Append('\n');
                }

                for (var n = 0; n < block.InsertCountB; n++)
                {
                    sb.Append('+').Append(b[block.InsertStartB + n]).Append('\n');
                }

                posA = block.DeleteStartA + block.DeleteCountA;
            }

            for (; posA < endA; posA++)
            {
                sb.Append(' ').Append(a[posA]).Append('\n');
            }

            i = j + 1;
        }
    }

    private static string Range(int start, int count) =>
        count == 1
            ? (start + 1).ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{(count == 0 ? start : start + 1)},{count}");

    private static List<string> Lines(string text)
    {
        var lines = text.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }
}
