namespace Passthrough.Pci;

/// <summary>An upstream bridge on the path from the root complex to a function.</summary>
/// <param name="Address">The bridge's address (sysfs directory name).</param>
/// <param name="Acs">ACS extended capability present; null when config space was not readable.</param>
public sealed record UpstreamBridge(PciAddress Address, bool? Acs);

/// <summary>
/// One PCI function as the kernel shows it under /sys/bus/pci/devices/ADDRESS. Each property
/// notes its sysfs source (Documentation/ABI/testing/sysfs-bus-pci); null means "unknown"
/// (file missing or unreadable), never "false".
/// </summary>
public sealed record PciFunction
{
    public required PciAddress Address { get; init; }

    /// <summary>`vendor` (0x1002).</summary>
    public int? VendorId { get; init; }

    /// <summary>`device`.</summary>
    public int? DeviceId { get; init; }

    /// <summary>`subsystem_vendor`.</summary>
    public int? SubsystemVendorId { get; init; }

    /// <summary>`subsystem_device`.</summary>
    public int? SubsystemDeviceId { get; init; }

    /// <summary>`class` (0x030000).</summary>
    public PciClass? Class { get; init; }

    /// <summary>`revision`.</summary>
    public int? Revision { get; init; }

    /// <summary>From the pci.ids database; null when it is missing or has no entry.</summary>
    public string? VendorName { get; init; }

    public string? DeviceName { get; init; }

    /// <summary>Name of the `driver` symlink's target; null when unbound.</summary>
    public string? Driver { get; init; }

    /// <summary>`driver_override`; null when "(null)" or missing.</summary>
    public string? DriverOverride { get; init; }

    /// <summary>Number of the `iommu_group` symlink's target; null when there is none.</summary>
    public int? IommuGroup { get; init; }

    /// <summary>`reset_method` (kernel 5.15+), e.g. ["flr", "bus"]; empty when the file is empty; null when missing.</summary>
    public IReadOnlyList<string>? ResetMethods { get; init; }

    /// <summary>PCIe Device Capabilities bit 28, from `config`.</summary>
    public bool? Flr { get; init; }

    /// <summary>`boot_vga` is "1" (only VGA devices have the file).</summary>
    public bool? BootVga { get; init; }

    /// <summary>A `rom` file exists (the device has an expansion ROM BAR).</summary>
    public bool HasRom { get; init; }

    /// <summary>`sriov_totalvfs`; null when not SR-IOV capable.</summary>
    public int? SriovTotalVfs { get; init; }

    /// <summary>`sriov_numvfs`.</summary>
    public int? SriovNumVfs { get; init; }

    /// <summary>The `physfn` link's target: set only on an SR-IOV virtual function (sysfs-bus-pci, "physfn").</summary>
    public PciAddress? PhysicalFunction { get; init; }

    /// <summary>
    /// The bound driver's module uses vfio_pci_core (it is listed in /sys/module/vfio_pci_core/holders): vfio-pci
    /// itself or a VFIO variant driver (xe_vfio_pci, mlx5_vfio_pci, nvgrace_gpu_vfio_pci, ...). Null when unbound or
    /// unknown. The kernel's own fact, not a list of names (drivers/vfio/pci/Kconfig: variants build on VFIO_PCI_CORE).
    /// </summary>
    public bool? DriverUsesVfioPciCore { get; init; }

    /// <summary>Resizable BAR extended capability, from `config`.</summary>
    public bool? ResizableBar { get; init; }

    /// <summary>The resizable BARs (index, current and offered sizes), from `config` or `resourceN_resize`; empty: none; null: unknown.</summary>
    public IReadOnlyList<ResizableBar>? ResizableBars { get; init; }

    /// <summary>Header type bit 7, from `config`.</summary>
    public bool? Multifunction { get; init; }

    /// <summary>ACS on this function itself (bridges), from `config`.</summary>
    public bool? Acs { get; init; }

    /// <summary>Bridges from the root port down to this function's parent, nearest last.</summary>
    public IReadOnlyList<UpstreamBridge> UpstreamBridges { get; init; } = [];

    /// <summary>`d3cold_allowed`, `power_state` are not needed yet; `numa_node` neither.</summary>
    public bool IsDisplay => Class?.IsDisplay == true;

    /// <summary>Bridges are not assigned to guests and do not count against group viability.</summary>
    public bool IsBridge => Class?.IsBridge == true;

    /// <summary>Held by VFIO for a guest: vfio-pci, or a VFIO variant driver (which counts as assigned everywhere).</summary>
    public bool IsVfioBound => Driver is "vfio-pci" || IsVfioVariantBound;

    /// <summary>On a VFIO variant driver: not vfio-pci, but its module builds on vfio_pci_core.</summary>
    public bool IsVfioVariantBound => Driver is not null and not "vfio-pci" && DriverUsesVfioPciCore == true;

    /// <summary>An SR-IOV virtual function: passed on its own, never as a "function of the GPU" of its slot.</summary>
    public bool IsVirtualFunction => PhysicalFunction is not null;

    /// <summary>A human label: device name from pci.ids, else class description and ids.</summary>
    public string Label =>
        DeviceName ?? $"{Class?.Description ?? "Device"} [{IdsText}]";

    /// <summary>"1002:744c", or "????:????" when unknown.</summary>
    public string IdsText =>
        $"{VendorId?.ToString("x4", System.Globalization.CultureInfo.InvariantCulture) ?? "????"}:{DeviceId?.ToString("x4", System.Globalization.CultureInfo.InvariantCulture) ?? "????"}";

    /// <summary>A function can be reset between VM runs when it has FLR or any reset method.</summary>
    public bool? CanReset =>
        ResetMethods is { Count: > 0 } ? true
        : Flr == true ? true
        : ResetMethods is null && Flr is null ? null
        : false;
}
