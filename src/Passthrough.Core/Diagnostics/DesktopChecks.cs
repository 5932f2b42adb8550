using System.Globalization;
using Passthrough.Domain;

namespace Passthrough.Diagnostics;

/// <summary>
/// Doctor checks of how the user sees and controls the guest (doctor --vm/--xml): the Looking Glass
/// shared memory against the resolution, and the evdev inputs' host devices.
/// </summary>
public static class DesktopChecks
{
    public const string LookingGlassId = "looking-glass-size";
    public const string EvdevId = "evdev-source";

    /// <summary>
    /// The Looking Glass device against the size its documentation gives for <paramref name="resolution"/>
    /// (the host's largest mode, or 1920x1080 when none was readable); nothing when the domain has none.
    /// </summary>
    public static IEnumerable<Finding> LookingGlass(DomainDocument domain, DisplayResolution resolution, string resolutionFrom)
    {
        if (DomainEdits.FindLookingGlass(domain) is not { } found)
        {
            yield break;
        }

        var line = DomainDocument.LineOf(found.Element) is int n ? $"{domain.Source}:{n}" : domain.Source;
        var needed = LookingGlassMemory.SizeMiB(resolution);
        var style = found.Style == LookingGlassStyle.Kvmfr ? " --kvmfr" : string.Empty;
        var seen = found.Style == LookingGlassStyle.Kvmfr
            ? $"{line}: <qemu:arg value='{(string?)found.Element.Attribute("value")}'/>"
            : $"{line}: <shmem name='{LookingGlassMemory.DeviceName}'> size {found.Element.Element("size")?.Value} {(string?)found.Element.Element("size")?.Attribute("unit") ?? "M"}";
        if (found.SizeBytes is not long bytes)
        {
            yield return Doctor.F(LookingGlassId, Severity.Warning, domain.Name, "The Looking Glass device's size could not be read.", [seen],
                $"Set it with `passthrough xml add-looking-glass FILE{style} --resolution {resolution}` ({needed} MiB).");
            yield break;
        }

        var mib = bytes / (1024.0 * 1024);
        var evidence = new[] { seen, $"resolution {resolution}: {resolutionFrom}", $"needed: {resolution.Width} x {resolution.Height} x 4 x 2 bytes + 10 MiB, rounded up to a power of two = {needed} MiB (Looking Glass, \"Determining memory\")" };
        if (mib < needed)
        {
            // Looking Glass truncates the bottom of the picture and asks for more (doc/install_libvirt.rst).
            yield return Doctor.F(LookingGlassId, Severity.Warning, domain.Name,
                string.Create(CultureInfo.InvariantCulture, $"The Looking Glass shared memory is {mib:0.#} MiB, too small for {resolution} (needs {needed} MiB): Looking Glass cuts off the bottom of the picture."),
                evidence,
                $"Run `passthrough xml add-looking-glass FILE{style} --resolution {resolution} --in-place`" + (found.Style == LookingGlassStyle.Kvmfr ? $" and set kvmfr's static_size_mb={needed} (`passthrough setup plan --looking-glass --kvmfr --looking-glass-size {needed}`)." : "."));
        }
        else if (!LookingGlassMemory.IsPowerOfTwo(bytes))
        {
            yield return Doctor.F(LookingGlassId, Severity.Warning, domain.Name,
                string.Create(CultureInfo.InvariantCulture, $"The Looking Glass shared memory is {mib:0.#} MiB, not a power of two as Looking Glass's size rule has it."),
                evidence, $"Give it {needed} MiB: `passthrough xml add-looking-glass FILE{style} --resolution {resolution} --in-place`.");
        }
        else
        {
            yield return Doctor.F(LookingGlassId, Severity.Ok, domain.Name, string.Create(CultureInfo.InvariantCulture, $"The Looking Glass shared memory ({mib:0} MiB) holds {resolution}."), evidence, null);
        }
    }

    /// <summary>Each evdev input's source device: libvirt cannot start the guest when one is missing.</summary>
    public static IEnumerable<Finding> Evdev(DomainDocument domain, Func<string, bool> exists, string rootNote)
    {
        foreach (var (path, line) in DomainEdits.EvdevSources(domain))
        {
            var at = line is int n ? $"{domain.Source}:{n}" : domain.Source;
            if (exists(path))
            {
                yield return Doctor.F(EvdevId, Severity.Ok, path, $"The evdev input {path} is there.", [$"{at}: <input type='evdev'> <source dev='{path}'>"], null);
            }
            else
            {
                yield return Doctor.F(EvdevId, Severity.Error, path,
                    $"The evdev input {path} does not exist: QEMU cannot open it and the VM will not start.",
                    [$"{at}: <input type='evdev'> <source dev='{path}'>", $"{path}: no such device{rootNote}"],
                    "Plug the keyboard or mouse in, or point the VM at the ones there: remove that <input> and run `passthrough xml add-input FILE --evdev auto --in-place` (`ls -l /dev/input/by-id`).");
            }
        }
    }
}
