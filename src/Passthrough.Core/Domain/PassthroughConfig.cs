using System.Xml.Linq;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>How our hook handles a VM's devices (the per-VM contract in the developers' guide).</summary>
public enum PassthroughMode
{
    /// <summary>Devices stay on vfio-pci from boot; the hook only checks.</summary>
    Static,

    /// <summary>The hook binds the devices to vfio-pci before start and gives them back after stop.</summary>
    Dynamic,

    /// <summary>Dynamic, and the host desktop gives up the only GPU while the VM runs.</summary>
    SingleGpu,
}

/// <summary>
/// Our per-VM configuration:
/// &lt;metadata&gt;&lt;passthrough:config xmlns:passthrough="urn:passthrough:1" mode="..."&gt;.
/// Libvirt keeps foreign metadata as is (formatdomain.html#general-metadata).
/// </summary>
public sealed record PassthroughConfig(
    PassthroughMode Mode,
    string? DisplayManager,
    IReadOnlyList<string> Modules,
    IReadOnlyList<PciAddress> ExtraDevices,
    IReadOnlyDictionary<string, int> Timeouts)
{
    public const string NamespaceUri = "urn:passthrough:1";

    public static readonly XNamespace Ns = NamespaceUri;

    public static string ModeText(PassthroughMode mode) => mode switch
    {
        PassthroughMode.Static => "static",
        PassthroughMode.Dynamic => "dynamic",
        _ => "single-gpu",
    };

    public static PassthroughMode? ParseMode(string? text) => text switch
    {
        "static" => PassthroughMode.Static,
        "dynamic" => PassthroughMode.Dynamic,
        "single-gpu" => PassthroughMode.SingleGpu,
        _ => null,
    };

    /// <summary>The config element, or null.</summary>
    public static XElement? Element(DomainDocument domain) =>
        domain.Root.Element("metadata")?.Element(Ns + "config");

    /// <summary>Reads the config; an unknown mode is an input error naming the line.</summary>
    public static PassthroughConfig? Read(DomainDocument domain)
    {
        if (Element(domain) is not { } config)
        {
            return null;
        }

        var modeText = config.Attribute("mode")?.Value;
        var mode = ParseMode(modeText) ?? throw PassthroughException.Input(
            $"{domain.Source}:{DomainDocument.LineOf(config)}: passthrough:config mode '{modeText}' is not static, dynamic or single-gpu.",
            "Set it with `passthrough xml set FILE --passthrough-mode static|dynamic|single-gpu|off`.");
        var devices = new List<PciAddress>();
        foreach (var d in config.Elements(Ns + "device"))
        {
            devices.Add(PciAddress.Parse(d.Attribute("address")?.Value ?? string.Empty));
        }

        var timeouts = new Dictionary<string, int>(StringComparer.Ordinal);
        if (config.Element(Ns + "timeouts") is { } t)
        {
            foreach (var a in t.Attributes())
            {
                if (DomainDocument.ParseNumber(a.Value) is int seconds)
                {
                    timeouts[a.Name.LocalName] = seconds;
                }
            }
        }

        return new PassthroughConfig(
            mode,
            config.Element(Ns + "display-manager")?.Attribute("unit")?.Value,
            [.. config.Elements(Ns + "module").Select(m => m.Attribute("name")?.Value).OfType<string>()],
            devices,
            timeouts);
    }

    /// <summary>Host PCI functions our hook binds for this domain: every PCI hostdev plus the extra devices.</summary>
    public IReadOnlyList<PciAddress> BoundBy(DomainDocument domain) =>
        [.. domain.PciHostdevs.Select(h => h.Source).Concat(ExtraDevices).Distinct()];
}
