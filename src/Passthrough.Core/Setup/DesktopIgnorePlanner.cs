using System.Text;
using Passthrough.Domain;
using Passthrough.Pci;

namespace Passthrough.Setup;

/// <summary>
/// Dynamic mode: a compositor that opens the passed GPU's DRM card holds it, and the VM cannot start
/// (issue 15). A udev rule keeps the desktop off that card where the desktop reads udev: after
/// systemd's 71-seat.rules tagged it, the seat tags are removed (logind then gives it to no seat;
/// ENV{ID_SEAT} is left alone) and mutter's own ignore tag is added (mutter skips DRM devices tagged
/// "mutter-device-ignore", as its data/61-mutter.rules does for virtual cards). KWin and
/// wlroots/Hyprland read environment variables instead (README).
/// </summary>
public static class DesktopIgnorePlanner
{
    /// <summary>After 71-seat.rules (which adds the tags) and before 73-seat-late.rules.</summary>
    public const string RulesFile = "/etc/udev/rules.d/72-passthrough-desktop-ignore.rules";

    internal static void Plan(SetupRequest request, SetupDraft draft)
    {
        var cards = request.Functions.Where(f => f.IsDisplay).OrderBy(f => f.Address).ToList();
        if (request.Mode != PassthroughMode.Dynamic || cards.Count == 0)
        {
            return;
        }

        if (draft.AddIfChanged(RulesFile, Rules(cards), $"keeps the desktop off {string.Join(", ", cards.Select(c => c.Address))}: no seat takes its DRM card and GNOME (mutter) ignores it, so no compositor holds it when the VM starts"))
        {
            draft.Notes.Add("The udev rule applies to cards udev sees from now on: reboot, or run `udevadm control --reload && udevadm trigger --subsystem-match=drm` and log in again.");
            draft.Notes.Add("KWin, wlroots (Sway) and Hyprland do not read udev tags: point them at the host's GPU with KWIN_DRM_DEVICES, WLR_DRM_DEVICES or AQ_DRM_DEVICES (README, \"Keeping the desktop off the passed GPU\").");
        }
    }

    /// <summary>One rule per card, matched by its PCI address (KERNELS: the card's parent device).</summary>
    public static string Rules(IEnumerable<PciFunction> cards)
    {
        var text = new StringBuilder(SetupPlanner.Header);
        text.Append("# Keeps the desktop off the GPUs passed to VMs (dynamic mode): no seat, and mutter ignores the card.\n");
        foreach (var card in cards)
        {
            text.Append($"SUBSYSTEM==\"drm\", KERNEL==\"card[0-9]*\", KERNELS==\"{card.Address}\", TAG-=\"seat\", TAG-=\"master-of-seat\", TAG+=\"mutter-device-ignore\"\n");
        }

        return text.ToString();
    }
}
