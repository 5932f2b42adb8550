using System.Globalization;
using Passthrough.Pci;

namespace Passthrough.Diagnostics;

/// <summary>A configuration file's path (as on the host) and text.</summary>
public sealed record ConfigFile(string Path, string Text)
{
    /// <summary>Non-empty lines with comments (#) removed, numbered from 1.</summary>
    public IEnumerable<(int Number, string Text)> Lines()
    {
        var number = 0;
        foreach (var raw in Text.Split('\n'))
        {
            number++;
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length > 0)
            {
                yield return (number, line);
            }
        }
    }

    public string Where(int line) => $"{Path}:{line}";
}

/// <summary>The kernel command line as words: `key=value` or bare `flag`.</summary>
public sealed class CommandLine
{
    public CommandLine(string text)
    {
        Text = text.Trim();
        Words = [.. Text.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }

    public string Text { get; }

    public IReadOnlyList<string> Words { get; }

    public bool IsEmpty => Words.Count == 0;

    /// <summary>Every value given for a key, in order (the kernel uses the last one).</summary>
    public IReadOnlyList<string> Values(string key) =>
        [.. Words.Where(w => w.StartsWith(key + "=", StringComparison.Ordinal)).Select(w => w[(key.Length + 1)..])];

    public string? Value(string key) => Values(key) is { Count: > 0 } v ? v[^1] : null;

    public bool Has(string key) => Words.Any(w => w == key || w.StartsWith(key + "=", StringComparison.Ordinal));

    /// <summary>The word for a key, for evidence ("intel_iommu=on").</summary>
    public IEnumerable<string> WordsFor(string key) =>
        Words.Where(w => w == key || w.StartsWith(key + "=", StringComparison.Ordinal));
}

/// <summary>A vendor:device id pair as vfio-pci's `ids=` takes it ("10de:2805").</summary>
public readonly record struct PciIds(int Vendor, int Device)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Vendor:x4}:{Device:x4}");

    public static bool TryParse(string text, out PciIds ids)
    {
        ids = default;
        var parts = text.Trim().Split(':');
        if (parts.Length < 2
            || !int.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v)
            || !int.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var d))
        {
            return false;
        }

        ids = new PciIds(v, d);
        return true;
    }

    public static PciIds? Of(PciFunction f) => f.VendorId is int v && f.DeviceId is int d ? new PciIds(v, d) : null;
}

/// <summary>
/// What modprobe.d files say (man modprobe.d): `options MODULE k=v`, `blacklist MODULE`,
/// `install MODULE /bin/false`, `softdep`. Module names compare with '-' and '_' as equal.
/// </summary>
public sealed class ModprobeConfig
{
    private readonly List<(ConfigFile File, int Line, string Verb, string Module, string Args)> _entries = [];

    public ModprobeConfig(IEnumerable<ConfigFile> files)
    {
        foreach (var file in files)
        {
            foreach (var (number, text) in file.Lines())
            {
                var words = text.Split([' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length >= 2)
                {
                    _entries.Add((file, number, words[0], Normalize(words[1]), words.Length > 2 ? words[2] : string.Empty));
                }
            }
        }
    }

    public static string Normalize(string module) => module.Replace('-', '_');

    /// <summary>`blacklist M` lines, and `install M /bin/false|true` which also keep it out.</summary>
    public IEnumerable<(string Module, string Where, string Text)> Blacklisted() =>
        _entries
            .Where(e => e.Verb == "blacklist" || (e.Verb == "install" && e.Args.Trim() is "/bin/false" or "/bin/true" or "/usr/bin/false" or "/usr/bin/true"))
            .Select(e => (e.Module, e.File.Where(e.Line), $"{e.Verb} {e.Module} {e.Args}".TrimEnd()));

    /// <summary>Values of `options MODULE key=value` for one module and key, with where they are.</summary>
    public IEnumerable<(string Value, string Where, string Text)> Option(string module, string key)
    {
        module = Normalize(module);
        foreach (var e in _entries.Where(e => e.Verb == "options" && e.Module == module))
        {
            foreach (var word in e.Args.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (word.StartsWith(key + "=", StringComparison.Ordinal))
                {
                    yield return (word[(key.Length + 1)..], e.File.Where(e.Line), $"options {e.Module} {e.Args}");
                }
            }
        }
    }

    /// <summary>Every mention of a module (for obsolete-module checks), with where it is.</summary>
    public IEnumerable<(string Where, string Text)> Mentions(string module)
    {
        module = Normalize(module);
        return _entries.Where(e => e.Module == module || Normalize(e.Args).Contains(module, StringComparison.Ordinal))
            .Select(e => (e.File.Where(e.Line), $"{e.Verb} {e.Module} {e.Args}".TrimEnd()));
    }
}

/// <summary>A region of /proc/iomem with its owner name and depth (two spaces per level).</summary>
public sealed record IomemRegion(ulong Start, ulong End, string Name, int Depth, IomemRegion? Parent);

/// <summary>/proc/iomem as a tree, to see who holds a GPU's memory (BOOTFB, efifb, simpledrm).</summary>
public static class Iomem
{
    public static IReadOnlyList<IomemRegion> Parse(string text)
    {
        var regions = new List<IomemRegion>();
        var stack = new List<IomemRegion>();
        foreach (var raw in text.Split('\n'))
        {
            var depth = raw.Length - raw.TrimStart(' ').Length;
            var line = raw.Trim();
            var colon = line.IndexOf(" : ", StringComparison.Ordinal);
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            if (colon < 0 || dash < 0 || dash > colon
                || !ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                || !ulong.TryParse(line.AsSpan(dash + 1, colon - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end))
            {
                continue;
            }

            while (stack.Count > 0 && stack[^1].Depth >= depth)
            {
                stack.RemoveAt(stack.Count - 1);
            }

            var region = new IomemRegion(start, end, line[(colon + 3)..], depth, stack.Count > 0 ? stack[^1] : null);
            regions.Add(region);
            stack.Add(region);
        }

        return regions;
    }

    /// <summary>The PCI function whose BAR encloses a region, from the nearest ancestor named by an address.</summary>
    public static PciAddress? Owner(IomemRegion region)
    {
        for (var r = region.Parent; r is not null; r = r.Parent)
        {
            if (PciAddress.TryParse(r.Name, out var address))
            {
                return address;
            }
        }

        return null;
    }
}
