using System.Globalization;
using System.Xml.Linq;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Domain;

/// <summary>
/// &lt;passthrough:isolate cpus="auto|LIST"/&gt;: while the VM runs the host's own units keep off these CPUs.
/// <see cref="VmCpus"/> is what the VM gets: the LIST, or with auto the CPUs of the domain's &lt;vcpupin cpuset&gt;s.
/// </summary>
public sealed record CpuIsolation(CpuSet VmCpus, bool Auto);

/// <summary>
/// &lt;passthrough:hugepages allocate="yes"/&gt;: hugepages for the VM's memory are reserved at prepare and
/// given back at release. <see cref="PageKiB"/> is the domain's &lt;memoryBacking&gt;&lt;hugepages&gt;&lt;page size&gt;;
/// null: the host's default hugepage size.
/// </summary>
public sealed record HugepagesAllocation(long MemoryKiB, long? PageKiB)
{
    /// <summary>Pages of <paramref name="pageKiB"/> the VM's memory takes (rounded up: QEMU backs all of it).</summary>
    public long PagesOf(long pageKiB) => (MemoryKiB + pageKiB - 1) / pageKiB;
}

/// <summary>
/// What one VM asks of the host beyond its devices, read from our metadata and the domain: CPU isolation
/// and hugepage allocation. Parsed here (not in <see cref="PassthroughConfig"/>) so the binding config
/// stays as it was; bad values name the file and line.
/// </summary>
public sealed record VmTuning
{
    public static VmTuning None { get; } = new();

    public CpuIsolation? Isolation { get; init; }

    public HugepagesAllocation? Hugepages { get; init; }

    public bool Any => Isolation is not null || Hugepages is not null;

    public VmTuning WithIsolation(CpuIsolation? isolation) => this with { Isolation = isolation };

    public VmTuning WithHugepages(HugepagesAllocation? hugepages) => this with { Hugepages = hugepages };

    /// <summary>Reads the tuning of a &lt;domain&gt; whose &lt;passthrough:config&gt; is <paramref name="config"/>.</summary>
    public static VmTuning From(XElement domain, XElement config, string source) => new()
    {
        Isolation = config.Element(PassthroughConfig.Ns + "isolate") is { } isolate ? IsolationOf(domain, isolate, source) : null,
        Hugepages = config.Element(PassthroughConfig.Ns + "hugepages") is { } hugepages ? HugepagesOf(domain, hugepages, source) : null,
    };

    /// <summary>The union of the domain's &lt;cputune&gt;&lt;vcpupin cpuset&gt;s; empty when it pins nothing.</summary>
    public static CpuSet PinnedCpus(XElement domain, string source)
    {
        var pinned = CpuSet.Empty;
        foreach (var pin in domain.Element("cputune")?.Elements("vcpupin") ?? [])
        {
            var text = (string?)pin.Attribute("cpuset");
            if (!CpuSet.TryParse(text, out var cpus) || cpus.IsEmpty)
            {
                throw PassthroughException.Input(
                    $"{At(source, pin)}<vcpupin cpuset=\"{text}\"> is not a CPU list.",
                    "Write host CPUs as libvirt does, for example cpuset=\"2\" or cpuset=\"2-3\" (`passthrough xml set FILE --pin auto` writes them).");
            }

            pinned = pinned.Union(cpus);
        }

        return pinned;
    }

