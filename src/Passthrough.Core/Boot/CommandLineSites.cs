using System.Text;
using System.Text.RegularExpressions;

namespace Passthrough.Boot;

/// <summary>The syntax of a file that holds kernel arguments.</summary>
public enum CommandLineFormat
{
    /// <summary>/etc/default/grub: GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT, shell-quoted; grub-mkconfig joins both.</summary>
    GrubDefault,

    /// <summary>/etc/kernel/cmdline: the whole file is the line kernel-install puts in new entries.</summary>
    KernelCmdline,

    /// <summary>Boot Loader Specification entry (/boot/loader/entries/*.conf): `options` lines, joined.</summary>
    BlsEntry,

    /// <summary>limine.conf: one `cmdline:` per entry (older limine.cfg: CMDLINE= / KERNEL_CMDLINE=).</summary>
    Limine,

    /// <summary>syslinux.cfg / extlinux.conf: one APPEND per LABEL.</summary>
    Syslinux,

    /// <summary>refind_linux.conf: "title" "options" per line.</summary>
    Refind,
}

/// <summary>
/// Reads and edits the kernel arguments inside bootloader files, touching only the text that
/// holds them: every other byte of the file is kept.
/// </summary>
public static partial class CommandLineSites
{
    /// <summary>The command lines the file boots: one per entry (joined where the format joins them).</summary>
    public static IReadOnlyList<KernelCommandLine> Read(CommandLineFormat format, string text)
    {
        var lines = SplitLines(text);
        var sites = FindSites(format, lines);
        return format switch
        {
            CommandLineFormat.GrubDefault or CommandLineFormat.BlsEntry or CommandLineFormat.KernelCmdline =>
                sites.Count == 0 ? [KernelCommandLine.Empty] : [KernelCommandLine.Parse(string.Join(' ', sites.Select(s => s.Value)))],
            _ => [.. sites.Select(s => KernelCommandLine.Parse(s.Value))],
        };
    }

    /// <summary>Applies <paramref name="change"/> to each command line the file boots and returns the new text.</summary>
    public static string Edit(CommandLineFormat format, string text, Func<KernelCommandLine, KernelCommandLine> change)
    {
        var lines = SplitLines(text);
        var sites = FindSites(format, lines);
        switch (format)
        {
            case CommandLineFormat.GrubDefault:
            case CommandLineFormat.BlsEntry:
            case CommandLineFormat.KernelCmdline:
                {
                    var combined = KernelCommandLine.Parse(string.Join(' ', sites.Select(s => s.Value)));
                    var desired = change(combined);
                    if (desired.Equals(combined))
                    {
                        return text;
                    }

                    var removed = combined.Removed(desired);
                    var added = combined.Added(desired);
                    foreach (var site in sites)
                    {
                        var line = KernelCommandLine.Parse(site.Value);
                        var edited = line.Except(removed);
                        if (!ReferenceEquals(edited, line))
                        {
                            lines[site.Line] = site.Render(edited.ToString());
                        }
                    }

                    if (added.Count > 0)
                    {
                        var target = TargetSite(format, sites);
                        if (target is null)
                        {
                            AppendNewSite(format, lines, KernelCommandLine.Empty.Append(added).ToString());
                        }
                        else
                        {
                            var current = KernelCommandLine.Parse(Unrender(target, lines[target.Line]));
                            lines[target.Line] = target.Render(current.Append(added).ToString());
                        }
                    }

                    break;
                }

            default:
                foreach (var site in sites)
                {
                    var line = KernelCommandLine.Parse(site.Value);
                    var edited = change(line);
                    if (!edited.Equals(line))
                    {
                        lines[site.Line] = site.Render(edited.ToString());
                    }
                }

                if (format == CommandLineFormat.Limine)
                {
                    InsertMissingLimineCmdlines(lines, change);
                }

                break;
        }

        return string.Join('\n', lines);
    }

    private static Site? TargetSite(CommandLineFormat format, List<Site> sites) =>
        format == CommandLineFormat.GrubDefault
            ? sites.FindLast(s => s.Name == "GRUB_CMDLINE_LINUX_DEFAULT") ?? (sites.Count > 0 ? sites[^1] : null)
            : sites.Count > 0 ? sites[^1] : null;

    private static string Unrender(Site site, string line)
    {
        var fresh = FindSites(site.Format, [line]);
        return fresh.Count > 0 ? fresh[0].Value : site.Value;
    }

