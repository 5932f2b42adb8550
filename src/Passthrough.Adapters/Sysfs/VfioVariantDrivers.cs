using System.Collections.Concurrent;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// Tells VFIO variant drivers (xe_vfio_pci, mlx5_vfio_pci, nvgrace_gpu_vfio_pci, ...) by the kernel's own facts, not
/// by a list of names: every one builds on vfio_pci_core (drivers/vfio/pci/Kconfig: "select VFIO_PCI_CORE";
/// Documentation/driver-api/vfio-pci-device-specific-driver-acceptance.rst). A loaded module that uses another
/// shows in /sys/module/vfio_pci_core/holders/MODULE; a PCI driver names its module in
/// /sys/bus/pci/drivers/NAME/module. A driver not loaded yet is known by modules.dep (depmod(8)).
/// </summary>
public sealed class VfioVariantDrivers
{
    /// <summary>The generic driver; it builds on vfio_pci_core too but is not a variant.</summary>
    public const string GenericDriver = "vfio-pci";

    private readonly HostRoot _root;
    private readonly ConcurrentDictionary<string, bool> _uses = new(StringComparer.Ordinal);

    public VfioVariantDrivers(HostRoot root)
    {
        _root = root;
    }

    /// <summary>True when the (bound, loaded) PCI driver's module is a holder of vfio_pci_core; null for no driver.</summary>
    public bool? UsesVfioPciCore(string? driver) =>
        driver is null ? null : _uses.GetOrAdd(driver, d => SysfsFiles.LinkTarget(_root.Path($"/sys/module/vfio_pci_core/holders/{ModuleOf(d)}")) is not null);

    /// <summary>
    /// A VFIO variant driver on this host: loaded and holding vfio_pci_core, or installed for the running kernel with
    /// vfio-pci-core among its dependencies (modules.dep). vfio-pci itself is not a variant.
    /// </summary>
    public bool IsVariant(string name)
    {
        if (name is GenericDriver or "vfio_pci" || name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
        {
            return false;
        }

        if (UsesVfioPciCore(name) == true || SysfsFiles.LinkTarget(_root.Path($"/sys/module/vfio_pci_core/holders/{Normal(name)}")) is not null)
        {
            return true;
        }

        var release = SysfsFiles.ReadLine(_root.Path("/proc/sys/kernel/osrelease"));
        var dep = release is null ? null : SysfsFiles.ReadText(_root.Path($"/lib/modules/{release}/modules.dep"));
        if (dep is null)
        {
            return false;
        }

        // "kernel/drivers/vfio/pci/mlx5/mlx5-vfio-pci.ko.zst: kernel/drivers/vfio/pci/vfio-pci-core.ko.zst ..."
        var wanted = Normal(name);
        foreach (var line in dep.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && ModuleName(line[..colon]) == wanted)
            {
                return line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Any(d => ModuleName(d) == "vfio_pci_core");
            }
        }

        return false;
    }

    /// <summary>The module behind a PCI driver: its `module` link, else the driver name (modules use _ where drivers may use -).</summary>
    private string ModuleOf(string driver) =>
        SysfsFiles.LinkTargetName(_root.Path($"/sys/bus/pci/drivers/{driver}/module")) ?? Normal(driver);

    private static string Normal(string name) => name.Replace('-', '_');

    private static string ModuleName(string path)
    {
        var file = Path.GetFileName(path.Trim());
        var ko = file.IndexOf(".ko", StringComparison.Ordinal);
        return Normal(ko < 0 ? file : file[..ko]);
    }
}
