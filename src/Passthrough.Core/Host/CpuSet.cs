using System.Collections;
using System.Globalization;
using System.Text;
using Passthrough.Errors;

namespace Passthrough.Host;

/// <summary>
/// A set of host CPU numbers in the kernel's cpulist format ("0-3,8-11"; Documentation/admin-guide/cputopology.rst),
/// which is also what libvirt's cpuset attributes take. Sorted, no duplicates.
/// </summary>
public sealed class CpuSet : IReadOnlyCollection<int>, IEquatable<CpuSet>
{
    private readonly int[] _cpus;

    private CpuSet(int[] sorted) => _cpus = sorted;

    public static CpuSet Empty { get; } = new([]);

    public int Count => _cpus.Length;

    public bool IsEmpty => _cpus.Length == 0;

    /// <summary>The lowest CPU number (the set must not be empty).</summary>
    public int First => _cpus[0];

    public static CpuSet Of(IEnumerable<int> cpus) => new([.. cpus.Distinct().Order()]);

    public static CpuSet Of(params int[] cpus) => Of((IEnumerable<int>)cpus);

    /// <summary>Parses a kernel cpulist; null when it is not one (sysfs reads tolerate that).</summary>
    public static CpuSet? TryParse(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var cpus = new List<int>();
        foreach (var part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var single))
                {
                    return null;
                }

                cpus.Add(single);
                continue;
            }

            if (!int.TryParse(part.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var from)
                || !int.TryParse(part.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var to)
                || to < from || to - from > 65536)
            {
                return null;
            }

            for (var c = from; c <= to; c++)
            {
                cpus.Add(c);
            }
        }

        return Of(cpus);
    }

    /// <summary>Parses a CPU list a user gave for <paramref name="option"/>; bad input names the option.</summary>
    public static CpuSet Parse(string text, string option)
    {
        var set = TryParse(text);
        if (set is null || set.IsEmpty)
        {
            throw PassthroughException.Input(
                $"{option} {text}: not a CPU list.",
                "Give CPU numbers and ranges as the kernel writes them, e.g. 2-7,10-15 (see `lscpu -e` for this host's CPUs).");
        }

        return set;
    }

    public bool Contains(int cpu) => Array.BinarySearch(_cpus, cpu) >= 0;

    public CpuSet Union(IEnumerable<int> other) => Of(_cpus.Concat(other));

    public CpuSet Except(IEnumerable<int> other) => Of(_cpus.Except(other));

    public CpuSet Intersect(IEnumerable<int> other) => Of(_cpus.Intersect(other));

    public bool Overlaps(IEnumerable<int> other) => other.Any(Contains);

    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)_cpus).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(CpuSet? other) => other is not null && _cpus.AsSpan().SequenceEqual(other._cpus);

    public override bool Equals(object? obj) => Equals(obj as CpuSet);

    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var c in _cpus)
        {
            hash.Add(c);
        }

        return hash.ToHashCode();
    }

    /// <summary>The cpulist form the kernel writes: "0-3,8-11", "0-1,16".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < _cpus.Length;)
        {
            var j = i;
            while (j + 1 < _cpus.Length && _cpus[j + 1] == _cpus[j] + 1)
            {
                j++;
            }

            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(_cpus[i].ToString(CultureInfo.InvariantCulture));
            if (j > i)
            {
                sb.Append('-').Append(_cpus[j].ToString(CultureInfo.InvariantCulture));
            }

            i = j + 1;
        }

        return sb.ToString();
    }
}
