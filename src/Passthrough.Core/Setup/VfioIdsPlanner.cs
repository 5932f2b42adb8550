using System.Text;
using Passthrough.Domain;
using Passthrough.Pci;

namespace Passthrough.Setup;

/// <summary>vfio-pci's ids in /etc/modprobe.d: Passthrough's own file, and the other files that list ids.</summary>
internal static class VfioIdsPlanner
{
    /// <summary>
    /// Other /etc/modprobe.d files that give vfio-pci its ids (seed 000's vfio.conf). modprobe(8)
    /// passes every options line, and of two ids= the one read last wins silently (modprobe.d(5)
    /// reads the files in order), so one file must own the list. Static mode: the ids move into
    /// Passthrough's file and the returned ids (the GPU's excluded) are kept there. Dynamic and
    /// single-GPU: the host must keep the GPU at boot, so only its ids are taken out. The original
    /// line stays as a comment; the line's other parameters (disable_vga=1, ...) stay.
    /// </summary>
    public static List<string> PlanOtherIds(PassthroughMode mode, IReadOnlyList<string> ids, SetupDraft draft)
    {
        var (files, edits, notes) = (draft.Files, draft.Edits, draft.Notes);
        var kept = new List<string>();
        foreach (var path in files.In("/etc/modprobe.d"))
        {
            if (path == SetupPlanner.ModprobeFile || !path.EndsWith(".conf", StringComparison.Ordinal) || files.Read(path) is not { } text)
            {
                continue;
            }

            var lines = text.Split('\n');
            var output = new List<string>(lines.Length + 2);
            var changed = false;
            foreach (var line in lines)
            {
                var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                var idsAt = Array.FindIndex(words, w => w.StartsWith("ids=", StringComparison.Ordinal));
                if (words.Length < 3 || words[0] != "options" || words[1] is not ("vfio-pci" or "vfio_pci") || idsAt < 2)
                {
                    if (words.Length >= 3 && words[0] == "options" && words[1] == "vfio_iommu_type1" && words.Contains("allow_unsafe_interrupts=1"))
                    {
                        notes.Add($"{path} sets vfio_iommu_type1 allow_unsafe_interrupts=1, which lets a device without interrupt remapping inject interrupts into the host; keep it only if `passthrough doctor` says this platform lacks interrupt remapping.");
                    }

                    output.Add(line);
                    continue;
                }

                var listed = words[idsAt]["ids=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries);
                var others = listed.Where(id => !ids.Contains(id, StringComparer.OrdinalIgnoreCase)).ToList();
                var remaining = mode == PassthroughMode.Static ? [] : others;
                if (remaining.Count == listed.Length)
                {
                    output.Add(line);
                    continue;
                }

                if (mode == PassthroughMode.Static)
                {
                    kept.AddRange(others.Where(id => !kept.Contains(id, StringComparer.OrdinalIgnoreCase)));
                }

                var rest = words.Where((_, i) => i != idsAt).ToList();
                if (remaining.Count > 0)
                {
                    rest.Insert(idsAt, "ids=" + string.Join(',', remaining));
                }

                output.Add("# passthrough setup changed this line (undo restores it): " + line.Trim());
                if (rest.Count > 2)
                {
                    output.Add(string.Join(' ', rest));
                }

                changed = true;
            }

            if (changed)
            {
                var reason = mode == PassthroughMode.Static
                    ? $"vfio-pci's ids move to {SetupPlanner.ModprobeFile}: with ids= in two files, the one read last wins and the other list is silently ignored"
                    : "the GPU's ids come off vfio-pci's list: in this mode the host keeps the GPU at boot and hands it over when the VM starts";
                edits.Add(new FileEdit(path, text, string.Join('\n', output), reason));
            }
        }

        if (kept.Count > 0)
        {
            notes.Add($"vfio-pci keeps binding {string.Join(',', kept)} from the other modprobe.d file; vfio-pci never binds bridges (header type 1), so ids of PCI bridges there do nothing and can go.");
        }

        return kept;
    }

    private const string KeptIdsComment = "# ids kept from other modprobe.d files: ";

    /// <summary>The ids an earlier plan moved into Passthrough's file from other files.</summary>
    public static string[] KeptIds(string? ourFile) =>
        ourFile?.Split('\n').FirstOrDefault(l => l.StartsWith(KeptIdsComment, StringComparison.Ordinal)) is { } line
            ? line[KeptIdsComment.Length..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];

    /// <summary>Passthrough's modprobe.d file: the ids (the GPU's, then those kept from other files) and the softdeps.</summary>
    public static string ModprobeConf(IReadOnlyList<PciFunction> functions, IReadOnlyList<string> ids, List<string> kept)
    {
        var sb = new StringBuilder(SetupPlanner.Header);
        sb.Append("# modprobe.d(5): vfio-pci takes these vendor:device ids; softdep loads it before each GPU driver.\n");
        if (kept.Count > 0)
        {
            sb.Append(KeptIdsComment).AppendJoin(',', kept).Append('\n');
        }

        sb.Append("options vfio-pci ids=").AppendJoin(',', ids.Concat(kept)).Append('\n');
        foreach (var driver in SoftdepDrivers(functions))
        {
            sb.Append("softdep ").Append(driver).Append(" pre: vfio-pci\n");
        }

        return sb.ToString();
    }

    /// <summary>The loadable drivers that would otherwise take the display and audio functions.</summary>
    private static IEnumerable<string> SoftdepDrivers(IReadOnlyList<PciFunction> functions)
    {
        var drivers = new List<string>();
        foreach (var f in functions)
        {
            if (f.IsDisplay)
            {
                drivers.AddRange(f.Driver is { } d && d != "vfio-pci" ? [d] : VendorDisplayDrivers(f.VendorId));
            }
            else if (IsAudio(f))
            {
                drivers.Add(f.Driver is { } d && d != "vfio-pci" ? d : "snd_hda_intel");
            }
        }

        return drivers.Select(d => d.Replace('-', '_')).Distinct(StringComparer.Ordinal);
    }

    private static string[] VendorDisplayDrivers(int? vendor) => vendor switch
    {
        0x1002 => ["amdgpu", "radeon"],
        0x10de => ["nouveau", "nvidia"],
        0x8086 => ["i915", "xe"],
        _ => [],
    };

    public static bool IsAudio(PciFunction f) => f.Class is { } c && (c.Code >> 8) == 0x0403;
}
