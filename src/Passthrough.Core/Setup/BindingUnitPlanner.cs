using System.Globalization;
using System.Text;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Setup;

/// <summary>The boot-time binding unit, for functions whose drivers load before modprobe.d applies.</summary>
internal static class BindingUnitPlanner
{
    /// <summary>Functions whose driver is built in or loads before modprobe.d applies (seed 003: the
    /// GPU's xHCI and I2C/UCSI functions), so only a boot-time rebind moves them to vfio-pci.</summary>
    public static bool NeedsBindingUnit(PciFunction f, HostFacts facts)
    {
        if (f.Driver == "vfio-pci" && f.DriverOverride == "vfio-pci")
        {
            return false;
        }

        if (!f.IsDisplay && !VfioIdsPlanner.IsAudio(f))
        {
            return true;
        }

        // A bound driver that is not a loaded module is built into the kernel.
        return f.Driver is { } driver && driver != "vfio-pci" && facts.LoadedModules is { } loaded
            && !loaded.Contains(driver.Replace('-', '_')) && !loaded.Contains(driver);
    }

    public static string EarlyReason(PciFunction f) =>
        $"{f.Address} ({f.Class?.Description ?? "function"}{(f.Driver is null ? string.Empty : ", driver " + f.Driver)}) has a driver that is built in or loads before modprobe.d applies";

    /// <summary>The systemd unit that rebinds those functions at boot.</summary>
    public static string Unit(IReadOnlyList<PciFunction> functions)
    {
        var sb = new StringBuilder(SetupPlanner.Header);
        sb.Append("# Binds functions whose drivers are built in or load early to vfio-pci, through\n");
        sb.Append("# driver_override and drivers_probe (Documentation/ABI/testing/sysfs-bus-pci).\n");
        sb.Append("[Unit]\n");
        sb.Append("Description=Bind ").AppendJoin(' ', functions.Select(f => f.Address.ToString())).Append(" to vfio-pci (passthrough)\n");
        sb.Append("After=systemd-modules-load.service\n");
        sb.Append("Before=libvirtd.service virtqemud.service\n");
        foreach (var f in functions)
        {
            sb.Append(CultureInfo.InvariantCulture, $"ConditionPathExists=/sys/bus/pci/devices/{f.Address}\n");
        }

        sb.Append("\n[Service]\nType=oneshot\nRemainAfterExit=yes\n");
        sb.Append("ExecStart=/sbin/modprobe vfio-pci\n");
        foreach (var f in functions)
        {
            var dev = $"/sys/bus/pci/devices/{f.Address}";
            sb.Append(CultureInfo.InvariantCulture, $"ExecStart=/bin/sh -c 'echo vfio-pci > {dev}/driver_override'\n");
            sb.Append(CultureInfo.InvariantCulture, $"ExecStart=/bin/sh -c 'if [ -e {dev}/driver ]; then echo {f.Address} > {dev}/driver/unbind; fi'\n");
            sb.Append(CultureInfo.InvariantCulture, $"ExecStart=/bin/sh -c 'echo {f.Address} > /sys/bus/pci/drivers_probe'\n");
        }

        sb.Append("\n[Install]\nWantedBy=multi-user.target\n");
        return sb.ToString();
    }
}
