using System.Globalization;
using System.Text;

namespace Passthrough.Host;

/// <summary>
/// A set of logical CPU numbers, in the kernel's cpulist form ("0-3,8-11": Documentation/admin-guide/cgroup-v2.rst,
/// cpuset.cpus) and libvirt's cpuset form, which also excludes with ^ ("1-4,^3": formatdomain.html#cpu-tuning).
/// Empty is a value of its own: systemd's AllowedCPUs= empty means "no restriction".
/// </summary>
public sealed class CpuSet : IEquatable<CpuSet>
{
    /// <summary>CONFIG_NR_CPUS tops out at 8192 (systemd's cpu-set-util.c uses the same bound).</summary>
    public const int MaxCpus = 8192;

    private readonly int[] _cpus;

    private CpuSet(IEnumerable<int> cpus)
    {
        _cpus = [.. cpus.Distinct().Order()];
    }

    public static CpuSet Empty { get; } = new([]);

    public IReadOnlyList<int> Cpus => _cpus;

    public bool IsEmpty => _cpus.Length == 0;

    public int Count => _cpus.Length;

    public static CpuSet Of(IEnumerable<int> cpus) => new(cpus);

    public bool Contains(int cpu) => Array.BinarySearch(_cpus, cpu) >= 0;

    public CpuSet Union(CpuSet other) => new(_cpus.Concat(other._cpus));

    public CpuSet Except(CpuSet other) => new(_cpus.Where(c => !other.Contains(c)));

    public CpuSet Intersect(CpuSet other) => new(_cpus.Where(other.Contains));

    public bool IsSubsetOf(CpuSet other) => _cpus.All(other.Contains);

    /// <summary>Parses "0-3,8", "1-4,^3", "" (empty); false for anything else.</summary>
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

        set = new CpuSet(included.Where(c => !excluded.Contains(c)));
        return true;
    }

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

        return new CpuSet(cpus);
    }

    /// <summary>The cpulist form: "0-3,8"; "" when empty.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        for (var i = 0; i < _cpus.Length;)
        {
            var j = i;
            while (j + 1 < _cpus.Length && _cpus[j + 1] == _cpus[j] + 1)
            {
                j++;
            }

            text.Append(text.Length > 0 ? "," : string.Empty)
                .Append(_cpus[i].ToString(CultureInfo.InvariantCulture))
                .Append(j > i ? "-" + _cpus[j].ToString(CultureInfo.InvariantCulture) : string.Empty);
            i = j + 1;
        }

        return text.ToString();
    }

    public bool Equals(CpuSet? other) => other is not null && _cpus.AsSpan().SequenceEqual(other._cpus);

    public override bool Equals(object? obj) => Equals(obj as CpuSet);

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);

    private static bool Number(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value < MaxCpus;
}
