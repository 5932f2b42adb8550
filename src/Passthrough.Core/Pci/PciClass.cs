namespace Passthrough.Pci;

/// <summary>
/// A 24-bit PCI class code (base class, subclass, programming interface), as in sysfs `class`
/// ("0x030000"). Names follow the PCI Code and ID Assignment Specification.
/// </summary>
public readonly record struct PciClass(int Code)
{
    public int BaseClass => (Code >> 16) & 0xff;

    public int SubClass => (Code >> 8) & 0xff;

    public int ProgrammingInterface => Code & 0xff;

    /// <summary>Base class 0x03: VGA, XGA, 3D or other display controller.</summary>
    public bool IsDisplay => BaseClass == 0x03;

    /// <summary>Base class 0x06: host, ISA, PCI-to-PCI and other bridges.</summary>
    public bool IsBridge => BaseClass == 0x06;

    /// <summary>A PCI-to-PCI bridge (root port, switch port): the ones that carry ACS.</summary>
    public bool IsPciBridge => BaseClass == 0x06 && SubClass is 0x04 or 0x09;

    public string Hex => Code.ToString("x6", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A short description for people, from the base class and subclass.</summary>
    public string Description => (BaseClass, SubClass) switch
    {
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x08) => "NVMe controller",
        (0x01, _) => "Storage controller",
        (0x02, _) => "Network controller",
        (0x03, 0x00) => "VGA compatible controller",
        (0x03, 0x02) => "3D controller",
        (0x03, _) => "Display controller",
        (0x04, 0x01) => "Audio device",
        (0x04, 0x03) => "Audio device",
        (0x04, _) => "Multimedia controller",
        (0x05, _) => "Memory controller",
        (0x06, 0x00) => "Host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, _) => "Bridge",
        (0x07, _) => "Communication controller",
        (0x08, _) => "System peripheral",
        (0x0c, 0x03) => "USB controller",
        (0x0c, 0x05) => "SMBus",
        (0x0c, 0x80) => "Serial bus controller",
        (0x0c, _) => "Serial bus controller",
        (0x10, _) => "Encryption controller",
        (0x11, _) => "Signal processing controller",
        (0x13, _) => "Non-essential instrumentation",
        _ => "Device",
    };

    public override string ToString() => Hex;
}