    private static void AppendNewSite(CommandLineFormat format, List<string> lines, string value)
    {
        var newLine = format switch
        {
            CommandLineFormat.GrubDefault => $"GRUB_CMDLINE_LINUX=\"{ShellEscape(value)}\"",
            CommandLineFormat.BlsEntry => "options " + value,
            _ => value,
        };

        // Keep a final newline final: insert before the empty last element the split leaves.
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.Insert(lines.Count - 1, newLine);
        }
        else if (lines.Count == 1 && lines[0].Length == 0)
        {
            lines[0] = newLine;
            lines.Add(string.Empty);
        }
        else
        {
            lines.Add(newLine);
        }
    }

    /// <summary>Limine boots a linux entry without a cmdline with an empty command line (seed 004: the
    /// user had to insert one between module_path: and comment:). Add one after module_path/kernel_path.</summary>
    private static void InsertMissingLimineCmdlines(List<string> lines, Func<KernelCommandLine, KernelCommandLine> change)
    {
        var entries = new List<(int Start, int End)>();
        for (var i = 0; i < lines.Count; i++)
        {
            if (LimineEntryRegex().IsMatch(lines[i]))
            {
                if (entries.Count > 0)
                {
                    entries[^1] = (entries[^1].Start, i);
                }

                entries.Add((i, lines.Count));
            }
        }

        for (var e = entries.Count - 1; e >= 0; e--)
        {
            var (start, end) = entries[e];
            var body = Enumerable.Range(start + 1, end - start - 1).ToList();
            var isLinux = body.Any(i => LimineKeyRegex().Match(lines[i]) is { Success: true } m && m.Groups["key"].Value.Equals("protocol", StringComparison.OrdinalIgnoreCase) && m.Groups["value"].Value.Trim() == "linux");
            var hasCmdline = body.Any(i => LimineKeyRegex().Match(lines[i]) is { Success: true } m && IsLimineCmdlineKey(m.Groups["key"].Value));
            if (!isLinux || hasCmdline)
            {
                continue;
            }

            var anchor = body.LastOrDefault(i => LimineKeyRegex().Match(lines[i]) is { Success: true } m && m.Groups["key"].Value.ToLowerInvariant() is "module_path" or "kernel_path", -1);
            if (anchor < 0)
            {
                continue;
            }

            var value = change(KernelCommandLine.Empty).ToString();
            if (value.Length == 0)
            {
                continue;
            }

            var indent = LimineKeyRegex().Match(lines[anchor]).Groups["indent"].Value;
            lines.Insert(anchor + 1, $"{indent}cmdline: {value}");
        }
    }

    private static bool IsLimineCmdlineKey(string key) =>
        key.Equals("cmdline", StringComparison.OrdinalIgnoreCase) || key.Equals("kernel_cmdline", StringComparison.OrdinalIgnoreCase);

    private static List<string> SplitLines(string text) => [.. text.Split('\n')];

    private static List<Site> FindSites(CommandLineFormat format, List<string> lines)
    {
        var sites = new List<Site>();
        if (format == CommandLineFormat.KernelCmdline)
        {
            for (var i = 0; i < lines.Count; i++)
            {
                var l = lines[i];
                var trimmed = l.Trim();
                if (trimmed.Length > 0 && !trimmed.StartsWith('#'))
                {
                    var lead = l.Length - l.TrimStart().Length;
                    sites.Add(new Site(format, i, "cmdline", l[..lead], trimmed, l[(lead + trimmed.Length)..], Quote.None));
                }
            }

            return sites;
        }

        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            switch (format)
            {
                case CommandLineFormat.GrubDefault:
                    if (GrubRegex().Match(line) is { Success: true } g)
                    {
                        var rawValue = g.Groups["value"].Value;
                        var (value, quote, rest) = ShellValue(rawValue);
                        sites.Add(new Site(format, i, g.Groups["name"].Value, line[..g.Groups["value"].Index], value, rest, quote));
                    }

                    break;
                case CommandLineFormat.BlsEntry:
                    if (BlsOptionsRegex().Match(line) is { Success: true } b)
                    {
                        sites.Add(new Site(format, i, "options", line[..b.Groups["value"].Index], b.Groups["value"].Value, string.Empty, Quote.None));
                    }

                    break;
                case CommandLineFormat.Limine:
                    if (LimineKeyRegex().Match(line) is { Success: true } m && IsLimineCmdlineKey(m.Groups["key"].Value))
                    {
                        sites.Add(new Site(format, i, m.Groups["key"].Value, line[..m.Groups["value"].Index], m.Groups["value"].Value, string.Empty, Quote.None));
                    }
                    else if (LimineLegacyRegex().Match(line) is { Success: true } legacy)
                    {
                        sites.Add(new Site(format, i, legacy.Groups["key"].Value, line[..legacy.Groups["value"].Index], legacy.Groups["value"].Value, string.Empty, Quote.None));
                    }

                    break;
                case CommandLineFormat.Syslinux:
                    if (SyslinuxRegex().Match(line) is { Success: true } s)
                    {
                        sites.Add(new Site(format, i, "APPEND", line[..s.Groups["value"].Index], s.Groups["value"].Value, string.Empty, Quote.None));
                    }

                    break;
                case CommandLineFormat.Refind:
                    if (RefindRegex().Match(line) is { Success: true } r)
                    {
                        sites.Add(new Site(format, i, r.Groups["title"].Value, line[..r.Groups["value"].Index], r.Groups["value"].Value, line[(r.Groups["value"].Index + r.Groups["value"].Length)..], Quote.None));
                    }

                    break;
                default:
                    break;
            }
        }

        return sites;
    }

    /// <summary>The value of a shell assignment: "double", 'single' or bare; returns the value and what follows it.</summary>
    private static (string Value, Quote Quoting, string After) ShellValue(string raw)
    {
        if (raw.StartsWith('"'))
        {
            var sb = new StringBuilder();
            for (var i = 1; i < raw.Length; i++)
            {
                var c = raw[i];
                if (c == '\\' && i + 1 < raw.Length && "\"\\$`".Contains(raw[i + 1], StringComparison.Ordinal))
                {
                    sb.Append(raw[++i]);
                }
                else if (c == '"')
                {
                    return (sb.ToString(), Quote.Double, raw[(i + 1)..]);
                }
                else
                {
                    sb.Append(c);
                }
            }

            return (sb.ToString(), Quote.Double, string.Empty);
        }

        if (raw.StartsWith('\''))
        {
            var close = raw.IndexOf('\'', 1);
            return close < 0 ? (raw[1..], Quote.Single, string.Empty) : (raw[1..close], Quote.Single, raw[(close + 1)..]);
        }

        var end = 0;
        while (end < raw.Length && !char.IsWhiteSpace(raw[end]) && raw[end] != '#')
        {
            end++;
        }

        return (raw[..end], Quote.None, raw[end..]);
    }

    private static string ShellEscape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("$", "\\$", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal);

    private enum Quote
    {
        None,
        Single,
        Double,
    }

    private sealed record Site(CommandLineFormat Format, int Line, string Name, string Prefix, string Value, string Suffix, Quote Quoting)
    {
        public string Render(string value) => Quoting switch
        {
            // A GRUB value is always written double-quoted: the shell then keeps it one word.
            _ when Format == CommandLineFormat.GrubDefault => $"{Prefix}\"{ShellEscape(value)}\"{Suffix}",
            _ => Prefix + value + Suffix,
        };
    }

    [GeneratedRegex(@"^\s*(export\s+)?(?<name>GRUB_CMDLINE_LINUX(_DEFAULT)?)=(?<value>.*)$")]
    private static partial Regex GrubRegex();

    [GeneratedRegex(@"^options[ \t]+(?<value>.*?)\s*$")]
    private static partial Regex BlsOptionsRegex();

    [GeneratedRegex(@"^(?<indent>\s*)(?<key>[A-Za-z_]+)\s*:\s*(?<value>.*?)\s*$")]
    private static partial Regex LimineKeyRegex();

    [GeneratedRegex(@"^\s*(?<key>CMDLINE|KERNEL_CMDLINE)\s*=\s*(?<value>.*?)\s*$")]
    private static partial Regex LimineLegacyRegex();

    [GeneratedRegex(@"^\s*/")]
    private static partial Regex LimineEntryRegex();

    [GeneratedRegex(@"^\s*APPEND\s+(?<value>.*?)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex SyslinuxRegex();

    [GeneratedRegex(@"^\s*""(?<title>[^""]*)""\s+""(?<value>[^""]*)""")]
    private static partial Regex RefindRegex();
}
