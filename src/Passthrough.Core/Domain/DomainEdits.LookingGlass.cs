using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Passthrough.Domain;

/// <summary>The Looking Glass device a domain has: its style, size and the elements that carry it.</summary>
public sealed record LookingGlassFound(LookingGlassStyle Style, long? SizeBytes, XElement Element)
{
    public int? SizeMiB => SizeBytes is long b ? (int)(b / (1024 * 1024)) : null;
}

/// <summary>`xml add-looking-glass`: the IVSHMEM device Looking Glass reads frames from.</summary>
public static partial class DomainEdits
{
    /// <summary>libvirt's QEMU namespace for &lt;qemu:commandline&gt; (formatdomain.html, "QEMU command-line passthrough").</summary>
    public static readonly XNamespace QemuNs = "http://libvirt.org/schemas/domain/qemu/1.0";

    /// <summary>libvirt's device order after &lt;shmem&gt; (virDomainDefFormat): a new shmem goes before these.</summary>
    private static readonly string[] AfterShmem = ["memory", "iommu", "vsock", "crypto", "pstore"];

    /// <summary>
    /// Adds the Looking Glass device, or brings the one there to <paramref name="device"/>'s size and
    /// style: ivshmem-plain as &lt;shmem name='looking-glass'&gt;, or the kvmfr module's /dev/kvmfr0
    /// through the QEMU arguments of Looking Glass's doc/ivshmem_kvmfr.rst (the JSON syntax it gives
    /// for QEMU 6.2 and libvirt 7.9 on; its legacy syntax can collide with pcie-root-port slots).
    /// Returns notes for the user (the memory balloon Looking Glass's docs say to disable).
    /// </summary>
    public static IReadOnlyList<string> AddLookingGlass(DomainDocument domain, LookingGlassDevice device)
    {
        var devices = EnsureDevices(domain);
        var shmem = LookingGlassShmem(domain);
        if (device.Style == LookingGlassStyle.Ivshmem)
        {
            RemoveKvmfrArguments(domain);
            if (shmem is null)
            {
                shmem = new XElement("shmem", new XAttribute("name", LookingGlassMemory.DeviceName), new XElement("model", new XAttribute("type", "ivshmem-plain")), new XElement("size", new XAttribute("unit", "M"), "0"));
                var anchor = devices.Elements("shmem").LastOrDefault();
                XmlLayout.Insert(devices, shmem, after: anchor, before: anchor is null ? devices.Elements().FirstOrDefault(e => AfterShmem.Contains(e.Name.LocalName)) : null);
            }

            var model = domain.Ensure(shmem, "model", before: shmem.Elements().FirstOrDefault());
            model.SetAttributeValue("type", "ivshmem-plain");
            var size = domain.Ensure(shmem, "size", after: model);
            size.SetAttributeValue("unit", "M");
            size.Value = device.SizeMiB.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            if (shmem is not null)
            {
                XmlLayout.Remove(shmem);
            }

            SetKvmfrArguments(domain, device.SizeMiB);
        }

        var notes = new List<string>();
        if (domain.MemballoonModel != "none")
        {
            // doc/install_libvirt.rst, "Memballoon": the virtio balloon "causes major performance issues with VFIO passthrough".
            notes.Add($"{domain.Source}: the memory balloon is {(domain.MemballoonModel is { } m ? $"model='{m}'" : "libvirt's default (virtio)")}; Looking Glass's documentation says to disable it for VFIO passthrough: `passthrough xml set FILE --memballoon none`.");
        }

        return notes;
    }

    /// <summary>The Looking Glass device of a domain (the first one found), or null.</summary>
    public static LookingGlassFound? FindLookingGlass(DomainDocument domain)
    {
        if (LookingGlassShmem(domain) is { } shmem)
        {
            var size = shmem.Element("size");
            long? bytes = size is null ? null : DiskSizeBytes(size.Value, (string?)size.Attribute("unit") ?? "M");
            return new LookingGlassFound(LookingGlassStyle.Ivshmem, bytes, shmem);
        }

        if (KvmfrObjectArgument(domain) is { } arg)
        {
            var value = (string?)arg.Attribute("value") ?? string.Empty;
            long? bytes = JsonSize().Match(value) is { Success: true } j
                ? long.Parse(j.Groups[1].Value, CultureInfo.InvariantCulture)
                : LegacySize().Match(value) is { Success: true } l ? DiskSizeBytes(l.Groups[1].Value, l.Groups[2].Value is { Length: > 0 } u ? u : "B") : null;
            return new LookingGlassFound(LookingGlassStyle.Kvmfr, bytes, arg);
        }

        return null;
    }

    private static XElement? LookingGlassShmem(DomainDocument domain) =>
        domain.Devices?.Elements("shmem").FirstOrDefault(s => (string?)s.Attribute("name") == LookingGlassMemory.DeviceName);

    /// <summary>The -object argument of a memory backend with id looking-glass, in either syntax.</summary>
    private static XElement? KvmfrObjectArgument(DomainDocument domain) =>
        QemuArguments(domain).FirstOrDefault(a => IsLookingGlassObject((string?)a.Attribute("value")));

    private static IEnumerable<XElement> QemuArguments(DomainDocument domain) =>
        domain.Root.Elements(QemuNs + "commandline").Elements(QemuNs + "arg");

    private static bool IsLookingGlassObject(string? value) =>
        value is not null && value.Contains("memory-backend", StringComparison.Ordinal) && LookingGlassId().IsMatch(value);

    private static bool IsLookingGlassDevice(string? value) =>
        value is not null && value.Contains("ivshmem", StringComparison.Ordinal) && LookingGlassMemdev().IsMatch(value);

    private static void SetKvmfrArguments(DomainDocument domain, int sizeMiB)
    {
        var bytes = sizeMiB * 1024L * 1024;
        if (KvmfrObjectArgument(domain) is { } existing)
        {
            // Keep the syntax the user has; bring the size (and the device path) up to date.
            var value = (string)existing.Attribute("value")!;
            value = value.TrimStart().StartsWith('{')
                ? MemPathJson().Replace(JsonSizeValue().Replace(value, string.Create(CultureInfo.InvariantCulture, $"\"size\":{bytes}")), "\"mem-path\":\"" + LookingGlassMemory.KvmfrDevice + "\"")
                : MemPathLegacy().Replace(LegacySize().Replace(value, string.Create(CultureInfo.InvariantCulture, $"size={sizeMiB}M")), "mem-path=" + LookingGlassMemory.KvmfrDevice);
            existing.SetAttributeValue("value", value);
            return;
        }

        var commandline = EnsureQemuCommandline(domain);
        var args = new[]
        {
            "-device",
            "{\"driver\":\"ivshmem-plain\",\"id\":\"shmem-looking-glass\",\"memdev\":\"looking-glass\"}",
            "-object",
            string.Create(CultureInfo.InvariantCulture, $"{{\"qom-type\":\"memory-backend-file\",\"id\":\"looking-glass\",\"mem-path\":\"{LookingGlassMemory.KvmfrDevice}\",\"size\":{bytes},\"share\":true}}"),
        };
        var hasDevice = commandline.Elements(QemuNs + "arg").Any(a => IsLookingGlassDevice((string?)a.Attribute("value")));
        var anchor = commandline.Elements(QemuNs + "arg").LastOrDefault();
        foreach (var value in hasDevice ? args[2..] : args)
        {
            var arg = new XElement(QemuNs + "arg", new XAttribute("value", value));
            if (anchor is null)
            {
                XmlLayout.Insert(commandline, arg, before: commandline.Elements().FirstOrDefault());
            }
            else
            {
                XmlLayout.Insert(commandline, arg, after: anchor);
            }

            anchor = arg;
        }
    }

    private static void RemoveKvmfrArguments(DomainDocument domain)
    {
        foreach (var commandline in domain.Root.Elements(QemuNs + "commandline").ToList())
        {
            var args = commandline.Elements(QemuNs + "arg").ToList();
            for (var i = 1; i < args.Count; i++)
            {
                var value = (string?)args[i].Attribute("value");
                if ((IsLookingGlassObject(value) || IsLookingGlassDevice(value)) && (string?)args[i - 1].Attribute("value") is "-object" or "-device")
                {
                    XmlLayout.Remove(args[i - 1]);
                    XmlLayout.Remove(args[i]);
                }
            }

            if (!commandline.HasElements)
            {
                XmlLayout.Remove(commandline);
            }
        }
    }

    /// <summary>&lt;qemu:commandline&gt;, created last in the domain with xmlns:qemu declared on &lt;domain&gt; when missing.</summary>
    private static XElement EnsureQemuCommandline(DomainDocument domain)
    {
        var root = domain.Root;
        if (root.Element(QemuNs + "commandline") is { } existing)
        {
            return existing;
        }

        if (root.GetPrefixOfNamespace(QemuNs) is null)
        {
            root.SetAttributeValue(XNamespace.Xmlns + "qemu", QemuNs.NamespaceName);
        }

        return XmlLayout.Insert(root, new XElement(QemuNs + "commandline"), after: root.Elements().LastOrDefault());
    }

    /// <summary>A libvirt scaled integer in bytes ("64" with unit "M"); null when it does not parse.</summary>
    private static long? DiskSizeBytes(string number, string unit)
    {
        if (!long.TryParse(number.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return null;
        }

        // libvirt's scaled integers: single letters and KiB/MiB are powers of 1024, KB/MB powers of 1000.
        long? factor = unit.Trim() switch
        {
            "b" or "B" or "bytes" or "" => 1,
            "k" or "K" or "KiB" => 1L << 10,
            "KB" => 1000,
            "m" or "M" or "MiB" => 1L << 20,
            "MB" => 1000 * 1000,
            "g" or "G" or "GiB" => 1L << 30,
            "GB" => 1000L * 1000 * 1000,
            _ => null,
        };
        return factor is long f ? n * f : null;
    }

    [GeneratedRegex(@"(?:""id""\s*:\s*""looking-glass""|(?:^|,)id=looking-glass(?:,|$))")]
    private static partial Regex LookingGlassId();

    [GeneratedRegex(@"(?:""memdev""\s*:\s*""looking-glass""|(?:^|,)memdev=looking-glass(?:,|$))")]
    private static partial Regex LookingGlassMemdev();

    [GeneratedRegex(@"""size""\s*:\s*(\d+)")]
    private static partial Regex JsonSize();

    [GeneratedRegex(@"""size""\s*:\s*\d+")]
    private static partial Regex JsonSizeValue();

    [GeneratedRegex(@"(?<=^|,)size=(\d+)([KMGT]?)(?=,|$)")]
    private static partial Regex LegacySize();

    [GeneratedRegex(@"""mem-path""\s*:\s*""[^""]*""")]
    private static partial Regex MemPathJson();

    [GeneratedRegex(@"(?<=^|,)mem-path=[^,]*")]
    private static partial Regex MemPathLegacy();
}
