using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Binding;

/// <summary>Per-VM time limits (&lt;passthrough:timeouts&gt;), so a stuck driver or unit cannot hang libvirt.</summary>
public sealed record BindingTimeouts
{
    public static BindingTimeouts Default { get; } = new();

    public TimeSpan SysfsWrite { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan UnitStop { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan UnitStart { get; init; } = TimeSpan.FromSeconds(30);

    public BindingTimeouts WithSysfsWrite(TimeSpan value) => this with { SysfsWrite = value };

    public BindingTimeouts WithUnitStop(TimeSpan value) => this with { UnitStop = value };

    public BindingTimeouts WithUnitStart(TimeSpan value) => this with { UnitStart = value };
}

/// <summary>
/// What one VM asks of the binding engine, read from its domain XML: our
/// &lt;passthrough:config&gt; metadata (GUIDE: per-VM configuration contract), the PCI hostdevs'
/// source addresses, and the domain's name and uuid. The configuration travels with the VM.
/// </summary>
public sealed record VmPassthroughConfig
{
    public const string Namespace = "urn:passthrough:1";

    private static readonly XNamespace Ns = Namespace;

    public required string DomainName { get; init; }

    /// <summary>The domain's uuid; the journal is keyed by it so a rename does not lose state.</summary>
    public required string DomainUuid { get; init; }

    public required PassthroughMode Mode { get; init; }

    /// <summary>The display manager unit to stop (single-gpu); null: the unit behind display-manager.service.</summary>
    public string? DisplayManagerUnit { get; init; }

    /// <summary>Modules to unload before binding and reload after (single-gpu), in unload order.</summary>
    public IReadOnlyList<string> Modules { get; init; } = [];

    /// <summary>Sources of the domain's &lt;hostdev type='pci'&gt; elements.</summary>
    public IReadOnlyList<PciAddress> Hostdevs { get; init; } = [];

    /// <summary>Extra host devices to rebind (&lt;passthrough:device&gt;), such as a USB controller.</summary>
    public IReadOnlyList<PciAddress> ExtraDevices { get; init; } = [];

    public BindingTimeouts Timeouts { get; init; } = BindingTimeouts.Default;

    /// <summary>Every function the engine moves to vfio-pci, in address order.</summary>
    public IReadOnlyList<PciAddress> Devices => [.. Hostdevs.Concat(ExtraDevices).Distinct().Order()];

    public VmPassthroughConfig WithMode(PassthroughMode mode) => this with { Mode = mode };

    public VmPassthroughConfig WithTimeouts(BindingTimeouts timeouts) => this with { Timeouts = timeouts };

    /// <summary>True when the domain XML carries our metadata; a cheap test for the hook's no-op path.</summary>
    public static bool HasOurMetadata(XDocument domain) =>
        domain.Root?.Element("metadata")?.Element(Ns + "config") is not null;

    /// <summary>Parses domain XML text; null when it has no &lt;passthrough:config&gt;.</summary>
    public static VmPassthroughConfig? FromXml(string xml, string source)
    {
        XDocument document;
        try
        {
            document = XDocument.Parse(xml, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            throw PassthroughException.Input(
                $"{source}: line {e.LineNumber}, column {e.LinePosition}: the domain XML is not well-formed (it ends early or a tag does not match).",
                "Give the XML that `virsh dumpxml` prints.",
                e);
        }

        return FromDomain(document, source);
    }

    /// <summary>Reads the configuration of one domain; null when it has no &lt;passthrough:config&gt;.</summary>
    public static VmPassthroughConfig? FromDomain(XDocument domain, string source = "domain XML")
    {
        var root = domain.Root;
        if (root is null || root.Name != "domain")
        {
            throw PassthroughException.Input($"{source}: the root element is not <domain>.", "Give the XML that `virsh dumpxml` prints.");
        }

        var config = root.Element("metadata")?.Element(Ns + "config");
        if (config is null)
        {
            return null;
        }

        var name = root.Element("name")?.Value.Trim();
        if (string.IsNullOrEmpty(name))
        {
            throw PassthroughException.Input($"{source}: the domain has no <name>.", "Give the XML that `virsh dumpxml` prints.");
        }

        var uuid = root.Element("uuid")?.Value.Trim();
        if (string.IsNullOrEmpty(uuid) || !Guid.TryParse(uuid, out var guid))
        {
            throw PassthroughException.Input(
                $"{source}: domain '{name}' has no valid <uuid>.",
                "libvirt always passes the uuid to hooks; for a hand-written file add <uuid> (uuidgen makes one).");
        }

        var modeText = (string?)config.Attribute("mode");
        if (!PassthroughModes.TryParse(modeText, out var mode))
        {
            throw PassthroughException.Input(
                $"{source}:{Line(config)}: <passthrough:config mode=\"{modeText}\"> is not a mode.",
                "Use mode=\"static\", \"dynamic\" or \"single-gpu\".");
        }

        var dm = config.Element(Ns + "display-manager");
        var unit = dm is null ? null : (string?)dm.Attribute("unit");
        if (dm is not null && string.IsNullOrWhiteSpace(unit))
        {
            throw PassthroughException.Input(
                $"{source}:{Line(dm)}: <passthrough:display-manager> needs unit=\"NAME.service\".",
                "Write the unit, for example <passthrough:display-manager unit=\"gdm.service\"/>, or leave the element out.");
        }

        var modules = config.Elements(Ns + "module").Select(m =>
        {
            var module = ((string?)m.Attribute("name"))?.Trim();
            return string.IsNullOrEmpty(module) || module.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                ? throw PassthroughException.Input(
                    $"{source}:{Line(m)}: <passthrough:module name=\"{module}\"> is not a module name.",
                    "Write the name lsmod shows, for example <passthrough:module name=\"nvidia_drm\"/>.")
                : module;
        }).ToList();

        var extra = config.Elements(Ns + "device").Select(d =>
        {
            var text = (string?)d.Attribute("address");
            return PciAddress.TryParse(text, out var address)
                ? address
                : throw PassthroughException.Input(
                    $"{source}:{Line(d)}: <passthrough:device address=\"{text}\"> is not a PCI address.",
                    "Write it as DDDD:BB:SS.F, for example 0000:00:14.0 (see `passthrough list --all`).");
        }).ToList();

        var timeouts = BindingTimeouts.Default;
        if (config.Element(Ns + "timeouts") is { } t)
        {
            timeouts = new BindingTimeouts
            {
                SysfsWrite = Seconds(t, "sysfs-write", source) ?? timeouts.SysfsWrite,
                UnitStop = Seconds(t, "unit-stop", source) ?? timeouts.UnitStop,
                UnitStart = Seconds(t, "unit-start", source) ?? timeouts.UnitStart,
            };
        }

        return new VmPassthroughConfig
        {
            DomainName = name,
            DomainUuid = guid.ToString("D"),
            Mode = mode,
            DisplayManagerUnit = unit?.Trim(),
            Modules = modules,
            Hostdevs = ReadHostdevs(root, source),
            ExtraDevices = extra,
            Timeouts = timeouts,
        };
    }

    /// <summary>libvirt's &lt;hostdev mode='subsystem' type='pci'&gt;&lt;source&gt;&lt;address domain= bus= slot= function=/&gt;.</summary>
    private static List<PciAddress> ReadHostdevs(XElement root, string source)
    {
        var result = new List<PciAddress>();
        var hostdevs = root.Element("devices")?.Elements("hostdev") ?? [];
        foreach (var hostdev in hostdevs.Where(h => (string?)h.Attribute("type") == "pci"))
        {
            var address = hostdev.Element("source")?.Element("address");
            if (address is null)
            {
                continue;
            }

            int Part(string attribute, int fallback)
            {
                var text = (string?)address.Attribute(attribute);
                if (text is null)
                {
                    return fallback;
                }

                var ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    ? int.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value)
                    : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
                return ok && value >= 0
                    ? value
                    : throw PassthroughException.Input(
                        $"{source}:{Line(address)}: hostdev address {attribute}='{text}' is not a number.",
                        "Write it in libvirt's form: domain='0x0000' bus='0x03' slot='0x00' function='0x0'.");
            }

            result.Add(new PciAddress(Part("domain", 0), Part("bus", -1), Part("slot", -1), Part("function", 0)));
            if (result[^1].Bus < 0 || result[^1].Device < 0)
            {
                throw PassthroughException.Input(
                    $"{source}:{Line(address)}: a PCI hostdev address needs bus and slot.",
                    "Write it in libvirt's form: domain='0x0000' bus='0x03' slot='0x00' function='0x0'.");
            }
        }

        return result;
    }

    private static TimeSpan? Seconds(XElement element, string attribute, string source)
    {
        var text = (string?)element.Attribute(attribute);
        if (text is null)
        {
            return null;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 3600
            ? TimeSpan.FromSeconds(seconds)
            : throw PassthroughException.Input(
                $"{source}:{Line(element)}: <passthrough:timeouts {attribute}=\"{text}\"> is not a number of seconds.",
                $"Write a number of seconds between 1 and 3600, for example {attribute}=\"30\".");
    }

    private static string Line(XObject node) =>
        ((IXmlLineInfo)node).HasLineInfo() ? ((IXmlLineInfo)node).LineNumber.ToString(CultureInfo.InvariantCulture) : "?";
}
