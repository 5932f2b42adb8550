using System.Text;

namespace Passthrough.Boot;

/// <summary>
/// One kernel command-line argument as the kernel splits it (lib/cmdline.c next_arg): a key, an
/// optional value after the first '=', and the text as written (quotes kept) so an untouched
/// argument is written back exactly.
/// </summary>
public sealed record KernelArgument(string Key, string? Value, string Text)
{
    /// <summary>Builds an argument, quoting the value when it holds whitespace (the kernel strips the quotes).</summary>
    public static KernelArgument Of(string key, string? value = null)
    {
        var text = value is null ? key
            : value.Any(char.IsWhiteSpace) ? $"{key}=\"{value}\""
            : $"{key}={value}";
        return new KernelArgument(key, value, text);
    }

    /// <summary>Parses one argument ("vfio-pci.ids=10de:2805", "quiet").</summary>
    public static KernelArgument Parse(string text)
    {
        var parsed = KernelCommandLine.Parse(text).Arguments;
        return parsed.Count == 1 ? parsed[0] : Of(text);
    }

    /// <summary>The kernel compares parameter names with '-' and '_' equal (kernel/params.c parameq).</summary>
    public bool HasKey(string key) => KernelCommandLine.KeysEqual(Key, key);

    public override string ToString() => Text;
}

/// <summary>
/// A kernel command line, parsed with the kernel's own rules (whitespace separates arguments;
/// double quotes group, "a=\"b c\"" is key a, value "b c"; "--" ends the kernel's part and the rest
/// goes to init). Immutable: every edit returns a new line; an unchanged line renders as it was read.
/// </summary>
public sealed class KernelCommandLine : IEquatable<KernelCommandLine>
{
    private readonly string? _original;

    private KernelCommandLine(IReadOnlyList<KernelArgument> arguments, IReadOnlyList<string> initArguments, string? original)
    {
        Arguments = arguments;
        InitArguments = initArguments;
        _original = original;
    }

    public static KernelCommandLine Empty { get; } = new([], [], string.Empty);

    /// <summary>Arguments for the kernel, in order.</summary>
    public IReadOnlyList<KernelArgument> Arguments { get; }

    /// <summary>Words after "--", passed to init untouched.</summary>
    public IReadOnlyList<string> InitArguments { get; }

    public static KernelCommandLine Parse(string? text)
    {
        text ??= string.Empty;
        var arguments = new List<KernelArgument>();
        var init = new List<string>();
        var i = 0;
        var afterDashes = false;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                break;
            }

            var start = i;
            var inQuote = false;
            var equals = -1;
            for (; i < text.Length; i++)
            {
                var c = text[i];
                if (char.IsWhiteSpace(c) && !inQuote)
                {
                    break;
                }

                if (equals < 0 && c == '=')
                {
                    equals = i;
                }

                if (c == '"')
                {
                    inQuote = !inQuote;
                }
            }

            var raw = text[start..i];
            if (afterDashes)
            {
                init.Add(raw);
                continue;
            }

            if (raw == "--")
            {
                afterDashes = true;
                continue;
            }

