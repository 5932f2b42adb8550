using System.Xml.Linq;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>A host input device to hand to the guest: its /dev/input path and whether it is a keyboard.</summary>
public sealed record EvdevDevice(string Path, bool IsKeyboard)
{
    /// <summary>udev's by-id names end in -event-kbd for keyboards (60-persistent-input.rules).</summary>
    public static EvdevDevice FromPath(string path) => new(path, path.EndsWith("-event-kbd", StringComparison.Ordinal));
}

/// <summary>What `xml add-input --evdev` adds: the devices and the keys that switch them between host and guest.</summary>
public sealed record EvdevInput(IReadOnlyList<EvdevDevice> Devices, string GrabToggle)
{
    /// <summary>libvirt's grabToggle values (formatdomain.html, "Input devices"; since 7.6.0).</summary>
    public static IReadOnlyList<string> GrabToggles { get; } = ["ctrl-ctrl", "alt-alt", "shift-shift", "meta-meta", "scrolllock", "ctrl-scrolllock"];

    public const string DefaultGrabToggle = "ctrl-ctrl";
}

/// <summary>`xml add-input`: host keyboards and mice as &lt;input type='evdev'&gt;.</summary>
public static partial class DomainEdits
{
    /// <summary>libvirt's device order after &lt;input&gt; (virDomainDefFormat): a new input goes before these.</summary>
    private static readonly string[] AfterInput = ["tpm", "graphics", "sound", "audio", "video", "hostdev", "redirdev", "redirfilter", "hub", "watchdog", "memballoon", "rng", "panic", "shmem", "memory", "iommu", "vsock", "crypto"];

    /// <summary>
    /// Adds one &lt;input type='evdev'&gt; per device, or updates the one with that source. The first
    /// keyboard gets grab='all' repeat='on' and the grab toggle: QEMU's input-linux grabs every
    /// evdev device, and toggling the grab_all one toggles them all (formatdomain.html, "Input devices",
    /// type evdev since libvirt 7.4.0, grabToggle since 7.6.0). Other devices get a plain source.
    /// </summary>
    public static void AddEvdevInputs(DomainDocument domain, EvdevInput input)
    {
        if (input.Devices.Count == 0)
        {
            throw PassthroughException.Input("No input devices to add.", "Give --evdev auto, or the /dev/input/by-id/...-event-kbd and -event-mouse paths.");
        }

        if (!EvdevInput.GrabToggles.Contains(input.GrabToggle))
        {
            throw PassthroughException.Input($"--grab-toggle {input.GrabToggle}: not a key combination libvirt knows.", $"Use one of {string.Join(", ", EvdevInput.GrabToggles)}.");
        }

        var devices = EnsureDevices(domain);
        var existing = devices.Elements("input").Where(i => (string?)i.Attribute("type") == "evdev").ToList();

        // The grab stays with a keyboard that has it already (re-running must not move it).
        var grabber = input.Devices.FirstOrDefault(d => d.IsKeyboard && existing.Any(e => SourceOf(e) == d.Path && (string?)e.Element("source")?.Attribute("grab") == "all"))
            ?? input.Devices.FirstOrDefault(d => d.IsKeyboard && !existing.Any(e => SourceOf(e) != d.Path && (string?)e.Element("source")?.Attribute("grab") == "all"));
        foreach (var device in input.Devices.DistinctBy(d => d.Path))
        {
            var element = existing.FirstOrDefault(e => SourceOf(e) == device.Path);
            if (element is null)
            {
                element = new XElement("input", new XAttribute("type", "evdev"), new XElement("source", new XAttribute("dev", device.Path)));
                var anchor = devices.Elements("input").LastOrDefault();
                XmlLayout.Insert(devices, element, after: anchor, before: anchor is null ? devices.Elements().FirstOrDefault(e => AfterInput.Contains(e.Name.LocalName)) : null);
                existing.Add(element);
            }

            var source = element.Element("source")!;
            if (device == grabber)
            {
                source.SetAttributeValue("grab", "all");
                source.SetAttributeValue("repeat", "on");
                source.SetAttributeValue("grabToggle", input.GrabToggle);
            }
            else if (device.IsKeyboard)
            {
                source.SetAttributeValue("repeat", "on");
            }
        }

        // One grab toggle for all: the other grab_all device (if any) follows the new toggle keys.
        foreach (var other in existing.Select(e => e.Element("source")).OfType<XElement>().Where(s => (string?)s.Attribute("grab") == "all"))
        {
            other.SetAttributeValue("grabToggle", input.GrabToggle);
        }
    }

    /// <summary>The evdev sources of a domain, with the line they are on.</summary>
    public static IReadOnlyList<(string Path, int? Line)> EvdevSources(DomainDocument domain) =>
        [.. (domain.Devices?.Elements("input") ?? []).Where(i => (string?)i.Attribute("type") == "evdev")
            .Select(i => (SourceOf(i), DomainDocument.LineOf(i))).Where(p => p.Item1 is not null).Select(p => (p.Item1!, p.Item2))];

    private static string? SourceOf(XElement input) => (string?)input.Element("source")?.Attribute("dev");
}
