using System.Text;
using DiffPlex;

namespace Passthrough.Cli.Rendering;

/// <summary>Unified diffs (the `diff -u` format) of two texts, built from DiffPlex's line diff.</summary>
internal static class UnifiedDiff
{
    private const int Context = 3;

    public static string Render(string path, string? before, string after)
    {
        var a = Lines(before ?? string.Empty);
        var b = Lines(after);
        var diff = new Differ().CreateLineDiffs(string.Join('\n', a), string.Join('\n', b), ignoreWhitespace: false);
        var sb = new StringBuilder();
        sb.Append("--- ").Append(before is null ? "/dev/null" : "a" + path).Append('\n');
        sb.Append("+++ b").Append(path).Append('\n');
        if (a.Count == 0 && b.Count == 0)
        {
            return sb.ToString();
        }

        // Group the change blocks into hunks that share context.
        var blocks = diff.DiffBlocks.ToList();
        if (a.Count == 0)
        {
            blocks = [new DiffPlex.Model.DiffBlock(0, 0, 0, b.Count)];
        }

        var i = 0;
        while (i < blocks.Count)
        {
            var j = i;
            while (j + 1 < blocks.Count && blocks[j + 1].DeleteStartA - (blocks[j].DeleteStartA + blocks[j].DeleteCountA) <= 2 * Context)
            {
                j++;
            }

            var startA = Math.Max(0, blocks[i].DeleteStartA - Context);
            var startB = Math.Max(0, blocks[i].InsertStartB - Context);
            var endA = Math.Min(a.Count, blocks[j].DeleteStartA + blocks[j].DeleteCountA + Context);
            var endB = Math.Min(b.Count, blocks[j].InsertStartB + blocks[j].InsertCountB + Context);
            sb.Append("@@ -").Append(Range(startA, endA - startA)).Append(" +").Append(Range(startB, endB - startB)).Append(" @@\n");
            var pa = startA;
            for (var k = i; k <= j; k++)
            {
                var block = blocks[k];
                for (; pa < block.DeleteStartA; pa++)
                {
                    sb.Append(' ').Append(a[pa]).Append('\n');
                }

                for (var d = 0; d < block.DeleteCountA; d++)
                {
                    sb.Append('-').Append(a[block.DeleteStartA + d]).Append('\n');
                }

                for (var n = 0; n < block.InsertCountB; n++)
                {
                    sb.Append('+').Append(b[block.InsertStartB + n]).Append('\n');
                }

                pa = block.DeleteStartA + block.DeleteCountA;
            }

            for (; pa < endA; pa++)
            {
                sb.Append(' ').Append(a[pa]).Append('\n');
            }

            i = j + 1;
        }

        return sb.ToString();
    }

    private static string Range(int start, int count) =>
        count == 1 ? (start + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(count == 0 ? start : start + 1)},{count}");

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