            arguments.Add(Split(raw, equals < 0 ? -1 : equals - start));
        }

        return new KernelCommandLine(arguments, init, text);
    }

    private static KernelArgument Split(string raw, int equals)
    {
        // next_arg: a leading quote opens the whole argument; quotes around the value are dropped.
        var quoted = raw.StartsWith('"');
        var body = quoted ? raw[1..] : raw;
        if (equals >= 0 && quoted)
        {
            equals--;
        }

        string key;
        string? value;
        if (equals < 0)
        {
            key = quoted && body.EndsWith('"') ? body[..^1] : body;
            value = null;
        }
        else
        {
            key = body[..equals];
            value = body[(equals + 1)..];
            if (value.StartsWith('"'))
            {
                value = value[1..];
                if (value.EndsWith('"'))
                {
                    value = value[..^1];
                }
            }
            else if (quoted && value.EndsWith('"'))
            {
                value = value[..^1];
            }
        }

        return new KernelArgument(key, value, raw);
    }

    /// <summary>'-' and '_' are the same in parameter names (kernel/params.c parameq).</summary>
    public static bool KeysEqual(string a, string b) =>
        string.Equals(NormalizeKey(a), NormalizeKey(b), StringComparison.Ordinal);

    public static string NormalizeKey(string key) => key.Replace('-', '_');

    public bool Has(string key) => Arguments.Any(a => a.HasKey(key));

    public bool Has(string key, string value) => Arguments.Any(a => a.HasKey(key) && a.Value == value);

    /// <summary>The value that takes effect: for core parameters the kernel applies each in turn, so the last one wins.</summary>
    public string? ValueOf(string key) => Arguments.LastOrDefault(a => a.HasKey(key))?.Value;

    public IEnumerable<KernelArgument> All(string key) => Arguments.Where(a => a.HasKey(key));

    /// <summary>Adds the argument at the end unless it is there already.</summary>
    public KernelCommandLine With(KernelArgument argument) =>
        Arguments.Any(a => a.HasKey(argument.Key) && a.Value == argument.Value)
            ? this
            : Rebuild([.. Arguments, argument]);

    /// <summary>Sets KEY to VALUE: the first occurrence is replaced in place, others are removed.</summary>
    public KernelCommandLine WithValue(string key, string? value)
    {
        var matches = Arguments.Where(a => a.HasKey(key)).ToList();
        if (matches.Count == 1 && matches[0].Value == value)
        {
            return this;
        }

        var replacement = KernelArgument.Of(matches.Count > 0 ? matches[0].Key : key, value);
        if (matches.Count == 0)
        {
            return Rebuild([.. Arguments, replacement]);
        }

        var list = new List<KernelArgument>();
        var placed = false;
        foreach (var a in Arguments)
        {
            if (!a.HasKey(key))
            {
                list.Add(a);
            }
            else if (!placed)
            {
                list.Add(replacement);
                placed = true;
            }
        }

        return Rebuild(list);
    }

    /// <summary>Removes every occurrence of KEY (any value).</summary>
    public KernelCommandLine Without(string key) =>
        Has(key) ? Rebuild([.. Arguments.Where(a => !a.HasKey(key))]) : this;

    /// <summary>Removes KEY=VALUE occurrences only.</summary>
    public KernelCommandLine Without(string key, string? value) =>
        Arguments.Any(a => a.HasKey(key) && a.Value == value)
            ? Rebuild([.. Arguments.Where(a => !(a.HasKey(key) && a.Value == value))])
            : this;

    /// <summary>The ids in every vfio-pci.ids= (the module takes a comma-separated list; the kernel
    /// passes the last occurrence, so several copies are merged into one).</summary>
    public IReadOnlyList<string> VfioIds =>
        [.. All(VfioIdsKey).SelectMany(a => (a.Value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.OrdinalIgnoreCase)];

    public const string VfioIdsKey = "vfio-pci.ids";

    /// <summary>Merges ids into a single vfio-pci.ids= (existing ids first, order kept).</summary>
    public KernelCommandLine WithVfioIds(IEnumerable<string> ids)
    {
        var merged = VfioIds.Concat(ids.Select(i => i.ToLowerInvariant())).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return merged.Count == 0 ? Without(VfioIdsKey) : WithValue(VfioIdsKey, string.Join(',', merged));
    }

    /// <summary>Removes ids from vfio-pci.ids=, and the argument when none are left.</summary>
    public KernelCommandLine WithoutVfioIds(IEnumerable<string> ids)
    {
        if (!Has(VfioIdsKey))
        {
            return this;
        }

        var drop = ids.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var left = VfioIds.Where(i => !drop.Contains(i)).ToList();
        if (left.Count == VfioIds.Count && All(VfioIdsKey).Count() == 1)
        {
            return this;
        }

        return left.Count == 0 ? Without(VfioIdsKey) : WithValue(VfioIdsKey, string.Join(',', left));
    }

    /// <summary>Keys given more than once with different values (intel_iommu=on ... intel_iommu=off).</summary>
    public IReadOnlyList<Contradiction> Contradictions() =>
        [.. Arguments
            .GroupBy(a => NormalizeKey(a.Key), StringComparer.Ordinal)
            .Where(g => g.Select(a => a.Value).Distinct(StringComparer.Ordinal).Count() > 1)
            .Select(g => new Contradiction(g.First().Key, [.. g.Select(a => a.Text)]))];

    /// <summary>Arguments in <paramref name="other"/> that this line lacks (compared as written).</summary>
    public IReadOnlyList<KernelArgument> Added(KernelCommandLine other) =>
        [.. other.Arguments.Where(a => !Arguments.Any(b => b.HasKey(a.Key) && b.Value == a.Value))];

    /// <summary>Arguments of this line that <paramref name="other"/> lacks.</summary>
    public IReadOnlyList<KernelArgument> Removed(KernelCommandLine other) => other.Added(this);

    /// <summary>Drops each argument equal (key and value) to one of <paramref name="arguments"/>.</summary>
    public KernelCommandLine Except(IReadOnlyCollection<KernelArgument> arguments) =>
        Arguments.Any(a => arguments.Any(b => b.HasKey(a.Key) && b.Value == a.Value))
            ? Rebuild([.. Arguments.Where(a => !arguments.Any(b => b.HasKey(a.Key) && b.Value == a.Value))])
            : this;

    /// <summary>Appends the arguments this line lacks.</summary>
    public KernelCommandLine Append(IEnumerable<KernelArgument> arguments) => arguments.Aggregate(this, (line, a) => line.With(a));

    private KernelCommandLine Rebuild(IReadOnlyList<KernelArgument> arguments) => new(arguments, InitArguments, null);

    /// <summary>The line as read when unchanged; otherwise the arguments joined by one space.</summary>
    public override string ToString()
    {
        if (_original is not null)
        {
            return _original;
        }

        var sb = new StringBuilder();
        sb.AppendJoin(' ', Arguments.Select(a => a.Text));
        if (InitArguments.Count > 0)
        {
            sb.Append(sb.Length > 0 ? " -- " : "-- ").AppendJoin(' ', InitArguments);
        }

        return sb.ToString();
    }

    public bool Equals(KernelCommandLine? other) =>
        other is not null
        && Arguments.Select(a => (NormalizeKey(a.Key), a.Value)).SequenceEqual(other.Arguments.Select(a => (NormalizeKey(a.Key), a.Value)))
        && InitArguments.SequenceEqual(other.InitArguments, StringComparer.Ordinal);

    public override bool Equals(object? obj) => obj is KernelCommandLine other && Equals(other);

    public override int GetHashCode() => string.Join(' ', Arguments.Select(a => NormalizeKey(a.Key) + "=" + a.Value)).GetHashCode(StringComparison.Ordinal);
}

/// <summary>One key given with different values; for core parameters the last one is what the kernel uses.</summary>
public sealed record Contradiction(string Key, IReadOnlyList<string> Occurrences)
{
    public override string ToString() => $"{Key} is given {Occurrences.Count} times with different values ({string.Join(", ", Occurrences)})";
}