    /// <summary>The domain's &lt;memory&gt; in KiB (formatdomain.html#memory-allocation: unit defaults to KiB).</summary>
    public static long? MemoryKiB(XElement domain, string source)
    {
        if (domain.Element("memory") is not { } memory)
        {
            return null;
        }

        var unit = ((string?)memory.Attribute("unit"))?.Trim() ?? "KiB";
        long? factor = unit switch
        {
            "b" or "bytes" => 1,
            "KB" => 1000,
            "k" or "KiB" => 1L << 10,
            "MB" => 1000L * 1000,
            "M" or "MiB" => 1L << 20,
            "GB" => 1000L * 1000 * 1000,
            "G" or "GiB" => 1L << 30,
            "TB" => 1000L * 1000 * 1000 * 1000,
            "T" or "TiB" => 1L << 40,
            _ => null,
        };
        if (factor is null || !long.TryParse(memory.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw PassthroughException.Input(
                $"{At(source, memory)}<memory unit=\"{unit}\">{memory.Value.Trim()}</memory> is not a memory size.",
                "Write it as libvirt does, for example <memory unit='GiB'>16</memory>.");
        }

        return (long)Math.Ceiling(count * (double)factor.Value / 1024);
    }

    /// <summary>
    /// The page size of &lt;memoryBacking&gt;&lt;hugepages&gt; in KiB: the &lt;page&gt; without nodeset (or the
    /// first); null when the domain uses the default size; throws when the domain asks for no hugepages at all.
    /// </summary>
    public static long? PageKiB(XElement domain, string source, out bool backed)
    {
        var hugepages = domain.Element("memoryBacking")?.Element("hugepages");
        backed = hugepages is not null;
        var page = hugepages?.Elements("page").OrderBy(p => p.Attribute("nodeset") is null ? 0 : 1).FirstOrDefault();
        if (page is null)
        {
            return null;
        }

        var size = (string?)page.Attribute("size");
        var unit = ((string?)page.Attribute("unit"))?.Trim() ?? "KiB";
        long? factor = unit switch
        {
            "k" or "K" or "KiB" => 1,
            "M" or "MiB" => 1024,
            "G" or "GiB" => 1024 * 1024,
            _ => null,
        };
        return factor is not null && long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n * factor.Value
            : throw PassthroughException.Input(
                $"{At(source, page)}<page size=\"{size}\" unit=\"{unit}\"> is not a hugepage size.",
                "Write <page size='1' unit='G'/> or <page size='2' unit='M'/> (`passthrough xml set FILE --hugepages on --hugepage-size 1G`).");
    }

    private static CpuIsolation IsolationOf(XElement domain, XElement isolate, string source)
    {
        var text = ((string?)isolate.Attribute("cpus"))?.Trim();
        if (text == "auto")
        {
            var pinned = PinnedCpus(domain, source);
            return pinned.IsEmpty
                ? throw PassthroughException.Input(
                    $"{At(source, isolate)}<passthrough:isolate cpus=\"auto\"> needs the VM's CPUs, but the domain has no <cputune><vcpupin cpuset=...>.",
                    "Pin the vCPUs first (`passthrough xml set FILE --pin auto`), or name the CPUs: <passthrough:isolate cpus=\"2-7\"/>.")
                : new CpuIsolation(pinned, Auto: true);
        }

        return CpuSet.TryParse(text, out var cpus) && !cpus.IsEmpty
            ? new CpuIsolation(cpus, Auto: false)
            : throw PassthroughException.Input(
                $"{At(source, isolate)}<passthrough:isolate cpus=\"{text}\"> is not a CPU list.",
                "Write cpus=\"auto\" (the CPUs the vCPUs are pinned to) or a list such as cpus=\"2-7,10-15\".");
    }

    private static HugepagesAllocation? HugepagesOf(XElement domain, XElement element, string source)
    {
        var allocate = ((string?)element.Attribute("allocate"))?.Trim();
        if (allocate is "no")
        {
            return null;
        }

        if (allocate is not "yes")
        {
            throw PassthroughException.Input(
                $"{At(source, element)}<passthrough:hugepages allocate=\"{allocate}\"> must be \"yes\" or \"no\".",
                "Write <passthrough:hugepages allocate=\"yes\"/> to reserve the VM's hugepages while it runs.");
        }

        var page = PageKiB(domain, source, out var backed);
        if (!backed)
        {
            throw PassthroughException.Input(
                $"{At(source, element)}<passthrough:hugepages allocate=\"yes\"> but the domain has no <memoryBacking><hugepages/>: QEMU would not use the pages.",
                "Back the memory with hugepages (`passthrough xml set FILE --hugepages on`), or remove <passthrough:hugepages>.");
        }

        var memory = MemoryKiB(domain, source) ?? throw PassthroughException.Input(
            $"{source}: <passthrough:hugepages allocate=\"yes\"> but the domain has no <memory>.",
            "Give the VM its memory size, for example <memory unit='GiB'>16</memory>.");
        return new HugepagesAllocation(memory, page);
    }

    private static string At(string source, XElement element) =>
        $"{source}:{DomainDocument.LineOf(element)?.ToString(CultureInfo.InvariantCulture) ?? "?"}: ";
}
