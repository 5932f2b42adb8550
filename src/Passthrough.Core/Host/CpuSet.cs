using System.Collections;
using System.Globalization;
using System.Text;
using Passthrough.Errors;

namespace Passthrough.Host;

/// <summary>
/// A set of host CPU numbers in the kernel's cpulist format ("0-3,8-11"; Documentation/admin-guide/cputopology.rst),
/// which is also what libvirt's cpuset attributes take (they may exclude with ^: "1-4,^3"). Sorted, no duplicates.
/// Empty is a value of its own: systemd's AllowedCPUs= empty means "no restriction".
/// </summary>
public sealed class CpuSet : IReadOnlyCollection<int>, IEquatable<CpuSet>
{
    private readonly int[] _cpus;

    private CpuSet(int[] sorted) => _cpus = sorted;

    /// <summary>CONFIG_NR_CPUS tops out at 8192 (systemd's cpu-set-util.c uses the same bound).</summary>
    public const int MaxCpus = 8192;

    public static CpuSet Empty { get; } = new([]);

    public IReadOnlyList<int> Cpus => _cpus;

    public int Count => _cpus.Length;

    public bool IsEmpty => _cpus.Length == 0;

    /// <summary>The lowest CPU number (the set must not be empty).</summary>
    public int First => _cpus[0];

    public static CpuSet Of(IEnumerable<int> cpus) => new([.. cpus.Distinct().Order()]);

    public static CpuSet Of(params int[] cpus) => Of((IEnumerable<int>)cpus);

    /// <summary>Parses a kernel cpulist; null when it is not one (sysfs reads tolerate that).</summary>
    public static CpuSet? TryParse(string? text) => TryParse(text, out var set) ? set : null;

    /// <summary>Parses "0-3,8", libvirt's "1-4,^3" (cpuset exclusion), "" (empty); false for anything else.</summary>
    public static bool TryParse(string? text, out CpuSet set)
    {
        set = Empty;
        if (text is null)
        {
            return false;
        }

        var included = new SortedSet<int>();
        var excluded = new HashSet<int>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0)
            {
                if (text.Trim().Length == 0)
                {
                    continue;
                }

                return false;
            }

            var exclude = raw.StartsWith('^');
            var part = exclude ? raw[1..] : raw;
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (!Number(dash < 0 ? part : part[..dash], out var first) || !Number(dash < 0 ? part : part[(dash + 1)..], out var last) || last < first)
            {
                return false;
            }

            for (var cpu = first; cpu <= last; cpu++)
            {
                (exclude ? (ICollection<int>)excluded : included).Add(cpu);
            }
        }

        set = Of(included.Where(c => !excluded.Contains(c)));
        return true;
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

    public bool IsSubsetOf(CpuSet other) => _cpus.All(other.Contains);

    /// <summary>systemd's D-Bus form of a CPU set (AllowedCPUs "ay"): bit N%8 of byte N/8 is CPU N (cpu_set_to_dbus).</summary>
    public byte[] ToMask()
    {
        if (IsEmpty)
        {
            return [];
        }

        var bytes = new byte[(_cpus[^1] / 8) + 1];
        foreach (var cpu in _cpus)
        {
            bytes[cpu / 8] |= (byte)(1 << (cpu % 8));
        }

        return bytes;
    }

    public static CpuSet FromMask(ReadOnlySpan<byte> mask)
    {
        var cpus = new List<int>();
        for (var i = 0; i < mask.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                if ((mask[i] & (1 << bit)) != 0)
                {
                    cpus.Add((i * 8) + bit);
                }
            }
        }

        return Of(cpus);
    }


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

    private static bool Number(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value < MaxCpus;
}
