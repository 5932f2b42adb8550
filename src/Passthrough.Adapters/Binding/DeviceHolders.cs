using System.Text.RegularExpressions;
using Passthrough.Adapters.Processes;
using Passthrough.Adapters.Sysfs;
using Passthrough.Pci;

namespace Passthrough.Adapters.Binding;

/// <summary>A process with one of the GPU's device nodes open; <see cref="User"/> from its real uid (null when unknown).</summary>
public sealed record DeviceHolder(int Pid, string Command, string Node, string? User = null)
{
    public override string ToString() => User is null ? $"{Command} (pid {Pid}) has {Node} open" : $"{Command} (pid {Pid}) has {Node} open (user {User})";
}

/// <summary>
/// Finds processes that hold a GPU's device nodes open: its DRM nodes (/dev/dri/cardN, renderDN
/// from the device's sysfs drm/ directory), /dev/nvidia* for NVIDIA cards, and its HDMI audio's
/// ALSA nodes (/dev/snd/*CN*, from sound/cardN), through <see cref="DeviceNodeHolders"/>.
/// </summary>
public sealed partial class DeviceHolders
{
    private const int NvidiaVendor = 0x10de;

    private readonly HostRoot _root;

    public DeviceHolders(HostRoot root)
    {
        _root = root;
    }

    /// <summary>The device nodes that belong to the functions: exact paths, and prefixes for ALSA and NVIDIA.</summary>
    public (IReadOnlySet<string> Exact, IReadOnlyList<string> Prefixes) NodesOf(IEnumerable<PciFunction> functions)
    {
        var exact = new HashSet<string>(StringComparer.Ordinal);
        var prefixes = new List<string>();
        foreach (var f in functions)
        {
            var dir = _root.Path($"/sys/bus/pci/devices/{f.Address}");
            foreach (var entry in SysfsFiles.Entries(Path.Join(dir, "drm")))
            {
                var name = Path.GetFileName(entry);
                if (DrmNode().IsMatch(name))
                {
                    exact.Add("/dev/dri/" + name);
                }
            }

            foreach (var entry in SysfsFiles.Entries(Path.Join(dir, "sound")))
            {
                var match = SoundCard().Match(Path.GetFileName(entry));
                if (match.Success)
                {
                    var card = match.Groups[1].Value;
                    prefixes.Add($"/dev/snd/controlC{card}");
                    prefixes.Add($"/dev/snd/pcmC{card}D");
                    prefixes.Add($"/dev/snd/hwC{card}D");
                }
            }

            if (f.VendorId == NvidiaVendor && f.IsDisplay)
            {
                // The nvidia driver names the card's own node in /proc/driver/nvidia/gpus/ADDRESS/information
                // ("Device Minor: N" is /dev/nvidiaN); without it, any /dev/nvidia* node may be this card's.
                if (NvidiaMinor(f.Address) is { } minor)
                {
                    exact.Add("/dev/nvidia" + minor);
                }
                else
                {
                    prefixes.Add("/dev/nvidia");
                }
            }
        }

        return (exact, prefixes);
    }

    /// <summary>Each process holding one of the functions' nodes, once (its lowest fd), by pid.</summary>
    public IReadOnlyList<DeviceHolder> Find(IEnumerable<PciFunction> functions)
    {
        var (exact, prefixes) = NodesOf(functions);
        if (exact.Count == 0 && prefixes.Count == 0)
        {
            return [];
        }

        var users = new ProcessUsers(_root);
        return [.. new DeviceNodeHolders(_root)
            .Find(node => exact.Contains(node) || prefixes.Any(p => node.StartsWith(p, StringComparison.Ordinal)), firstPerProcess: true)
            .Select(h => new DeviceHolder(h.Pid, h.Command, h.Node, users.Of(h.Pid)))];
    }

    /// <summary>
    /// Before any unbind, in every mode: a driver whose device is held open either blocks the unbind
    /// (amdgpu, nvidia wait for the last close) or leaves the process with a dead node, so refuse
    /// first, naming the processes, with nothing changed.
    /// </summary>
    public void EnsureFree(IReadOnlyList<PciFunction> functions, string owner)
    {
        var holding = Find(functions);
        if (holding.Count > 0)
        {
            throw new DevicesHeldException(owner, functions, holding);
        }
    }

    private string? NvidiaMinor(PciAddress address)
    {
        var text = SysfsFiles.ReadText(_root.Path($"/proc/driver/nvidia/gpus/{address}/information"));
        var match = text is null ? null : NvidiaMinorLine().Match(text);
        return match is { Success: true } ? match.Groups[1].Value : null;
    }

    [GeneratedRegex(@"^Device Minor:\s*(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex NvidiaMinorLine();

    [GeneratedRegex(@"^(card|renderD)\d+$")]
    private static partial Regex DrmNode();

    [GeneratedRegex(@"^card(\d+)$")]
    private static partial Regex SoundCard();
}
