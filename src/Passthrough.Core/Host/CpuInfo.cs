using System.Globalization;

namespace Passthrough.Host;

/// <summary>
/// What Passthrough reads from /proc/cpuinfo, from its first processor block (proc(5); the fields are the
/// kernel's arch/x86/kernel/cpu/proc.c): vendor_id, model name, flags, and siblings against cpu cores for SMT.
/// </summary>
public sealed record CpuInfo(string? Vendor, string? Model, IReadOnlyList<string>? Flags, bool? Smt)
{
    public static CpuInfo Empty { get; } = new(null, null, null, null);

    /// <summary>An AMD (or Zen-based Hygon) vendor_id.</summary>
    public static bool IsAmdVendor(string? vendor) => vendor is "AuthenticAMD" or "HygonGenuine";

    public bool HasFlag(string flag) => Flags?.Contains(flag, StringComparer.Ordinal) == true;

    public static CpuInfo Parse(string? text)
    {
        if (text is null)
        {
            return Empty;
        }

        string? vendor = null, model = null;
        string[]? flags = null;
        int? siblings = null, cores = null;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                if (vendor is not null && flags is not null)
                {
                    break; // the first processor block is enough
                }

                continue;
            }

            var value = line[(colon + 1)..].Trim();
            switch (line[..colon].Trim())
            {
                case "vendor_id": vendor ??= value; break;
                case "model name": model ??= value; break;
                case "flags": flags ??= value.Split(' ', StringSplitOptions.RemoveEmptyEntries); break;
                case "siblings": siblings ??= int.TryParse(value, CultureInfo.InvariantCulture, out var s) ? s : null; break;
                case "cpu cores": cores ??= int.TryParse(value, CultureInfo.InvariantCulture, out var c) ? c : null; break;
                default: break;
            }
        }

        return new CpuInfo(vendor is { Length: > 0 } ? vendor : null, model, flags ?? [], siblings is int sib && cores is int cor ? sib > cor : null);
    }
}
