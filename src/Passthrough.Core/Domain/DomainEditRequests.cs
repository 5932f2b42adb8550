using System.Globalization;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>A GPU to attach: the host slot and which of its functions.</summary>
public sealed record GpuAttachment(PciSlot Slot, IReadOnlyList<int> Functions)
{
    /// <summary>ROM file for function 0 (`&lt;rom file&gt;`); null leaves the ROM as is.</summary>
    public string? RomFile { get; init; }

    /// <summary>`&lt;rom bar&gt;`; null leaves it as is.</summary>
    public bool? RomBar { get; init; }

    /// <summary>`managed`; null: keep an existing hostdev's value, new ones get 'no' when our hook binds them, else 'yes'.</summary>
    public bool? Managed { get; init; }

    /// <summary>Attach even on an i440fx machine, where lint reports pcie-on-i440fx (`--allow-i440fx`).</summary>
    public bool AllowI440fx { get; init; }

    /// <summary>One SR-IOV virtual function passed on its own: only its hostdev, shown to the guest as function 0
    /// (a guest sees no device in a slot without function 0).</summary>
    public bool VirtualFunction { get; init; }

    /// <summary>`&lt;driver model&gt;` on every hostdev written (a VFIO variant driver); null leaves it as is.</summary>
    public string? DriverModel { get; init; }

    /// <summary>Passes the one virtual function at <paramref name="address"/>.</summary>
    public static GpuAttachment ForVirtualFunction(PciAddress address) =>
        new(address.Slot, [address.Function]) { VirtualFunction = true };

    public GpuAttachment WithDriverModel(string? model) => this with { DriverModel = model };

    public GpuAttachment WithAllowI440fx(bool allow) => this with { AllowI440fx = allow };

    public GpuAttachment WithRom(string? file, bool? bar) => this with { RomFile = file, RomBar = bar };

    public GpuAttachment WithManaged(bool? managed) => this with { Managed = managed };
}

/// <summary>CPU topology (formatdomain.html#cpu-model-and-topology).</summary>
public readonly record struct CpuTopology(int Sockets, int Cores, int Threads)
{
    public int Vcpus => Sockets * Cores * Threads;

    public static CpuTopology Parse(string text)
    {
        var parts = text.Split(',');
        if (parts.Length == 3
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var s)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var c)
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            && s > 0 && c > 0 && t > 0)
        {
            return new CpuTopology(s, c, t);
        }

        throw PassthroughException.Input($"--cpu-topology {text}: expected SOCKETS,CORES,THREADS such as 1,6,2.", "Give three positive numbers separated by commas.");
    }
}

/// <summary>What `xml set` changes; null members are left alone.</summary>
/// <summary>
/// What an edit did on its own beyond what was asked, worth naming in the report's actions (e.g. `--pin` on an
/// AMD host also requiring topoext); empty when it did only what the options say.
/// </summary>
public sealed record EditOutcome(IReadOnlyList<string> Actions);

public sealed record DomainSettings
{
    /// <summary>Hyper-V vendor_id value (at most 12 characters), or "off" to remove it.</summary>
    public string? HypervVendorId { get; init; }

    public bool? KvmHidden { get; init; }

    public bool? Topoext { get; init; }

    /// <summary>Add &lt;cpu mode='host-passthrough'&gt; when the domain has no &lt;cpu&gt; (`--cpu host-passthrough`).</summary>
    public bool AddHostPassthroughCpu { get; init; }

    public CpuTopology? Topology { get; init; }

    /// <summary>"qemu" or "kvm".</summary>
    public string? Ioapic { get; init; }

    public bool? Smm { get; init; }

    public bool MemballoonNone { get; init; }

    /// <summary>Our hook's mode; <see cref="PassthroughOff"/> removes the config.</summary>
    public PassthroughMode? PassthroughMode { get; init; }

    public bool PassthroughOff { get; init; }

    /// <summary>`--keep-on-vfio on|off`: &lt;passthrough:release keep-on-vfio="yes"/&gt; (dynamic mode), or remove it.</summary>
    public bool? KeepOnVfio { get; init; }

    /// <summary>`--pin auto|LIST`: CPU pinning from the host's topology (DomainEdits.Cpu.cs).</summary>
    public CpuPinRequest? Pin { get; init; }

    /// <summary>`--hugepages on|off`: &lt;memoryBacking&gt;&lt;hugepages&gt;.</summary>
    public HugepagesRequest? Hugepages { get; init; }

    public bool IsEmpty => this == new DomainSettings();
}
