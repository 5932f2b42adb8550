using System.Globalization;
using System.Xml.Linq;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>
/// Our per-VM configuration, a typed view over the live
/// &lt;metadata&gt;&lt;passthrough:config xmlns:passthrough="urn:passthrough:1" mode="..."&gt; element.
/// Libvirt keeps foreign metadata as is (formatdomain.html#general-metadata). Getters check what
/// they read and name the file and line of a bad value; the hook, doctor, setup, lint and the
/// edits all read it here.
/// </summary>
public sealed class PassthroughConfig
{
    /// <summary>Our metadata namespace, the one place it is spelled.</summary>
    public const string NamespaceUri = "urn:passthrough:1";

    public static readonly XNamespace Ns = NamespaceUri;

    private readonly string _source;

    private PassthroughConfig(XElement element, string source)
    {
        Element = element;
        _source = source;
    }

    public XElement Element { get; }

    /// <summary>`mode`; an unknown mode is an input error naming the line.</summary>
    public PassthroughMode Mode
    {
        get
        {
            var text = (string?)Element.Attribute("mode");
            return PassthroughModes.TryParse(text, out var mode)
                ? mode
                : throw PassthroughException.Input(
                    $"{At(Element)}<passthrough:config mode=\"{text}\"> is not a mode (static, dynamic or single-gpu).",
                    "Use mode=\"static\", \"dynamic\" or \"single-gpu\": `passthrough xml set FILE --passthrough-mode static|dynamic|single-gpu|off`.");
        }

        set => Element.SetAttributeValue("mode", value.Name());
    }

    /// <summary>The display manager unit to stop (single-gpu); null: the unit behind display-manager.service.</summary>
    public string? DisplayManagerUnit
    {
        get
        {
            var dm = Element.Element(Ns + "display-manager");
            var unit = dm is null ? null : (string?)dm.Attribute("unit");
            return dm is not null && string.IsNullOrWhiteSpace(unit)
                ? throw PassthroughException.Input(
                    $"{At(dm)}<passthrough:display-manager> needs unit=\"NAME.service\".",
                    "Write the unit, for example <passthrough:display-manager unit=\"gdm.service\"/>, or leave the element out.")
                : unit?.Trim();
        }
    }

    /// <summary>Modules to unload before binding and reload after (single-gpu), in unload order.</summary>
    public IReadOnlyList<string> Modules =>
        [.. Element.Elements(Ns + "module").Select(m =>
        {
            var module = ((string?)m.Attribute("name"))?.Trim();
            return string.IsNullOrEmpty(module) || module.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                ? throw PassthroughException.Input(
                    $"{At(m)}<passthrough:module name=\"{module}\"> is not a module name.",
                    "Write the name lsmod shows, for example <passthrough:module name=\"nvidia_drm\"/>.")
                : module;
        })];

    /// <summary>Extra host devices to rebind (&lt;passthrough:device address&gt;), such as a USB controller.</summary>
    public IReadOnlyList<PciAddress> ExtraDevices =>
        [.. Element.Elements(Ns + "device").Select(d =>
        {
            var text = (string?)d.Attribute("address");
            return PciAddress.TryParse(text, out var address)
                ? address
                : throw PassthroughException.Input(
                    $"{At(d)}<passthrough:device address=\"{text}\"> is not a PCI address.",
                    "Write it as DDDD:BB:SS.F, for example 0000:00:14.0 (see `passthrough list --all`).");
        })];

