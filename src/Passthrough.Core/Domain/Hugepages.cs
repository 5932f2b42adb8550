using System.Globalization;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>A hugepage size ("2M", "1G"), in KiB as /sys/kernel/mm/hugepages/hugepages-NkB names it.</summary>
public readonly record struct HugepageSize(long KiB)
{
    public static HugepageSize TwoMiB { get; } = new(2048);

    public static HugepageSize OneGiB { get; } = new(1024 * 1024);

    /// <summary>Parses `--hugepage-size`: 2M, 1G, 2MiB, 1GiB, 2048K, 2048kB.</summary>
    public static HugepageSize Parse(string text)
    {
        var t = text.Trim();
        var i = 0;
        while (i < t.Length && char.IsAsciiDigit(t[i]))
        {
            i++;
        }

        long factor = t[i..].ToUpperInvariant() switch
        {
            "K" or "KB" or "KIB" => 1,
            "M" or "MB" or "MIB" => 1024,
            "G" or "GB" or "GIB" => 1024 * 1024,
            _ => 0,
        };
        if (i == 0 || factor == 0 || !long.TryParse(t.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n == 0)
        {
            throw PassthroughException.Input($"--hugepage-size {text}: expected a page size such as 2M or 1G.", "x86 hosts have 2M pages, and 1G pages when the CPU has pdpe1gb.");
        }

        return new HugepageSize(checked(n * factor));
    }

    /// <summary>Refuses a size the host's CPU lacks, naming the sizes it has.</summary>
    public void RequireOn(IReadOnlyCollection<HugepageSize> host)
    {
        if (!host.Contains(this))
        {
            throw PassthroughException.Input(
                host.Count == 0
                    ? $"--hugepage-size {this}: this host offers no hugepages (no /sys/kernel/mm/hugepages)."
                    : $"--hugepage-size {this}: this host's CPU has no {this} pages; it offers {string.Join(", ", host.OrderBy(s => s.KiB))}.",
                host.Count == 0
                    ? "Leave out --hugepage-size on a kernel without hugetlbfs, or edit on the host that runs the VM."
                    : $"Use --hugepage-size {host.OrderBy(s => s.KiB).First()}, or leave the size out to use the kernel's default.");
        }
    }

    public override string ToString() => KiB % (1024 * 1024) == 0 ? $"{KiB / (1024 * 1024)}G"
        : KiB % 1024 == 0 ? $"{KiB / 1024}M"
        : $"{KiB}K";
}

/// <summary>`--hugepages on|off [--hugepage-size SIZE]`: back the guest's memory with hugepages, of SIZE or the kernel's default.</summary>
public sealed record HugepagesRequest(bool On)
{
    public HugepageSize? Size { get; init; }

    public HugepagesRequest WithSize(HugepageSize? size) => this with { Size = size };
}
