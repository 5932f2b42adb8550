using System.Xml.Linq;
using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>
/// The edits of `passthrough xml`. Each changes the document in place, touches only what it must,
/// and is idempotent: applying it twice gives the same document as applying it once.
/// </summary>
public static partial class DomainEdits
{
    /// <summary>Applies `xml set`; the outcome names what it did beyond the options (see <see cref="EditOutcome"/>).</summary>
    public static EditOutcome Set(DomainDocument domain, DomainSettings settings)
    {
        if (settings.HypervVendorId is { } vendor)
        {
            SetHypervVendor(domain, vendor);
        }

        if (settings.KvmHidden is bool hidden)
        {
            if (hidden)
            {
                // formatdomain.html: "Hide the KVM hypervisor from standard MSR based discovery";
                // QEMU's kvm=off is a property of its x86 CPUs only.
                RequireX86(domain, "--kvm-hidden on", "KVM hiding masks x86 CPUID/MSR discovery (QEMU's kvm=off is an x86 CPU property)");
                var kvm = domain.Ensure(EnsureFeatures(domain), "kvm");
                domain.Ensure(kvm, "hidden").SetAttributeValue("state", "on");
            }
            else if (domain.Features?.Element("kvm") is { } kvm)
            {
                RemoveAndPrune(kvm.Element("hidden"));
            }
        }

        if (settings.Topoext is bool topoext)
        {
            SetTopoext(domain, topoext, settings.AddHostPassthroughCpu);
        }

        if (settings.AddHostPassthroughCpu && domain.Cpu is null)
        {
            EnsureHostPassthrough(domain, "--cpu host-passthrough", addCpu: true);
        }

        if (settings.Topology is { } topology)
        {
            SetTopology(domain, topology);
        }

        if (settings.Ioapic is { } driver)
        {
            if (driver is not ("qemu" or "kvm"))
            {
                throw PassthroughException.Input($"--ioapic {driver}: expected qemu or kvm.");
            }

            domain.Ensure(EnsureFeatures(domain), "ioapic").SetAttributeValue("driver", driver);
        }

        if (settings.Smm is bool smm)
        {
            domain.Ensure(EnsureFeatures(domain), "smm").SetAttributeValue("state", smm ? "on" : "off");
        }

        if (settings.MemballoonNone)
        {
            var devices = EnsureDevices(domain);
            var balloon = devices.Element("memballoon") ?? XmlLayout.Insert(
                devices,
                new XElement("memballoon"),
                before: devices.Elements().FirstOrDefault(e => AfterHostdev.Skip(5).Contains(e.Name.LocalName)));
            balloon.SetAttributeValue("model", "none");
            foreach (var a in balloon.Attributes().Where(a => a.Name.LocalName is "autodeflate" or "freePageReporting").ToList())
            {
                a.Remove();
            }

            // model='none' takes no address, stats or driver.
            balloon.RemoveNodes();
        }

        if (settings.PassthroughOff)
        {
            SetPassthroughOff(domain);
        }
        else if (settings.PassthroughMode is { } mode)
        {
            SetPassthroughMode(domain, mode);
        }

        if (settings.KeepOnVfio is not null || settings.PassthroughMode == PassthroughMode.SingleGpu)
        {
            SetKeepOnVfio(domain, settings.KeepOnVfio);
        }

        var actions = new List<string>();
        SetCpuTuning(domain, settings, actions);
        return new EditOutcome(actions);
    }

    /// <summary>
    /// Adds or updates &lt;passthrough:config mode&gt; and hands the hostdevs our hook binds to it
    /// (managed='no': libvirt must not bind them itself).
    /// </summary>
    public static void SetPassthroughMode(DomainDocument domain, PassthroughMode mode)
    {
        if (domain.PassthroughConfig is { } config)
        {
            config.Mode = mode;
        }
        else
        {
            PassthroughConfig.Add(domain, mode);
        }

        foreach (var h in domain.PciHostdevs)
        {
            h.Managed = false;
        }
    }

    /// <summary>
    /// `--keep-on-vfio on|off`, and the check that a single-gpu VM does not end up with it: there the host needs its
    /// only GPU back for its display after the VM stops, so the hook gives the functions back anyway.
    /// </summary>
    private static void SetKeepOnVfio(DomainDocument domain, bool? keep)
    {
        var config = domain.PassthroughConfig;
        if (keep is bool on && config is null)
        {
            if (!on)
            {
                return;
            }

            throw PassthroughException.Input(
                $"{domain.Source}: --keep-on-vfio on is a setting of our hook, and this domain has no <passthrough:config>.",
                "Add --passthrough-mode dynamic: the hook then binds the GPU before start and, with --keep-on-vfio on, leaves it on vfio-pci after stop.");
        }

        if (config is null)
        {
            return;
        }

        if (keep is bool value)
        {
            config.KeepOnVfio = value;
        }

        if (config.Mode == PassthroughMode.SingleGpu && config.KeepOnVfio)
        {
            throw PassthroughException.Input(
                keep == true
                    ? $"{domain.Source}: --keep-on-vfio on does nothing for a single-gpu VM: after it stops the host needs its only GPU back for its display, so the hook gives the functions back anyway."
                    : $"{config.ReleaseAt}<passthrough:release keep-on-vfio=\"yes\"> does nothing for a single-gpu VM: after it stops the host needs its only GPU back for its display, so the hook gives the functions back anyway.",
                keep == true
                    ? "Leave --keep-on-vfio out; it is for a VM whose GPU is not the host's display (--passthrough-mode dynamic, with a second GPU for the host)."
                    : "Add --keep-on-vfio off to remove it, or keep --passthrough-mode dynamic if the host has a second GPU for its display.");
        }
    }

    /// <summary>Removes our config and gives the hostdevs back to libvirt (managed='yes').</summary>
    public static void SetPassthroughOff(DomainDocument domain)
    {
        if (domain.PassthroughConfig is not { } config)
        {
            return;
        }

        var hostdevs = domain.PciHostdevs;
        var bound = config.BoundBy(hostdevs);
        var metadata = config.Element.Parent!;
        XmlLayout.Remove(config.Element);
        if (!metadata.HasElements && !metadata.Nodes().OfType<XComment>().Any())
        {
            XmlLayout.Remove(metadata);
        }

        foreach (var h in hostdevs.Where(h => bound.Contains(h.Source)))
        {
            h.Managed = true;
        }
    }

    private static XElement EnsureFeatures(DomainDocument domain) => domain.EnsureTop("features");

    private static XElement EnsureDevices(DomainDocument domain) => domain.EnsureTop("devices");

    private static void RemoveAndPrune(XElement? element, bool pruneParent = true)
    {
        if (element is null)
        {
            return;
        }

        var parent = element.Parent;
        XmlLayout.Remove(element);
        if (pruneParent && parent is not null && !parent.HasElements && !parent.HasAttributes && parent.Parent?.Name == "features")
        {
            XmlLayout.Remove(parent);
        }
    }
}
