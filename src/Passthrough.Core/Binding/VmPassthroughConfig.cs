using System.Xml;
using System.Xml.Linq;
using Passthrough.Domain;
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
/// Read through the domain model (<see cref="PassthroughConfig"/>, <see cref="PciHostdev"/>), so the
/// hook sees the same devices and mode as doctor, setup, lint and the edits.
/// </summary>
public sealed record VmPassthroughConfig
{
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

    /// <summary>CPU isolation and hugepages while the VM runs (&lt;passthrough:isolate&gt;, &lt;passthrough:hugepages&gt;).</summary>
    public VmTuning Tuning { get; init; } = VmTuning.None;

    /// <summary>Hostdevs that name a VFIO variant driver (&lt;driver model='xe_vfio_pci'/&gt;, libvirt 10.0+): the binder binds that one.</summary>
    public IReadOnlyDictionary<PciAddress, string> DriverModels { get; init; } = new Dictionary<PciAddress, string>();

    /// <summary>&lt;passthrough:release keep-on-vfio="yes"/&gt;: after the VM stops its functions stay on vfio-pci.</summary>
    public bool KeepOnVfio { get; init; }

    /// <summary>add-gpu recorded what identifies the functions (&lt;passthrough:identity&gt;): the hook checks they did not move.</summary>
    public bool RecordsIdentities { get; init; }

    /// <summary>BAR sizes to set while the VM runs (&lt;passthrough:bar&gt;).</summary>
    public IReadOnlyList<BarRequest> Bars { get; init; } = [];

    /// <summary>Every function the engine moves to vfio-pci, in address order.</summary>
    public IReadOnlyList<PciAddress> Devices => [.. Hostdevs.Concat(ExtraDevices).Distinct().Order()];

    public VmPassthroughConfig WithMode(PassthroughMode mode) => this with { Mode = mode };

    public VmPassthroughConfig WithTimeouts(BindingTimeouts timeouts) => this with { Timeouts = timeouts };

    public VmPassthroughConfig WithTuning(VmTuning tuning) => this with { Tuning = tuning };

    /// <summary>True when the domain XML carries our metadata; a cheap test for the hook's no-op path.</summary>
    public static bool HasOurMetadata(XDocument domain) =>
        domain.Root is { } root && PassthroughConfig.In(root, "domain XML") is not null;

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

        var config = PassthroughConfig.In(root, source);
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

        var defaults = BindingTimeouts.Default;
        return new VmPassthroughConfig
        {
            DomainName = name,
            DomainUuid = guid.ToString("D"),
            Mode = config.Mode,
            DisplayManagerUnit = config.DisplayManagerUnit,
            Modules = config.Modules,
            Hostdevs = [.. PciHostdev.In(root, source).Select(h => h.Source)],
            DriverModels = PciHostdev.In(root, source).Where(h => h.DriverModel is not null).DistinctBy(h => h.Source).ToDictionary(h => h.Source, h => h.DriverModel!),
            KeepOnVfio = config.KeepOnVfio,
            RecordsIdentities = config.Identities.Count > 0,
            ExtraDevices = config.ExtraDevices,
            Bars = config.Bars,
            Timeouts = new BindingTimeouts
            {
                SysfsWrite = config.Timeout("sysfs-write") ?? defaults.SysfsWrite,
                UnitStop = config.Timeout("unit-stop") ?? defaults.UnitStop,
                UnitStart = config.Timeout("unit-start") ?? defaults.UnitStart,
            },
            Tuning = VmTuning.From(root, config.Element, source),
        };
    }
}