    /// <summary>
    /// &lt;passthrough:release keep-on-vfio="yes"/&gt; (dynamic mode): after the VM stops its functions stay on vfio-pci,
    /// for cards that hang or crash when rebound to their host driver; `restore`/`unbind` still give them back.
    /// </summary>
    public bool KeepOnVfio
    {
        get
        {
            if (Element.Element(Ns + "release") is not { } release)
            {
                return false;
            }

            var text = (string?)release.Attribute("keep-on-vfio");
            return text switch
            {
                "yes" => true,
                "no" or null => false,
                _ => throw PassthroughException.Input(
                    $"{At(release)}<passthrough:release keep-on-vfio=\"{text}\"> is not yes or no.",
                    "Write <passthrough:release keep-on-vfio=\"yes\"/> to keep the functions on vfio-pci after the VM stops, or leave the element out."),
            };
        }

        set
        {
            var release = Element.Element(Ns + "release");
            if (!value)
            {
                release?.Attribute("keep-on-vfio")?.Remove();
                if (release is { HasAttributes: false, HasElements: false })
                {
                    XmlLayout.Remove(release);
                }

                return;
            }

            // In the order the README documents: after display-manager, module, device and timeouts, before bar and identity.
            release ??= XmlLayout.Insert(Element, new XElement(Ns + "release"), before: Element.Elements().FirstOrDefault(e => e.Name == Ns + "bar" || e.Name == Ns + "identity"));
            release.SetAttributeValue("keep-on-vfio", "yes");
        }
    }

    /// <summary>The line of &lt;passthrough:release&gt; (or of the config), for a finding about it.</summary>
    public string ReleaseAt => At(Element.Element(Ns + "release") ?? Element);

    /// <summary>BAR sizes to set while the VM runs (&lt;passthrough:bar index="0" size="8GiB" [device=...]&gt;); see <see cref="Binding.BarResizePlan"/>.
    /// The first element that is not well formed is an input error naming its line.</summary>
    public IReadOnlyList<Binding.BarRequest> Bars => [.. BarEntries.Select(e => e.Request ?? throw e.Error!)];

    /// <summary>Each &lt;passthrough:bar&gt; read on its own: its request, or the input error it is (lint reports every one; <see cref="Bars"/> stops at the first).</summary>
    public IReadOnlyList<BarEntry> BarEntries => [.. Element.Elements(Ns + "bar").Select(ReadBar)];

    private BarEntry ReadBar(XElement b)
    {
        var indexText = (string?)b.Attribute("index") ?? "0";
        if (!int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index > 5)
        {
            return new BarEntry(b, null, PassthroughException.Input($"{At(b)}<passthrough:bar index=\"{indexText}\"> is not a BAR index (0 to 5).", "Write the index `passthrough list --all` shows for the BAR (`--json`: resizableBars), e.g. index=\"0\"."));
        }

        var sizeText = (string?)b.Attribute("size");
        if (ResizableBar.ParseSize(sizeText) is not long bytes)
        {
            return new BarEntry(b, null, ResizableBar.SizeError(sizeText, At(b)));
        }

        var deviceText = (string?)b.Attribute("device");
        PciAddress? device = null;
        if (deviceText is not null)
        {
            if (!PciAddress.TryParse(deviceText, out var address))
            {
                return new BarEntry(b, null, PassthroughException.Input($"{At(b)}<passthrough:bar device=\"{deviceText}\"> is not a PCI address.", "Write it as DDDD:BB:SS.F, for example 0000:03:00.0."));
            }

            device = address;
        }

        return new BarEntry(b, new Binding.BarRequest(index, bytes, device), null);
    }

