using System.Globalization;
using Passthrough.Pci;
using static Passthrough.Diagnostics.Doctor;

namespace Passthrough.Diagnostics;

/// <summary>Issue 15's doctor checks: SR-IOV virtual functions, each on its own, and GPUs without display outputs (laptops).</summary>
public static class SriovChecks
{
    /// <summary>
    /// `sriov`: per SR-IOV GPU how many VFs are enabled of how many possible (sriov_numvfs / sriov_totalvfs,
    /// Documentation/ABI/testing/sysfs-bus-pci), then each enabled display VF on its own: its IOMMU group, its driver.
    /// </summary>
    public static IEnumerable<Finding> VirtualFunctions(DoctorEvidence e)
    {
        const string id = "sriov";
        foreach (var pf in e.Host.Functions.Where(f => f.IsDisplay && f.SriovTotalVfs is > 0))
        {
            var dir = $"/sys/bus/pci/devices/{pf.Address}";
            var evidence = new[] { $"{dir}/sriov_numvfs: {pf.SriovNumVfs?.ToString(CultureInfo.InvariantCulture) ?? "?"}", $"{dir}/sriov_totalvfs: {pf.SriovTotalVfs}" };
            var vfs = e.Host.Functions.Where(f => f.PhysicalFunction == pf.Address).ToList();
            if (pf.SriovNumVfs is 0 or null)
            {
                yield return F(id, Severity.Info, pf.Address.ToString(),
                    $"{pf.Label} can have {pf.SriovTotalVfs} SR-IOV virtual functions; none is enabled.", evidence,
                    $"To give VMs a share of it and keep it for the host, enable some: echo 2 > {dir}/sriov_numvfs (then pass one with `passthrough xml add-gpu FILE --slot {pf.Address.Slot.Function(1)}`).");
                continue;
            }

            yield return Finding.Ok(id, pf.Address.ToString(),
                $"{SriovRules.Summary(pf)} on {pf.Label} ({string.Join(", ", vfs.Select(v => v.Address))}); each is passed on its own, {pf.Address} stays the host's.",
                evidence);

            foreach (var vf in vfs)
            {
                var subject = vf.Address.ToString();
                var vfEvidence = new List<string> { $"/sys/bus/pci/devices/{vf.Address}/physfn: {pf.Address}", $"/sys/bus/pci/devices/{vf.Address}/driver: {vf.Driver ?? "(none)"}" };
                var group = e.Host.GroupOf(vf.Address);
                if (group is null)
                {
                    yield return F(id, Severity.Error, subject, $"Virtual function {vf.Address} has no IOMMU group: vfio cannot take it.", vfEvidence,
                        "Turn on the IOMMU (VT-d in the firmware, intel_iommu=on); `passthrough doctor` says more under iommu-enabled.");
                    continue;
                }

                vfEvidence.Add($"/sys/kernel/iommu_groups/{group.Id}/devices: {string.Join(' ', group.Members)}");
                var viability = e.Host.Viability(group, [vf.Address]);
                if (!viability.Viable)
                {
                    yield return F(id, Severity.Error, subject, $"Virtual function {vf.Address} cannot be passed alone: {viability.Reason}.", vfEvidence,
                        "Pass the other members too, or check the IOMMU groups with `passthrough groups`.");
                }
                else if (vf.IsVfioBound)
                {
                    var how = vf.IsVfioVariantBound ? $"the VFIO variant driver {vf.Driver} (its module uses vfio_pci_core)" : "vfio-pci";
                    yield return Finding.Ok(id, subject, $"Virtual function {vf.Address} is on {how}, alone in IOMMU group {group.Id}: ready for a VM.", [.. vfEvidence]);
                }
                else
                {
                    yield return F(id, Severity.Info, subject,
                        $"Virtual function {vf.Address} is alone in IOMMU group {group.Id} and on {vf.Driver ?? "no driver"}; the hook (dynamic mode) or `passthrough bind {vf.Address}` moves it to vfio-pci without touching {pf.Address}.",
                        vfEvidence, $"Pass it with `passthrough xml add-gpu FILE --slot {vf.Address}`.");
                }
            }
        }
    }

    /// <summary>
    /// `gpu-outputs`: a 3D controller (class 0302: laptop dGPUs behind the iGPU, compute cards) has no display outputs,
    /// so the VM's picture needs Looking Glass or remote display; and without a ROM BAR its VBIOS lives in the system
    /// firmware: the ACPI _ROM method of the GPU's device (ACPI spec, Appendix B "Video Extensions"; nouveau reads it in
    /// nvkm/subdev/bios/shadowacpi.c), AMD's VFCT table (amdgpu_bios.c amdgpu_acpi_vfct_bios) or the platform
    /// firmware image itself; not the card's expansion ROM BAR.
    /// </summary>
    public static IEnumerable<Finding> DisplayOutputs(DoctorEvidence e, IReadOnlyList<Gpu> targets)
    {
        const string id = "gpu-outputs";
        foreach (var gpu in targets)
        {
            var f = gpu.Functions.FirstOrDefault(x => x.IsDisplay) ?? gpu.Functions[0];
            if (f.Class is not { BaseClass: 0x03, SubClass: 0x02 })
            {
                continue;
            }

            var evidence = new List<string> { $"/sys/bus/pci/devices/{f.Address}/class: 0x{f.Class.Value.Hex}", $"/sys/bus/pci/devices/{f.Address}/rom: {(f.HasRom ? "present" : "absent")}" };
            yield return F(id, Severity.Warning, f.Address.ToString(),
                $"{f.Label} is a 3D controller with no display outputs: the VM will show no picture on a monitor.", evidence,
                "Watch the VM through Looking Glass (IVSHMEM) or remote display (Sunshine/Moonlight, RDP, SPICE) with a virtual display in the guest.");
            if (!f.HasRom)
            {
                yield return F(id, Severity.Info, f.Address.ToString(),
                    $"{f.Label} has no ROM BAR: on laptops its VBIOS comes from the system firmware (the ACPI _ROM method, AMD's VFCT table, or the ROM inside the platform's firmware image), not from the card.",
                    evidence,
                    "The guest driver may need it: extract the VBIOS from the firmware (or from a host dump of the ACPI _ROM) and give it with `passthrough xml add-gpu FILE --slot ... --rom FILE`.");
            }
        }
    }
}
