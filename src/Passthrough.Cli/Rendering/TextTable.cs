using System.Text;

namespace Passthrough.Cli.Rendering;

/// <summary>
/// A plain aligned table for the inventory verbs (`list`, `groups`): columns padded to their widest
/// cell, a rule under the header, cells that may span several lines, no trailing spaces.
/// </summary>
/// <remarks>
/// Not Spectre's Table: on a 256-function host Spectre measured and rendered the 2,048 cells in about
/// 40 ms at each start (most of it compiling its generic code), a quarter of `list`'s 150 ms budget.
/// Spectre still draws the richer output (doctor, status, rom).
/// </remarks>
internal sealed class TextTable
{
    private const string Gap = "   ";
    private const string Indent = "  ";

    /// <summary>Narrowest an elastic column gets before the table is allowed to overflow.</summary>
    private const int MinimumElasticWidth = 10;

    private readonly string[] _headers;
    private readonly List<string[]> _rows = [];
    private int[] _elastic = [];

    public TextTable(params string[] headers)
    {
        _headers = headers;
    }

    /// <summary>
    /// The columns that give way when the table is wider than the terminal: the widest of them
    /// narrows first, and their cells wrap at spaces onto more lines (nothing is cut off). Other
    /// columns keep their width.
    /// </summary>
    public TextTable Elastic(params int[] columns)
    {
        foreach (var column in columns)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(column);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, _headers.Length);
        }

        _elastic = columns;
        return this;
    }

    public int RowCount => _rows.Count;

    /// <summary>Adds a row; a cell may hold several lines ('\n').</summary>
    public TextTable AddRow(params string[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"A row needs {_headers.Length} cells, not {cells.Length}.", nameof(cells));
        }

        _rows.Add(cells);
        return this;
    }

    /// <summary>
    /// Writes the table; <paramref name="bold"/> sets the header in bold (ANSI SGR 1); with a
    /// <paramref name="maxWidth"/> (a terminal's columns) the elastic column wraps to fit it.
    /// </summary>
    public void Write(TextWriter output, bool bold, int? maxWidth = null)
    {
        var rows = maxWidth is int max && _elastic.Length > 0 ? FitTo(max) : _rows;
        var widths = Widths(rows);

        var ruleWidth = Gap.Length * (widths.Length - 1);
        foreach (var w in widths)
        {
            ruleWidth += w;
        }

        var text = new StringBuilder(capacity: (rows.Count + 2) * (ruleWidth + Indent.Length + 1));
        if (bold)
        {
            text.Append("\u001b[1m");
        }

        AppendLine(text, _headers, widths);
        if (bold)
        {
            // Reset before the newline so the rule and rows are plain.
            text.Insert(text.Length - 1, "\u001b[0m");
        }

        text.Append(Indent).Append('─', ruleWidth).Append('\n');
        var lines = new string[_headers.Length];
        foreach (var row in rows)
        {
            var cellLines = Array.ConvertAll(row, cell => cell.Split('\n'));
            var height = 1;
            foreach (var cell in cellLines)
            {
                height = Math.Max(height, cell.Length);
            }

            for (var i = 0; i < height; i++)
            {
                for (var c = 0; c < cellLines.Length; c++)
                {
                    lines[c] = i < cellLines[c].Length ? cellLines[c][i] : string.Empty;
                }

                AppendLine(text, lines, widths);
            }
        }

        output.Write(text.ToString());
    }

    /// <summary>The rows with the elastic columns' cells wrapped so that the table fits in
    /// <paramref name="maxWidth"/> columns, as far as the other columns leave room.</summary>
    private List<string[]> FitTo(int maxWidth)
    {
        var widths = Widths(_rows);
        var excess = Indent.Length + (Gap.Length * (widths.Length - 1)) - maxWidth;
        foreach (var w in widths)
        {
            excess += w;
        }

        if (excess <= 0)
        {
            return _rows;
        }

        var fitted = (int[])widths.Clone();
        while (excess > 0)
        {
            var widest = -1;
            foreach (var c in _elastic)
            {
                var floor = Math.Max(MinimumElasticWidth, Width(_headers[c]));
                if (fitted[c] > floor && (widest < 0 || fitted[c] > fitted[widest]))
                {
                    widest = c;
                }
            }

            if (widest < 0)
            {
                break; // every elastic column is as narrow as it goes: the rest overflows
            }

            fitted[widest]--;
            excess--;
        }

        var result = new List<string[]>(_rows.Count);
        foreach (var row in _rows)
        {
            var copy = (string[])row.Clone();
            foreach (var c in _elastic)
            {
                if (fitted[c] < widths[c])
                {
                    copy[c] = Wrap(row[c], fitted[c]);
                }
            }

            result.Add(copy);
        }

        return result;
    }

    /// <summary>Wraps each line at spaces to <paramref name="width"/> columns; a word longer than
    /// that is split.</summary>
    private static string Wrap(string cell, int width)
    {
        var result = new StringBuilder(cell.Length + 8);
        foreach (var line in cell.Split('\n'))
        {
            if (result.Length > 0)
            {
                result.Append('\n');
            }

            var current = 0;
            foreach (var word in line.Split(' '))
            {
                var rest = word;
                while (Width(rest) > width)
                {
                    if (current > 0)
                    {
                        result.Append('\n');
                        current = 0;
                    }

                    result.Append(rest.AsSpan(0, width)).Append('\n');
                    rest = rest[width..];
                }

                if (current > 0 && current + 1 + Width(rest) > width)
                {
                    result.Append('\n');
                    current = 0;
                }
                else if (current > 0)
                {
                    result.Append(' ');
                    current++;
                }

                result.Append(rest);
                current += Width(rest);
            }
        }

        return result.ToString();
    }

    /// <summary>Each column's width: its widest line, header included.</summary>
    private int[] Widths(List<string[]> rows)
    {
        var widths = new int[_headers.Length];
        for (var c = 0; c < _headers.Length; c++)
        {
            widths[c] = Width(_headers[c]);
            foreach (var row in rows)
            {
                foreach (var line in row[c].Split('\n'))
                {
                    widths[c] = Math.Max(widths[c], Width(line));
                }
            }
        }

        return widths;
    }

    private static void AppendLine(StringBuilder text, string[] cells, int[] widths)
    {
        var start = text.Length;
        text.Append(Indent);
        for (var c = 0; c < cells.Length; c++)
        {
            text.Append(cells[c]);
            if (c < cells.Length - 1)
            {
                text.Append(' ', widths[c] - Width(cells[c])).Append(Gap);
            }
        }

        // No trailing spaces: the output goes into logs, diffs and bug reports.
        var end = text.Length;
        while (end > start && text[end - 1] == ' ')
        {
            end--;
        }

        text.Length = end;
        text.Append('\n');
    }

    /// <summary>Terminal columns, one per character (Unicode scalar): pci.ids and sysfs names are
    /// Latin text; East Asian wide characters would count one column short.</summary>
    private static int Width(string text)
    {
        var width = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            width += rune.Value < 0x20 ? 0 : 1;
        }

        return width;
    }
}
