namespace Passthrough.Host;

/// <summary>An IOMMU hardware unit (/sys/class/iommu/NAME): dmar0 on Intel, ivhd0 on AMD.</summary>
public sealed record IommuUnit(string Name);

/// <summary>
/// Facts about the host outside the PCI tree. Null means unknown (file missing or unreadable).
/// </summary>
public sealed record HostFacts
{
    /// <summary>/proc/cmdline, trimmed; empty string when the file was empty (seed 004).</summary>
    public string? KernelCommandLine { get; init; }

    /// <summary>/proc/sys/kernel/osrelease.</summary>
    public string? KernelRelease { get; init; }

    /// <summary>/proc/modules, first column; null when unreadable.</summary>
    public IReadOnlySet<string>? LoadedModules { get; init; }

    /// <summary>/proc/cpuinfo `vendor_id`: GenuineIntel, AuthenticAMD.</summary>
    public string? CpuVendor { get; init; }

    /// <summary>/proc/cpuinfo `model name` of the first CPU.</summary>
    public string? CpuModel { get; init; }

    /// <summary>The virtualization flags present in /proc/cpuinfo (vmx, svm), empty when none.</summary>
    public IReadOnlyList<string>? VirtualizationFlags { get; init; }

    /// <summary>Threads per core greater than one (/proc/cpuinfo `siblings` vs `cpu cores`).</summary>
    public bool? Smt { get; init; }

    /// <summary>/sys/class/iommu entries.</summary>
    public IReadOnlyList<IommuUnit> IommuUnits { get; init; } = [];

    /// <summary>/sys/class/dmi/id/bios_vendor, bios_version, bios_date.</summary>
    public string? BiosVendor { get; init; }

    public string? BiosVersion { get; init; }

    public string? BiosDate { get; init; }

    /// <summary>/sys/class/dmi/id/board_vendor, board_name.</summary>
    public string? BoardVendor { get; init; }

    public string? BoardName { get; init; }

    public bool IsIntel => CpuVendor == "GenuineIntel";

    public bool IsAmd => CpuInfo.IsAmdVendor(CpuVendor);
}