    /// <summary>A time limit of &lt;passthrough:timeouts NAME="SECONDS"&gt;; null when not given.</summary>
    public TimeSpan? Timeout(string name)
    {
        if (Element.Element(Ns + "timeouts") is not { } timeouts || (string?)timeouts.Attribute(name) is not { } text)
        {
            return null;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 3600
            ? TimeSpan.FromSeconds(seconds)
            : throw PassthroughException.Input(
                $"{At(timeouts)}<passthrough:timeouts {name}=\"{text}\"> is not a number of seconds.",
                $"Write a number of seconds between 1 and 3600, for example {name}=\"30\".");
    }

    /// <summary>The config of a &lt;domain&gt; element, or null when it has none.</summary>
    public static PassthroughConfig? In(XElement domain, string source) =>
        domain.Element("metadata")?.Element(Ns + "config") is { } config ? new PassthroughConfig(config, source) : null;

    /// <summary>Host PCI functions our hook binds for this domain: every PCI hostdev plus the extra devices.</summary>
    public IReadOnlyList<PciAddress> BoundBy(IEnumerable<PciHostdev> hostdevs) =>
        [.. hostdevs.Select(h => h.Source).Concat(ExtraDevices).Distinct()];

    /// <summary>Adds &lt;passthrough:config mode&gt; to the domain's metadata (created in libvirt's order when missing).</summary>
    internal static PassthroughConfig Add(DomainDocument domain, PassthroughMode mode)
    {
        var metadata = domain.EnsureTop("metadata");
        var element = XmlLayout.Insert(metadata, new XElement(
            Ns + "config",
            new XAttribute(XNamespace.Xmlns + "passthrough", NamespaceUri),
            new XAttribute("mode", mode.Name())));
        return new PassthroughConfig(element, domain.Source);
    }

    /// <summary>
    /// What identifies each passed function (&lt;passthrough:identity address ids subsystem path&gt;), written
    /// by add-gpu and new so the hook, doctor and `xml fix-addresses` find a function whose bus number moved.
    /// </summary>
    public IReadOnlyList<(PciAddress Address, DeviceIdentity Identity)> Identities =>
        [.. Element.Elements(Ns + "identity").Select(e =>
        {
            var text = (string?)e.Attribute("address");
            var ids = (string?)e.Attribute("ids");
            var path = (string?)e.Attribute("path");
            return PciAddress.TryParse(text, out var address) && !string.IsNullOrWhiteSpace(ids) && !string.IsNullOrWhiteSpace(path)
                ? (address, new DeviceIdentity(ids, (string?)e.Attribute("subsystem"), path))
                : throw PassthroughException.Input(
                    $"{At(e)}<passthrough:identity> needs address=\"DDDD:BB:SS.F\", ids=\"VVVV:DDDD\" and path.",
                    "Remove the element and run `passthrough xml add-gpu` again for the slot: it records the identity from the host.");
        })];

    /// <summary>Records (or updates) the identity of the function at <paramref name="address"/>.</summary>
    public void SetIdentity(PciAddress address, DeviceIdentity identity)
    {
        var element = IdentityElement(address);
        if (element is null)
        {
            element = new XElement(Ns + "identity", new XAttribute("address", address.ToString()));
            XmlLayout.Insert(Element, element, after: Element.Elements(Ns + "identity").LastOrDefault());
        }

        element.SetAttributeValue("ids", identity.Ids);
        element.SetAttributeValue("subsystem", identity.Subsystem);
        element.SetAttributeValue("path", identity.Path);
    }

    /// <summary>Moves each record from its old address to the new one (all found first, so two cards may swap).</summary>
    public void MoveIdentities(IReadOnlyDictionary<PciAddress, PciAddress> moves)
    {
        var elements = moves.Select(m => (Element: IdentityElement(m.Key), To: m.Value)).ToList();
        foreach (var (element, to) in elements)
        {
            element?.SetAttributeValue("address", to.ToString());
        }
    }

    /// <summary>Forgets the identity of the function at <paramref name="address"/> (its hostdev was removed).</summary>
    public void RemoveIdentity(PciAddress address)
    {
        if (IdentityElement(address) is { } element)
        {
            XmlLayout.Remove(element);
        }
    }

    private XElement? IdentityElement(PciAddress address) =>
        Element.Elements(Ns + "identity").FirstOrDefault(e => PciAddress.TryParse((string?)e.Attribute("address"), out var a) && a == address);

    private string At(XElement element) =>
        $"{_source}:{DomainDocument.LineOf(element)?.ToString(CultureInfo.InvariantCulture) ?? "?"}: ";
}

/// <summary>One &lt;passthrough:bar&gt; element and what it asks for, or the input error it is.</summary>
public sealed record BarEntry(XElement Element, Binding.BarRequest? Request, PassthroughException? Error)
{
    public int? Line => DomainDocument.LineOf(Element);
}
