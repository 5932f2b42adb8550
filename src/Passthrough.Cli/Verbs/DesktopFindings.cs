using Passthrough.Adapters;
using Passthrough.Diagnostics;
using Passthrough.Domain;

namespace Passthrough.Cli.Verbs;

/// <summary>doctor --vm/--xml: the Looking Glass size and the evdev inputs, read under --root.</summary>
internal static class DesktopFindings
{
    public static IEnumerable<Finding> For(DomainDocument domain, HostRoot root)
    {
        var target = LookingGlassTarget.Resolve(root, null);
        var note = root.IsLiveSystem ? string.Empty : $" under {root}";
        return DesktopChecks.LookingGlass(domain, target.Resolution, target.From)
            .Concat(DesktopChecks.Evdev(domain, path => path.StartsWith('/') && Exists(root.Path(path)), note));
    }

    /// <summary>The path exists, following symlinks (a by-id link to an unplugged device dangles).</summary>
    private static bool Exists(string path)
    {
        var info = new FileInfo(path);
        try
        {
            return info.LinkTarget is null ? info.Exists : info.ResolveLinkTarget(returnFinalTarget: true)?.Exists == true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
