using System.Text.RegularExpressions;

namespace Passthrough.Diagnostics;

/// <summary>
/// A known error signature: the pattern that recognises it and what to tell the user. Texts may
/// use {1}, {2} for the pattern's groups (a group number, an address).
/// </summary>
public sealed record ErrorSignature(string Id, string Title, Regex Pattern, string Cause, string Check, string Remedy);

/// <summary>One recognised error: the signature, the text that matched, and the texts with groups filled in.</summary>
public sealed record ErrorExplanation(string Id, string Title, string Seen, string Cause, string Check, string Remedy);

/// <summary>
/// The error signatures `passthrough explain` knows, from QEMU, libvirt, vfio and the kernel, as
/// users have reported them (seeds 000-004). Patterns may span lines: QEMU's messages are wrapped
/// by libvirt and by forum posts.
/// </summary>
public static partial class ErrorCatalog
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    public static IReadOnlyList<ErrorSignature> Signatures { get; } =
    [
        new("firmware-1to1-mapping", "Firmware requires a 1:1 IOMMU mapping for the device",
            new Regex(@"(?:(\d{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): )?Firmware has requested this device have a 1:1 IOMMU mapping", Options),
            "The firmware marked the device for direct (identity) DMA through an RMRR (Intel) or IVMD unity-map (AMD) region; since kernel 6.10 the kernel refuses to let vfio remap such a device, and the group stays in identity mode.",
            "`cat /sys/kernel/iommu_groups/*/type` for the GPU's group (identity), the BIOS version (`cat /sys/class/dmi/id/bios_version`), the kernel version (`uname -r`).",
            "Nothing is certain; each worked for someone: another BIOS version (a user with the same board got it back by reverting the BIOS), Resizable BAR off in the firmware, a different slot, or a kernel before 6.10."),
        new("container-setup-invalid", "vfio failed to set up the container for group {1}",
            new Regex(@"failed to setup container for group (\d+):[\s\S]{0,200}?Invalid argument", Options),
            "The kernel refused to attach IOMMU group {1} to QEMU's vfio container. Most often the group is stuck in an identity domain because the firmware demands a 1:1 mapping (the kernel log says \"Firmware has requested this device have a 1:1 IOMMU mapping\").",
            "`dmesg | grep -i '1:1 IOMMU'`, `cat /sys/kernel/iommu_groups/{1}/type`, and that every device of group {1} is on vfio-pci.",
            "Run `passthrough doctor` (firmware-1to1-mapping, group-type); if the 1:1 line is there, try another BIOS version, Resizable BAR off, or another slot."),
        new("vfio-map-dma-einval", "VFIO_MAP_DMA failed: Invalid argument",
            new Regex(@"VFIO_MAP_DMA failed: Invalid argument|vfio_(?:container_)?dma_map\([^)]*\) = -22", Options),
            "QEMU asked the IOMMU to map a guest region it cannot map (an MMIO or reserved range, often a BAR above the IOMMU's address width). QEMU reports it and goes on.",
            "Whether the guest works: if it does, this line is often harmless (seed 000 ran for months with it). If the guest has no picture, check the ROM and the host's address width (`dmesg | grep 'Host address width'`).",
            "If the guest works, ignore it. If not: give the GPU a verified VBIOS (<rom file=...>, rombar off as seed 000 did) and make sure Above 4G Decoding is on."),
        new("bar-cant-reserve", "BAR {1} can't be reserved",
            new Regex(@"BAR (\d+): can't reserve", Options),
            "Something else already claimed that memory range of the GPU: almost always the boot framebuffer (BOOTFB, efifb, simpledrm) that the firmware and kernel put on the boot display.",
            "`grep -iE 'BOOTFB|efifb|simpledrm' /proc/iomem` and whether the GPU is the boot display (`cat /sys/bus/pci/devices/ADDRESS/boot_vga`).",
            "Add initcall_blacklist=sysfb_init (or video=efifb:off on older kernels) to the command line, or make another GPU primary in the firmware; for single-GPU, let the hooks unbind the framebuffer."),
        new("group-not-viable", "IOMMU group {1} is not viable",
            new Regex(@"group (\d+) is not viable", Options),
            "Another device in IOMMU group {1} is still on a host driver; vfio hands out a group only when every endpoint in it is on vfio-pci (or unbound).",
            "`ls /sys/kernel/iommu_groups/{1}/devices` and each device's driver (`passthrough groups`).",
            "Pass every function of the card (and every endpoint of the group) to the VM, or move the card to a slot with its own group."),
        new("set-iommu-eperm", "Failed to set iommu for container: Operation not permitted",
            new Regex(@"Failed to set iommu for container: Operation not permitted", Options),
            "The vfio IOMMU driver refused the container: usually no interrupt remapping (vfio_iommu_type1 then refuses unless allow_unsafe_interrupts=1), or the IOMMU is not really on.",
            "`dmesg | grep -i remapping` (\"DMAR-IR: Enabled IRQ remapping\" / \"AMD-Vi: Interrupt remapping enabled\") and `ls /sys/kernel/iommu_groups`.",
            "Enable VT-d/AMD-Vi and interrupt remapping (x2APIC) in the firmware; only for trusted guests: options vfio_iommu_type1 allow_unsafe_interrupts=1."),
        new("no-interrupt-remapping", "Interrupt Remapping hardware not found",
            new Regex(@"Interrupt Remapping hardware not found|No interrupt remapping support", Options),
            "The platform has no working interrupt remapping, so assigning a device would let the guest inject interrupts into the host; vfio refuses by default.",
            "`dmesg | grep -i remapping` and the firmware's VT-d / IOMMU / x2APIC settings; an old BIOS can be the cause.",
            "Enable interrupt remapping in the firmware or update the BIOS; as a last resort for trusted guests: options vfio_iommu_type1 allow_unsafe_interrupts=1."),
        new("memlock", "Cannot allocate memory while pinning guest RAM (memlock limit)",
            new Regex(@"(?:vfio|VFIO_MAP_DMA|dma_map|memlock|locked memory)[^\n]{0,200}Cannot allocate memory|Cannot allocate memory[^\n]{0,80}(?:vfio|memlock)|RLIMIT_MEMLOCK \(\d+\) exceeded|= -12 \(Cannot allocate memory\)", Options),
            "vfio pins all guest RAM in host memory; the QEMU process hit its locked-memory limit (RLIMIT_MEMLOCK), or the host has not enough free memory (or hugepages) to pin.",
            "`systemctl show virtqemud -p LimitMEMLOCK` (or libvirtd), `grep -i huge /proc/meminfo`, `free -g`, and whether you use qemu:///session (limits from your login).",
            "Set LimitMEMLOCK=infinity in a virtqemud/libvirtd drop-in (seed 003) or raise memlock in limits.conf for session VMs; reduce the VM's memory or free hugepages."),
        new("romfile-missing", "QEMU cannot find the ROM file",
            new Regex(@"failed to find romfile ""?([^""\s]+)""?", Options),
            "The domain names a VBIOS file ({1}) that QEMU cannot open: wrong path, or SELinux/AppArmor keeps QEMU out of the directory.",
            "`ls -lZ {1}` (it must exist, be readable, and under SELinux carry a label QEMU may read, e.g. in /usr/share/qemu or /var/lib/libvirt).",
            "Put the ROM in /usr/share/qemu (or /var/lib/libvirt), `restorecon` it, and point <rom file='...'/> at it; check it with `passthrough rom check`."),
        new("stuck-in-d3", "The device is stuck in D3 and cannot be powered on",
            new Regex(@"Unable to power on device, stuck in D3|stuck in D3", Options),
            "The GPU stayed in a low-power state after a previous run or host suspend: typically a card without a working reset (the reset bug) or an idle power-down the firmware cannot undo.",
            "`cat /sys/bus/pci/devices/ADDRESS/reset_method`, `power_state`, and whether the VM worked once after a host reboot.",
            "Reboot the host to recover; prevent it with a working reset (vendor-reset for AMD Polaris/Vega/Navi 1x), or disable runtime PM for the card (`echo on > /sys/bus/pci/devices/ADDRESS/power/control`)."),
        new("nvidia-code-43", "Windows: NVIDIA driver stopped the device (Code 43)",
            new Regex(@"\(?Code 43\)?|error 43", Options),
            "Code 43 is Windows' generic \"device reported problems\". With NVIDIA drivers older than 465 it meant the driver detected a VM; today it is more often a bad or missing VBIOS, Resizable BAR, or a half-passed card (audio left on the host).",
            "The NVIDIA driver version in the guest, whether all GPU functions are passed, the ROM, and Resizable BAR in the host firmware.",
            "Update the guest driver (465+), pass every function, give a verified VBIOS; for old drivers hide the hypervisor (<kvm><hidden state='on'/></kvm>, <vendor_id state='on' value='...'/>)."),
        new("cannot-reset", "vfio cannot reset the device",
            new Regex(@"(?:Cannot reset device|no available reset mechanism|Failed to (?:bus-)?reset)", Options),
            "The device has no FLR and no other reset the kernel can use; the next VM start may find it in a dirty state.",
            "`cat /sys/bus/pci/devices/ADDRESS/reset_method` and `lspci -vv -s ADDRESS | grep FLR`.",
            "Plan host reboots between runs, use vendor-reset for AMD Polaris/Vega/Navi 1x, or pick a card with FLR."),
        new("vfio-group-open", "QEMU cannot open /dev/vfio/{1}",
            new Regex(@"/dev/vfio/(\d+)'?:? (?:No such file or directory|Permission denied|Device or resource busy)", Options),
            "The group's device node is missing (a device of group {1} is not on vfio-pci), not accessible to QEMU, or already open in another QEMU.",
            "`ls -l /dev/vfio/`, `lsof /dev/vfio/{1}`, and the drivers of group {1}'s devices.",
            "Bind every device of the group to vfio-pci (`passthrough bind`), stop the other VM holding it, or use managed='yes'/the hooks so libvirt sets permissions."),
    ];

    /// <summary>Every signature found in the text, in the order they first appear.</summary>
    public static IReadOnlyList<ErrorExplanation> Explain(string text)
    {
        var results = new List<(int Index, ErrorExplanation Explanation)>();
        foreach (var signature in Signatures)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match match in signature.Pattern.Matches(text))
            {
                var line = LineAround(text, match);
                if (!seen.Add(Fill(signature.Title, match)))
                {
                    continue;
                }

                results.Add((match.Index, new ErrorExplanation(
                    signature.Id,
                    Fill(signature.Title, match),
                    line,
                    Fill(signature.Cause, match),
                    Fill(signature.Check, match),
                    Fill(signature.Remedy, match))));
            }
        }

        return [.. results.OrderBy(r => r.Index).Select(r => r.Explanation)];
    }

    /// <summary>The whole line(s) the match sits on, whitespace collapsed, at most 300 characters.</summary>
    private static string LineAround(string text, Match match)
    {
        var start = text.LastIndexOf('\n', Math.Max(0, match.Index - 1)) + 1;
        if (match.Index == 0)
        {
            start = 0;
        }

        var end = text.IndexOf('\n', match.Index + match.Length);
        var line = text[start..(end < 0 ? text.Length : end)];
        line = WhitespaceRegex().Replace(line, " ").Trim();
        return line.Length > 300 ? line[..297] + "..." : line;
    }

    private static string Fill(string template, Match match)
    {
        for (var i = 1; i < match.Groups.Count; i++)
        {
            template = template.Replace("{" + i + "}", match.Groups[i].Success ? match.Groups[i].Value : "N", StringComparison.Ordinal);
        }

        return template;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRegex();
}
