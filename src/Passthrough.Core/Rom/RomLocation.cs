namespace Passthrough.Rom;

/// <summary>Distribution families that differ in where QEMU, confined by libvirt, may read a ROM.</summary>
public enum DistributionFamily
{
    Other,
    Fedora,
    Debian,
    Arch,
}

/// <summary>
/// Where to put a ROM so the QEMU process libvirt starts can read it:
/// Debian and Ubuntu confine QEMU with AppArmor, whose libvirt-qemu abstraction grants read access to
/// /usr/share/kvm/** and /usr/share/qemu/** (/usr/share/kvm is also where Proxmox's romfile= looks);
/// Fedora and RHEL label files with SELinux, and a file copied from a home directory keeps a label
/// (user_home_t) svirt_t may not read, so the context is restored for its new place (restorecon);
/// Arch has neither by default and keeps QEMU's data in /usr/share/qemu.
/// On an ostree system (Fedora Silverblue, Kinoite, Bazzite: /run/ostree-booted exists) /usr is the
/// read-only deployment, so the ROM goes to /var/lib/libvirt/boot: writable, and Fedora's policy
/// labels it virt_content_t, the read-only content type libvirt gives every QEMU (svirt_t) read access
/// to (its virtual_image_context; ISOs and kernels live there). /var/lib/libvirt/images would be
/// virt_image_t, which svirt_t may only read once libvirt relabels a disk, and libvirt does not
/// relabel &lt;rom file&gt;.
/// </summary>
public sealed record RomLocation(DistributionFamily Family, string Directory, string Why)
{
    /// <summary>Where ROMs go when /usr is read-only (ostree).</summary>
    public const string OstreeDirectory = "/var/lib/libvirt/boot";

    /// <summary>
    /// Picks the place from /etc/os-release (ID and ID_LIKE, freedesktop os-release(5)) and whether the
    /// system is an ostree deployment (/run/ostree-booted, written by ostree-prepare-root).
    /// </summary>
    public static RomLocation ForOsRelease(string? osRelease, bool ostreeBooted = false)
    {
        var location = ForDistribution(osRelease);
        return ostreeBooted
            ? location with
            {
                Directory = OstreeDirectory,
                Why = "/usr is read-only on an ostree system (Silverblue, Kinoite, Bazzite); SELinux labels this directory virt_content_t, which every QEMU libvirt starts may read",
            }
            : location;
    }

    private static RomLocation ForDistribution(string? osRelease)
    {
        var ids = new List<string>();
        foreach (var raw in (osRelease ?? string.Empty).Split('\n'))
        {
            var line = raw.Trim();
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            var key = line[..eq];
            if (key is "ID" or "ID_LIKE")
            {
                ids.AddRange(line[(eq + 1)..].Trim('"', '\'').Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        if (ids.Any(i => i is "fedora" or "rhel" or "centos" or "rocky" or "almalinux"))
        {
            return new RomLocation(DistributionFamily.Fedora, "/usr/share/qemu", "QEMU's data directory; SELinux lets svirt_t read it once the file has this directory's context");
        }

        if (ids.Any(i => i is "debian" or "ubuntu"))
        {
            return new RomLocation(DistributionFamily.Debian, "/usr/share/kvm", "readable under libvirt's AppArmor profile (abstractions/libvirt-qemu) and where Proxmox's romfile= looks");
        }

        if (ids.Any(i => i is "arch"))
        {
            return new RomLocation(DistributionFamily.Arch, "/usr/share/qemu", "QEMU's data directory");
        }

        return new RomLocation(DistributionFamily.Other, "/usr/share/qemu", "QEMU's data directory (distribution not recognised)");
    }
}
