using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>GPU hostdev edits: `xml add-gpu` and `xml remove-gpu`.</summary>
public static partial class DomainEdits
{
    /// <summary>libvirt's device order after &lt;hostdev&gt; (virDomainDefFormat): a new hostdev goes before these.</summary>
    private static readonly string[] AfterHostdev = ["redirdev", "redirfilter", "hub", "watchdog", "memballoon", "rng", "panic", "shmem", "memory", "iommu", "vsock", "crypto"];

    /// <summary>
    /// Adds (or brings up to date) one hostdev per function of a GPU, all on one guest bus and slot
    /// with the host's function numbers and multifunction='on' on function 0. On q35 that slot is
    /// a free pcie-root-port (one is added when none is free).
    /// </summary>
    public static void AddGpu(DomainDocument domain, GpuAttachment gpu)
    {
        if (gpu.Functions.Count == 0)
        {
            throw PassthroughException.Input($"No functions to attach for {gpu.Slot}.", "Give --functions 0,1 or leave it out to take them from the host.");
        }

        if (!gpu.AllowI440fx && domain.IsQemu && domain.IsI440fx)
        {
            // Lint's own rule on the document as it would be: add-gpu never writes what lint calls an error.
            var probe = domain.Clone();
            AddGpu(probe, gpu with { AllowI440fx = true });
            if (DomainLint.PcieOnI440fx(probe) is { } finding)
            {
                throw PassthroughException.Input(
                    $"{finding.Message} (lint: {finding.Id}); nothing was written.",
                    finding.Remedy + " To attach it anyway, give --allow-i440fx (lint will still report it).");
            }
        }

        var functions = gpu.Functions.Distinct().Order().ToList();
        var devices = EnsureDevices(domain);
        var existing = domain.PciHostdevs.Where(h => gpu.VirtualFunction ? h.Source == gpu.Slot.Function(functions[0]) : h.Source.Slot == gpu.Slot).ToList();

        // Reuse the guest slot the card already has when all its functions agree on one.
        var guestSlots = existing.Where(h => h.Guest is not null).Select(h => (h.Guest!.Value.Domain, h.Guest.Value.Bus, h.Guest.Value.Slot)).Distinct().ToList();
        (int Domain, int Bus, int Slot) target;
        if (guestSlots.Count == 1 && existing.All(h => h.Guest is not null))
        {
            target = guestSlots[0];
        }
        else
        {
            var ignore = existing.Select(h => h.Element).ToHashSet();
            if (domain.IsQ35)
            {
                target = (0, GuestSlots.FreeRootPort(domain, ignore), 0);
            }
            else
            {
                var (bus, slot) = GuestSlots.FreeSlotOnPciBus(domain, ignore);
                target = (0, bus, slot);
            }
        }

        var hookBinds = domain.PassthroughConfig is not null;
        var multi = !gpu.VirtualFunction && (functions.Count > 1 || existing.Any(h => !functions.Contains(h.Source.Function)));
        foreach (var function in functions)
        {
            var source = gpu.Slot.Function(function);
            var hostdev = existing.FirstOrDefault(h => h.Source == source);
            if (hostdev is null)
            {
                var element = PciHostdev.Create(source, gpu.Managed ?? !hookBinds);
                var anchor = devices.Elements("hostdev").LastOrDefault();
                var before = anchor is null ? devices.Elements().FirstOrDefault(e => AfterHostdev.Contains(e.Name.LocalName)) : null;
                XmlLayout.Insert(devices, element, after: anchor, before: before);
                hostdev = PciHostdev.From(element, domain.Source)!;
            }
            else if (gpu.Managed is bool managed)
            {
                hostdev.Managed = managed;
            }

            if (gpu.DriverModel is not null)
            {
                hostdev.DriverModel = gpu.DriverModel;
            }

            if (function == functions[0])
            {
                if (gpu.RomBar is bool bar)
                {
                    hostdev.RomBar = bar;
                }

                if (gpu.RomFile is not null)
                {
                    hostdev.RomFile = gpu.RomFile;
                }
            }

            // A lone virtual function is function 0 of its guest slot, whatever its host function number.
            hostdev.Guest = new GuestPciAddress(target.Domain, target.Bus, target.Slot, gpu.VirtualFunction ? 0 : function, multi && function == functions[0]);
        }
    }

    /// <summary>Removes every hostdev whose source is a function of the slot.</summary>
    public static int RemoveGpu(DomainDocument domain, PciSlot slot) => Remove(domain, h => h.Source.Slot == slot);

    /// <summary>Removes the hostdev of one host function (an SR-IOV virtual function passed on its own).</summary>
    public static int RemoveFunction(DomainDocument domain, PciAddress function) => Remove(domain, h => h.Source == function);

    private static int Remove(DomainDocument domain, Func<PciHostdev, bool> which)
    {
        var victims = domain.PciHostdevs.Where(which).ToList();
        foreach (var h in victims)
        {
            XmlLayout.Remove(h.Element);
        }

        return victims.Count;
    }
}
