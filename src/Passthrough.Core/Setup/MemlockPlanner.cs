using System.Text.RegularExpressions;

namespace Passthrough.Setup;

/// <summary>libvirt's locked-memory limit: QEMU pins guest memory for VFIO DMA and inherits the daemon's
/// RLIMIT_MEMLOCK (seed 003).</summary>
internal static partial class MemlockPlanner
{
    /// <summary>LimitMEMLOCK=infinity for the libvirt daemons found; true when a file changed.</summary>
    public static bool Plan(SetupDraft draft)
    {
        var (files, notes) = (draft.Files, draft.Notes);
        var daemons = new[] { "virtqemud", "libvirtd" }
            .Where(d => files.Exists($"/usr/lib/systemd/system/{d}.service") || files.Exists($"/lib/systemd/system/{d}.service"))
            .ToList();
        if (daemons.Count == 0)
        {
            notes.Add("Neither virtqemud.service nor libvirtd.service was found: no LimitMEMLOCK drop-in is planned.");
            return false;
        }

        var changed = false;
        foreach (var daemon in daemons)
        {
            var dir = $"/etc/systemd/system/{daemon}.service.d";
            var ours = $"{dir}/{SetupPlanner.MemlockDropIn}";
            var elsewhere = files.In(dir).FirstOrDefault(p => p != ours && p.EndsWith(".conf", StringComparison.Ordinal) && MemlockRegex().IsMatch(files.Read(p) ?? string.Empty));
            if (elsewhere is not null)
            {
                notes.Add($"{elsewhere} already sets LimitMEMLOCK=infinity for {daemon}.");
                continue;
            }

            changed |= draft.AddIfChanged(ours, SetupPlanner.Header + "# QEMU pins guest memory for VFIO DMA and inherits this limit from the daemon (seed 003).\n[Service]\nLimitMEMLOCK=infinity\n", $"{daemon} starts QEMU with an unlimited locked-memory limit");
        }

        return changed;
    }

    [GeneratedRegex(@"^\s*LimitMEMLOCK\s*=\s*infinity\s*$", RegexOptions.Multiline)]
    private static partial Regex MemlockRegex();
}
