using System.Globalization;
using System.Security;
using System.Text;
using Passthrough.Errors;

namespace Passthrough.Domain;

public enum GuestOs
{
    Win11,
    Linux,
}

/// <summary>What `passthrough new` builds.</summary>
public sealed record TemplateOptions
{
    public required string Name { get; init; }

    public required GuestOs Os { get; init; }

    public required long MemoryKiB { get; init; }

    public required CpuTopology Topology { get; init; }

    /// <summary>Require topoext (AMD hosts: SMT siblings seen as threads).</summary>
    public bool Topoext { get; init; }

    public required string DiskPath { get; init; }

    public string? IsoPath { get; init; }

    /// <summary>The GPU: slot and its functions on this host; null for a domain without one.</summary>
    public GpuAttachment? Gpu { get; init; }

    /// <summary>The host gives up its only GPU while the VM runs (our hook's single-gpu mode).</summary>
    public bool SingleGpu { get; init; }

    public TemplateOptions WithGpu(GpuAttachment? gpu) => this with { Gpu = gpu };

    public TemplateOptions WithIso(string? iso) => this with { IsoPath = iso };
}

/// <summary>
/// Complete domains for a passthrough VM: q35, OVMF (secure boot and TPM 2.0 for Windows 11),
/// host-passthrough CPU, Hyper-V enlightenments for Windows, virtio disk and network, no memory
/// balloon, and the GPU added by <see cref="DomainEdits.AddGpu"/> so it gets the same layout as
/// `xml add-gpu`.
/// </summary>
public static class DomainTemplate
{
    public static DomainDocument Create(TemplateOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Name) || o.Name.Contains('/', StringComparison.Ordinal))
        {
            throw PassthroughException.Input($"--name '{o.Name}': a domain needs a name without '/'.", "For example --name win11.");
        }

        var win = o.Os == GuestOs.Win11;
        var sb = new StringBuilder();
        void L(string line) => sb.Append(line).Append('\n');
        L("<domain type='kvm'>");
        L($"  <name>{X(o.Name)}</name>");
        L("  <metadata>");
        L("    <libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">");
        L(win ? "      <libosinfo:os id=\"http://microsoft.com/win/11\"/>" : "      <libosinfo:os id=\"http://libosinfo.org/linux/2022\"/>");
        L("    </libosinfo:libosinfo>");
        L("  </metadata>");
        L($"  <memory unit='KiB'>{o.MemoryKiB.ToString(CultureInfo.InvariantCulture)}</memory>");
        L($"  <currentMemory unit='KiB'>{o.MemoryKiB.ToString(CultureInfo.InvariantCulture)}</currentMemory>");
        L($"  <vcpu placement='static'>{o.Topology.Vcpus.ToString(CultureInfo.InvariantCulture)}</vcpu>");
        L("  <os firmware='efi'>");
        L("    <type arch='x86_64' machine='q35'>hvm</type>");
        if (win)
        {
            // Windows 11 requires secure boot and TPM 2.0; secure boot needs SMM (formatdomain.html#bios-bootloader).
            L("    <firmware>");
            L("      <feature enabled='yes' name='enrolled-keys'/>");
            L("      <feature enabled='yes' name='secure-boot'/>");
            L("    </firmware>");
            L("    <loader secure='yes'/>");
        }

        L("  </os>");
        L("  <features>");
        L("    <acpi/>");
        L("    <apic/>");
        if (win)
        {
            L("    <hyperv mode='custom'>");
            L("      <relaxed state='on'/>");
            L("      <vapic state='on'/>");
            L("      <spinlocks state='on' retries='8191'/>");
            L("      <vpindex state='on'/>");
            L("      <runtime state='on'/>");
            L("      <synic state='on'/>");
            L("      <stimer state='on'/>");
            L("      <reset state='on'/>");
            L("      <frequencies state='on'/>");
            L("    </hyperv>");
            L("    <vmport state='off'/>");
            L("    <smm state='on'/>");
        }

        L("  </features>");
        L("  <cpu mode='host-passthrough' check='none' migratable='on'>");
        L(string.Create(CultureInfo.InvariantCulture, $"    <topology sockets='{o.Topology.Sockets}' dies='1' cores='{o.Topology.Cores}' threads='{o.Topology.Threads}'/>"));
        if (o.Topoext)
        {
            L("    <feature policy='require' name='topoext'/>");
        }

        L("  </cpu>");
        L(win ? "  <clock offset='localtime'>" : "  <clock offset='utc'>");
        L("    <timer name='rtc' tickpolicy='catchup'/>");
        L("    <timer name='pit' tickpolicy='delay'/>");
        L("    <timer name='hpet' present='no'/>");
        if (win)
        {
            L("    <timer name='hypervclock' present='yes'/>");
        }

        L("  </clock>");
        L("  <on_poweroff>destroy</on_poweroff>");
        L("  <on_reboot>restart</on_reboot>");
        L("  <on_crash>destroy</on_crash>");
        L("  <pm>");
        L("    <suspend-to-mem enabled='no'/>");
        L("    <suspend-to-disk enabled='no'/>");
        L("  </pm>");
        L("  <devices>");
        if (win)
        {
            L("    <!-- Windows setup needs the virtio-win drivers to see this disk: attach virtio-win.iso as a second CD-ROM. -->");
        }

        L("    <disk type='file' device='disk'>");
        L($"      <driver name='qemu' type='{DiskFormat(o.DiskPath)}' discard='unmap'/>");
        L($"      <source file='{X(o.DiskPath)}'/>");
        L("      <target dev='vda' bus='virtio'/>");
        L("      <boot order='1'/>");
        L("    </disk>");
        if (o.IsoPath is not null)
        {
            L("    <disk type='file' device='cdrom'>");
            L("      <driver name='qemu' type='raw'/>");
            L($"      <source file='{X(o.IsoPath)}'/>");
            L("      <target dev='sda' bus='sata'/>");
            L("      <readonly/>");
            L("      <boot order='2'/>");
            L("    </disk>");
        }

        L("    <controller type='pci' index='0' model='pcie-root'/>");
        L("    <interface type='network'>");
        L("      <source network='default'/>");
        L("      <model type='virtio'/>");
        L("    </interface>");
        if (win)
        {
            L("    <tpm model='tpm-crb'>");
            L("      <backend type='emulator' version='2.0'/>");
            L("    </tpm>");
        }

        // The passed GPU is the display; no emulated one to confuse the guest's primary output.
        L("    <video>");
        L("      <model type='none'/>");
        L("    </video>");
        L("    <memballoon model='none'/>");
        L("  </devices>");
        L("</domain>");

        var domain = DomainDocument.Parse(sb.ToString(), o.Name + ".xml");
        if (o.SingleGpu)
        {
            DomainEdits.SetPassthroughMode(domain, PassthroughMode.SingleGpu);
        }

        if (o.Gpu is { } gpu)
        {
            DomainEdits.AddGpu(domain, gpu);
        }

        return domain;
    }

    /// <summary>A topology for <paramref name="vcpus"/> that matches the host: two threads per core when the host has SMT.</summary>
    public static CpuTopology TopologyFor(int vcpus, bool hostSmt)
    {
        if (vcpus is < 1 or > 4096)
        {
            throw PassthroughException.Input($"--vcpus {vcpus}: expected 1 to 4096.");
        }

        return hostSmt && vcpus % 2 == 0 ? new CpuTopology(1, vcpus / 2, 2) : new CpuTopology(1, vcpus, 1);
    }

    /// <summary>The image format the template's disk driver uses: qcow2 for *.qcow2, raw for anything else (block devices, *.img).</summary>
    public static string DiskFormat(string path) =>
        path.EndsWith(".qcow2", StringComparison.OrdinalIgnoreCase) ? "qcow2" : "raw";

    /// <summary>Parses "16GiB", "16G", "512MiB", "16384" (MiB) into KiB.</summary>
    public static long ParseMemory(string text)
    {
        var t = text.Trim();
        var i = 0;
        while (i < t.Length && char.IsAsciiDigit(t[i]))
        {
            i++;
        }

        if (i == 0 || !long.TryParse(t.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n == 0)
        {
            throw PassthroughException.Input($"--memory {text}: expected a size such as 16GiB or 8192MiB.");
        }

        long factor = t[i..].ToUpperInvariant() switch
        {
            "" or "M" or "MB" or "MIB" => 1024,
            "K" or "KB" or "KIB" => 1,
            "G" or "GB" or "GIB" => 1024 * 1024,
            "T" or "TB" or "TIB" => 1024L * 1024 * 1024,
            _ => throw PassthroughException.Input($"--memory {text}: unknown unit '{t[i..]}'.", "Use KiB, MiB, GiB or TiB, e.g. 16GiB."),
        };
        return checked(n * factor);
    }

    private static string X(string text) => SecurityElement.Escape(text);
}
