using System.Globalization;
using System.Xml.Linq;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>Feature edits of `xml set`: Hyper-V vendor id, KVM hidden, topoext, CPU topology.</summary>
public static partial class DomainEdits
{
    private static void SetHypervVendor(DomainDocument domain, string vendor)
    {
        if (vendor == "off")
        {
            RemoveAndPrune(domain.Features?.Element("hyperv")?.Element("vendor_id"));
            return;
        }

        RequireX86(domain, "--hyperv-vendor-id", "Hyper-V enlightenments are x86 CPUID leaves (libvirt's qemu_validate.c: \"Hyperv features are not supported for architecture\")");

        // QEMU's hv-vendor-id is at most 12 characters (libvirt rejects longer values).
        if (vendor.Length is 0 or > 12 || vendor.Any(c => c is '\'' or '"' or '<' or '&' || char.IsControl(c)))
        {
            throw PassthroughException.Input($"--hyperv-vendor-id '{vendor}': must be 1 to 12 plain characters.", "For example --hyperv-vendor-id randomid.");
        }

        if (domain.Features?.Element("hyperv") is { } existing && existing.Attribute("mode")?.Value == "passthrough")
        {
            // libvirt's schema: mode='passthrough' turns every enlightenment on and takes no children.
            throw PassthroughException.Input(
                $"{domain.Source}:{DomainDocument.LineOf(existing)}: <hyperv mode='passthrough'> takes no vendor_id.",
                "Switch it to <hyperv mode='custom'> with the enlightenments you want (see examples/domains/win11-passthrough.xml), then set the vendor id.");
        }

        var hyperv = domain.Ensure(EnsureFeatures(domain), "hyperv", () => new XElement("hyperv", new XAttribute("mode", "custom")));
        var vendorId = domain.Ensure(hyperv, "vendor_id");
        vendorId.SetAttributeValue("state", "on");
        vendorId.SetAttributeValue("value", vendor);
    }

    private static void SetTopoext(DomainDocument domain, bool on, bool addCpu)
    {
        var cpu = domain.Cpu;
        if (!on)
        {
            RemoveAndPrune(cpu?.Elements("feature").FirstOrDefault(f => f.Attribute("name")?.Value == "topoext"), pruneParent: false);
            return;
        }

        RequireX86(domain, "--topoext on", "topoext is an AMD x86 CPUID feature");
        AddTopoext(EnsureHostPassthrough(domain, "--topoext on", addCpu));
    }

    /// <summary>Adds (or makes required) &lt;feature policy='require' name='topoext'/&gt; in <paramref name="cpu"/>.</summary>
    private static void AddTopoext(XElement cpu)
    {
        var feature = cpu.Elements("feature").FirstOrDefault(f => f.Attribute("name")?.Value == "topoext");
        if (feature is null)
        {
            feature = new XElement("feature", new XAttribute("policy", "require"), new XAttribute("name", "topoext"));
            XmlLayout.Insert(cpu, feature, after: cpu.Elements("feature").LastOrDefault() ?? cpu.Elements().LastOrDefault(e => e.Name.LocalName is "topology" or "cache" or "model" or "vendor"), before: null);
        }

        feature.SetAttributeValue("policy", "require");
    }

    private static void SetTopology(DomainDocument domain, CpuTopology topology)
    {
        var cpu = domain.Cpu ?? domain.EnsureTop("cpu");
        var element = cpu.Element("topology");
        if (element is null)
        {
            element = new XElement("topology");
            var first = cpu.Elements().FirstOrDefault(e => e.Name.LocalName is "cache" or "feature" or "numa");
            var after = first is null ? cpu.Elements().LastOrDefault() : null;
            XmlLayout.Insert(cpu, element, after: after, before: first);
        }

        element.SetAttributeValue("sockets", topology.Sockets.ToString(CultureInfo.InvariantCulture));
        if (element.Attribute("dies") is { } dies && dies.Value != "1")
        {
            dies.Value = "1";
        }

        if (element.Attribute("clusters") is { } clusters && clusters.Value != "1")
        {
            clusters.Value = "1";
        }

        element.SetAttributeValue("cores", topology.Cores.ToString(CultureInfo.InvariantCulture));
        element.SetAttributeValue("threads", topology.Threads.ToString(CultureInfo.InvariantCulture));

        // libvirt requires the topology to match the maximum vCPU count.
        var vcpu = domain.Root.Element("vcpu") ?? domain.EnsureTop("vcpu");
        vcpu.Value = topology.Vcpus.ToString(CultureInfo.InvariantCulture);
        if (DomainDocument.ParseNumber(vcpu.Attribute("current")?.Value) is int current && current > topology.Vcpus)
        {
            vcpu.Attribute("current")!.Remove();
        }
    }

    /// <summary>Refuses an x86-only setting on a guest of another architecture, naming why.</summary>
    internal static void RequireX86(DomainDocument domain, string what, string why)
    {
        if (!domain.IsX86)
        {
            var type = domain.Os!.Element("type")!;
            throw PassthroughException.Input(
                $"{domain.Source}:{DomainDocument.LineOf(type)}: {what} applies to x86 guests only, this one is arch='{domain.Arch}': {why}.",
                "Leave it out for this guest; it is needed only for x86 Windows/Linux guests with an NVIDIA or AMD card.");
        }
    }

    private static XElement EnsureHostPassthrough(DomainDocument domain, string what, bool addCpu, string? alternative = null)
    {
        var orElse = alternative is null ? string.Empty : " " + alternative;
        var cpu = domain.Cpu;
        if (cpu is null)
        {
            if (!addCpu)
            {
                throw PassthroughException.Input(
                    $"{domain.Source}: {what} needs <cpu mode='host-passthrough'>, and the domain has no <cpu> element (libvirt then gives the guest its default CPU model).",
                    "Add --cpu host-passthrough to add it, or add <cpu mode='host-passthrough' check='none' migratable='on'/> after <features> yourself (virt-manager: CPUs, Copy host CPU configuration)." + orElse);
            }

            cpu = domain.EnsureTop("cpu");
            cpu.SetAttributeValue("mode", "host-passthrough");
            return cpu;
        }

        var mode = cpu.Attribute("mode")?.Value;
        if (mode is null && !cpu.HasElements)
        {
            cpu.SetAttributeValue("mode", "host-passthrough");
        }
        else if (mode != "host-passthrough")
        {
            throw PassthroughException.Input(
                $"{domain.Source}:{DomainDocument.LineOf(cpu)}: {what} needs <cpu mode='host-passthrough'>, this CPU is mode='{mode ?? "custom"}'.",
                "Change the CPU to host-passthrough first (virt-manager: CPUs, Copy host CPU configuration)." + orElse);
        }

        return cpu;
    }
}
