using System.Globalization;
using System.Xml.Linq;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Domain;

/// <summary>CPU pinning (`--pin`) and hugepages (`--hugepages`) of `xml set` and `new`.</summary>
public static partial class DomainEdits
{
    /// <summary>cputune children libvirt writes before the pins (virDomainCputuneDefFormat); the pins go after them.</summary>
    private static readonly string[] CputuneBeforePins =
        ["shares", "global_period", "global_quota", "period", "quota", "emulator_period", "emulator_quota", "iothread_period", "iothread_quota"];

    /// <summary>The pins and hugepages of <paramref name="settings"/>, after the other settings (the topology among them).</summary>
    private static void SetCpuTuning(DomainDocument domain, DomainSettings settings, List<string> actions)
    {
        if (settings.Pin is { } pin)
        {
            var plan = PlanPinning(domain, pin, settings.Topology);

            // An explicit --topoext on|off has been applied already and decides.
            if (settings.Topoext is null && RequireTopoextForSmt(domain, pin, plan, settings.AddHostPassthroughCpu) is { } added)
            {
                actions.Add(added);
            }

            SetPinning(domain, plan);
        }

        if (settings.Hugepages is { } hugepages)
        {
            SetHugepages(domain, hugepages);
        }
    }

    /// <summary>
    /// Plans the pins for this domain: an explicit list gives the vCPU count itself; auto plans the domain's
    /// &lt;vcpu&gt; count (or --cpu-topology's, which must then agree with the host's threads).
    /// </summary>
    public static PinPlan PlanPinning(DomainDocument domain, CpuPinRequest request, CpuTopology? topology)
    {
        PinPlan plan;
        if (request.Cpus is { } cpus)
        {
            plan = PinPlanner.Explicit(request, cpus);
        }
        else
        {
            var vcpu = domain.Root.Element("vcpu");
            var count = topology?.Vcpus ?? DomainDocument.ParseNumber(vcpu?.Value)
                ?? throw PassthroughException.Input(
                    $"{domain.Source}: --pin auto needs the number of vCPUs, and the domain has no <vcpu>.",
                    "Add --cpu-topology 1,CORES,THREADS (or <vcpu>N</vcpu>) and try again.");
            plan = PinPlanner.Auto(request, count);
        }

        if (topology is { } asked && asked != plan.Topology)
        {
            throw PassthroughException.Input(
                $"--cpu-topology {asked.Sockets},{asked.Cores},{asked.Threads} does not match the pinned CPUs, which are {plan.Topology.Sockets},{plan.Topology.Cores},{plan.Topology.Threads} on this host.",
                "Leave --cpu-topology out: --pin writes the topology that matches the host's cores.");
        }

        return plan;
    }

    /// <summary>
    /// On an AMD host a pinned topology with threads &gt; 1 needs &lt;feature policy='require' name='topoext'/&gt;: QEMU
    /// describes AMD SMT siblings in CPUID leaf 0x8000001E, which exists only with topoext, so without it a Windows guest
    /// sees every thread as a core of its own. Added as `--topoext on` adds it (host-passthrough, or a new one with
    /// --cpu host-passthrough; refused with that remedy otherwise), and to a host-model CPU, which takes features too.
    /// A topoext feature already there (even disabled) is the user's choice. Returns the action, or null.
    /// </summary>
    private static string? RequireTopoextForSmt(DomainDocument domain, CpuPinRequest pin, PinPlan plan, bool addCpu)
    {
        var threads = plan.Topology.Threads;
        if (!pin.AmdHost || threads < 2 || !domain.IsX86 || domain.Cpu?.Elements("feature").Any(f => f.Attribute("name")?.Value == "topoext") == true)
        {
            return null;
        }

        var cpu = domain.Cpu is { } existing && existing.Attribute("mode")?.Value == "host-model"
            ? existing
            : EnsureHostPassthrough(
                domain,
                $"--pin on this AMD host gives the guest {threads} threads per core, which it sees only with topoext, and that",
                addCpu,
                "Or add --topoext off to pin without it (the guest then takes each thread for a core of its own).");
        AddTopoext(cpu);
        return $"require topoext on the guest CPU: AMD host and {threads} threads per core, which the guest sees as SMT only with topoext";
    }

