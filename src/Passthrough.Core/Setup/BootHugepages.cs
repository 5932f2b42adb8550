using System.Globalization;
using Passthrough.Errors;

namespace Passthrough.Setup;

/// <summary>
/// Hugepages reserved at boot, when memory is not yet fragmented (Documentation/admin-guide/mm/hugetlbpage.rst):
/// `default_hugepagesz=SIZE hugepagesz=SIZE hugepages=COUNT` on the kernel command line. `setup --hugepages COUNT
/// --hugepage-size 2M|1G`; what a VM's failed &lt;passthrough:hugepages allocate&gt; tells the user to run.
/// </summary>
public sealed record BootHugepages(long Count, long PageKiB)
{
    /// <summary>"2M", "1G": the form the kernel arguments take.</summary>
    public string SizeArgument => PageKiB >= 1024 * 1024
        ? (PageKiB / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + "G"
        : (PageKiB / 1024).ToString(CultureInfo.InvariantCulture) + "M";

    /// <summary>From `--hugepages COUNT` and `--hugepage-size 2M|1G` (default 2M: every x86 CPU has it).</summary>
    public static BootHugepages Parse(int count, string? size)
    {
        if (count <= 0)
        {
            throw PassthroughException.Input($"--hugepages {count}: expected a number of pages above 0.", "Give the pages the VM needs: its memory divided by the page size, e.g. --hugepages 16 --hugepage-size 1G for 16 GiB.");
        }

        long? kib = (size ?? "2M").Trim().ToUpperInvariant() switch
        {
            "2M" or "2MB" or "2MIB" => 2048,
            "1G" or "1GB" or "1GIB" => 1024 * 1024,
            _ => null,
        };
        return kib is { } pageKiB
            ? new BootHugepages(count, pageKiB)
            : throw PassthroughException.Input($"--hugepage-size {size}: x86 hugepages are 2M or 1G.", "Use --hugepage-size 2M (any CPU) or 1G (CPUs with the pdpe1gb flag).");
    }
}
