using Passthrough.Pci;

namespace Passthrough.Diagnostics;

/// <summary>What is known about resetting and rebinding one card family.</summary>
/// <param name="Name">"AMD Navi 33 (RDNA3)".</param>
/// <param name="Known">What the kernel, vendor-reset and users' reports say, one sentence.</param>
/// <param name="RebindFailures">Reported to hang or crash when given back to the host driver after a VM run.</param>
public sealed record ResetFamily(string Name, string Known, bool RebindFailures);

/// <summary>
/// Card families and what is known about their reset. Sources, by family:
/// - AMD GPUs: the kernel's drivers/pci/quirks.c marks every ATI/AMD VGA function quirk_no_pm_reset ("PCI: quirk
///   AMD/ATI VGA cards to avoid PM reset", 2014): the D3hot "reset" does nothing, so only a bus reset or a
///   device-specific one helps; mainline has no device-specific reset for any AMD GPU.
/// - gnif/vendor-reset (README, "Supported Devices"): AMD Polaris 10/11/12, Vega 10/20 and Navi 10/12/14 only;
///   those families are in <see cref="GpuChecks"/>' reset-bug table. Navi 2x, 3x, 4x and the Ryzen iGPUs are not covered.
/// - Navi 2x/3x/4x and Ryzen (Renoir .. Strix) iGPUs hanging or crashing on rebind to amdgpu after the VM stops: the
///   users' reports collected in issue 15 (trackers of the popular passthrough scripts); the workaround they use is
///   leaving the card on vfio-pci, which is &lt;passthrough:release keep-on-vfio="yes"/&gt;.
/// - NVIDIA: FLR or a bus reset works on GeForce cards; quirks.c quirk_nvidia_no_bus_reset takes the bus reset away
///   from 0x2340-0x234f (Hopper), which rely on FLR.
/// - Intel iGPUs: FLR (Gen11+); quirks.c reset_ivb_igd is the Ivy Bridge device-specific reset.
/// Device ids: the kernel's amdgpu_drv.c pciidlist and pci.ids (Navi 21 73a0-73bf, Navi 22 73c0-73df, Navi 23 73e0-73ff,
/// Navi 24 7420-743f, Navi 31 7440-745f, Navi 32 7460-747f, Navi 33 7480-749f, Navi 48 7550-755f, Navi 44 7590-759f).
/// </summary>
public static class ResetFamilies
{
    private const string NoVendorReset = "the kernel has no device-specific reset for it and vendor-reset does not cover it";

    private static readonly (int From, int To, string Name)[] AmdRanges =
    [
        (0x73a0, 0x73bf, "Navi 21 (RDNA2)"),
        (0x73c0, 0x73df, "Navi 22 (RDNA2)"),
        (0x73e0, 0x73ff, "Navi 23 (RDNA2)"),
        (0x7420, 0x743f, "Navi 24 (RDNA2)"),
        (0x7440, 0x745f, "Navi 31 (RDNA3)"),
        (0x7460, 0x747f, "Navi 32 (RDNA3)"),
        (0x7480, 0x749f, "Navi 33 (RDNA3)"),
        (0x7550, 0x755f, "Navi 48 (RDNA4)"),
        (0x7590, 0x759f, "Navi 44 (RDNA4)"),
    ];

    /// <summary>Ryzen APU graphics (amdgpu_drv.c pciidlist, pci.ids).</summary>
    private static readonly Dictionary<int, string> RyzenIgpus = new()
    {
        [0x15dd] = "Raven Ridge",
        [0x15d8] = "Picasso",
        [0x1636] = "Renoir",
        [0x164c] = "Lucienne",
        [0x1638] = "Cezanne",
        [0x15e7] = "Barcelo",
        [0x163f] = "Van Gogh",
        [0x1681] = "Rembrandt",
        [0x1506] = "Mendocino",
        [0x164e] = "Raphael",
        [0x13c0] = "Granite Ridge",
        [0x15bf] = "Phoenix",
        [0x15c8] = "Phoenix",
        [0x1900] = "Hawk Point",
        [0x150e] = "Strix Point",
        [0x1114] = "Krackan Point",
        [0x1586] = "Strix Halo",
    };

    /// <summary>The family of a GPU function and what is known about its reset; null when nothing particular is known.</summary>
    public static ResetFamily? Of(PciFunction f)
    {
        if (f.VendorId == 0x1002 && f.DeviceId is int amd)
        {
            foreach (var (from, to, name) in AmdRanges)
            {
                if (amd >= from && amd <= to)
                {
                    return new ResetFamily($"AMD {name}", $"{NoVendorReset}; users report it hanging or crashing when rebound to amdgpu after the VM stops", true);
                }
            }

            if (RyzenIgpus.TryGetValue(amd, out var apu))
            {
                return new ResetFamily($"AMD Ryzen iGPU ({apu})", $"an integrated GPU with no FLR; {NoVendorReset}; users report it hanging when rebound to amdgpu after the VM stops", true);
            }

            return null;
        }

        if (f.VendorId == 0x10de && f.DeviceId is int nv)
        {
            return nv is >= 0x2340 and <= 0x234f
                ? new ResetFamily("NVIDIA Hopper", "the kernel takes the bus reset away (quirk_nvidia_no_bus_reset) and relies on FLR", false)
                : new ResetFamily("NVIDIA", "GeForce and RTX cards reset with FLR or a bus reset and rebind to nvidia/nouveau", false);
        }

        if (f.VendorId == 0x8086 && f.IsDisplay && f.Address is { Bus: 0, Device: 2 })
        {
            return new ResetFamily("Intel iGPU", "resets with FLR and rebinds to i915/xe", false);
        }

        return null;
    }
}