    /// <summary>
    /// Writes &lt;cputune&gt; vcpupin/emulatorpin/iothreadpin, the matching &lt;cpu&gt;&lt;topology&gt; and &lt;vcpu&gt;.
    /// Other cputune children (shares, quotas, vcpusched) are kept.
    /// </summary>
    public static void SetPinning(DomainDocument domain, PinPlan plan)
    {
        SetTopology(domain, plan.Topology);

        // formatdomain.html#cpu-tuning: emulatorpin "is not allowed if the placement attribute of <vcpu> is auto".
        var vcpu = domain.Root.Element("vcpu")!;
        if (vcpu.Attribute("placement") is { Value: "auto" } placement)
        {
            placement.Value = "static";
        }

        var cputune = domain.EnsureTop("cputune");
        var old = cputune.Elements().Where(e => e.Name.LocalName is "vcpupin" or "emulatorpin" or "iothreadpin").ToList();
        foreach (var e in old)
        {
            XmlLayout.Remove(e);
        }

        var pins = new List<XElement>();
        for (var i = 0; i < plan.Vcpus.Count; i++)
        {
            pins.Add(new XElement("vcpupin", new XAttribute("vcpu", Text(i)), new XAttribute("cpuset", Text(plan.Vcpus[i]))));
        }

        pins.Add(new XElement("emulatorpin", new XAttribute("cpuset", plan.HostCpus.ToString())));
        foreach (var id in IothreadIds(domain))
        {
            pins.Add(new XElement("iothreadpin", new XAttribute("iothread", Text(id)), new XAttribute("cpuset", plan.HostCpus.ToString())));
        }

        var after = cputune.Elements().LastOrDefault(e => CputuneBeforePins.Contains(e.Name.LocalName));
        var before = after is null ? cputune.Elements().FirstOrDefault() : null;
        foreach (var pin in pins)
        {
            after = XmlLayout.Insert(cputune, pin, after: after, before: after is null ? before : null);
        }
    }

    /// <summary>
    /// Adds or removes &lt;memoryBacking&gt;&lt;hugepages&gt;, keeping the other memoryBacking children
    /// (shared access for virtiofs, locked, source). A size is written in KiB as libvirt writes it back.
    /// </summary>
    public static void SetHugepages(DomainDocument domain, HugepagesRequest request)
    {
        var backing = domain.Root.Element("memoryBacking");
        if (!request.On)
        {
            if (backing?.Element("hugepages") is { } existing)
            {
                XmlLayout.Remove(existing);
                if (!backing.HasElements && !backing.HasAttributes && !backing.Nodes().OfType<XComment>().Any())
                {
                    XmlLayout.Remove(backing);
                }
            }

            return;
        }

        if (request.Size is { } size)
        {
            RequireMemoryMultipleOf(domain, size);
        }

        backing ??= domain.EnsureTop("memoryBacking");
        var hugepages = backing.Element("hugepages") ?? XmlLayout.Insert(backing, new XElement("hugepages"), before: backing.Elements().FirstOrDefault());
        if (request.Size is not { } wanted)
        {
            return;
        }

        var pages = hugepages.Elements("page").ToList();
        if (pages.Count == 1 && pages[0].Attribute("nodeset") is null && PageKiB(pages[0]) == wanted.KiB)
        {
            return;
        }

        foreach (var page in pages)
        {
            XmlLayout.Remove(page);
        }

        XmlLayout.Insert(hugepages, new XElement("page", new XAttribute("size", wanted.KiB.ToString(CultureInfo.InvariantCulture)), new XAttribute("unit", "KiB")));
    }

    /// <summary>QEMU backs guest RAM with whole pages: a memory size that is no multiple of the page does not start.</summary>
    private static void RequireMemoryMultipleOf(DomainDocument domain, HugepageSize size)
    {
        if (domain.Root.Element("memory") is { } memory && KiBOf(memory) is long kib && kib % size.KiB != 0)
        {
            throw PassthroughException.Input(
                $"{domain.Source}:{DomainDocument.LineOf(memory)}: the guest's memory ({kib} KiB) is no whole number of {size} pages.",
                $"Make <memory> a multiple of {size} (e.g. {(kib / size.KiB + 1) * size.KiB / 1024} MiB), or use --hugepage-size 2M.");
        }
    }

    private static long? PageKiB(XElement page) => KiBOf(page.Attribute("size")?.Value, page.Attribute("unit")?.Value);

    private static long? KiBOf(XElement element) => KiBOf(element.Value, element.Attribute("unit")?.Value);

    /// <summary>libvirt's scaled integers (formatdomain.html#memory-allocation): unit defaults to KiB; k/KiB = 1024 bytes, KB = 1000.</summary>
    private static long? KiBOf(string? value, string? unit)
    {
        if (!long.TryParse(value?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return null;
        }

        long? bytes = (unit ?? "KiB") switch
        {
            "b" or "bytes" => 1,
            "KB" => 1000,
            "k" or "K" or "KiB" => 1024,
            "MB" => 1000 * 1000,
            "M" or "MiB" => 1024 * 1024,
            "GB" => 1000L * 1000 * 1000,
            "G" or "GiB" => 1024L * 1024 * 1024,
            "T" or "TiB" => 1024L * 1024 * 1024 * 1024,
            _ => null,
        };
        return bytes is long b && n * b % 1024 == 0 ? n * b / 1024 : null;
    }

    /// <summary>The domain's I/O thread ids: &lt;iothreadids&gt; when given, else 1..&lt;iothreads&gt;.</summary>
    private static IEnumerable<int> IothreadIds(DomainDocument domain)
    {
        var ids = domain.Root.Element("iothreadids")?.Elements("iothread")
            .Select(e => DomainDocument.ParseNumber(e.Attribute("id")?.Value)).OfType<int>().ToList();
        if (ids is { Count: > 0 })
        {
            return ids;
        }

        var count = DomainDocument.ParseNumber(domain.Root.Element("iothreads")?.Value) ?? 0;
        return Enumerable.Range(1, Math.Max(count, 0));
    }

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
