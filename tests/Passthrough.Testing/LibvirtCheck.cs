using System.Text.RegularExpressions;
using Passthrough.Adapters.Libvirt;
using Passthrough.Adapters.Processes;

namespace Passthrough.Testing;

/// <summary>What libvirt made of one document: its inactive dump, or the error it gave.</summary>
public sealed record LibvirtVerdict(string Label, string? Dump, string? Error)
{
    public bool Accepted => Dump is not null;
}

/// <summary>
/// libvirt's own parser as a test oracle: many documents defined and dumped on test:///default in
/// ONE virsh process (each is undefined again so names and UUIDs can repeat), and
/// virt-xml-validate for the schema of the installed libvirt.
/// </summary>
public static partial class LibvirtCheck
{
    /// <summary>Defines and dumps each document; returns per document the dump or libvirt's error.</summary>
    public static IReadOnlyList<LibvirtVerdict> DefineAndDump(IReadOnlyList<(string Label, string Xml)> documents)
    {
        using var temp = new TempDirectory("libvirt-check");
        var commands = new List<string>();
        var names = new List<string>();
        for (var i = 0; i < documents.Count; i++)
        {
            var path = temp.Combine($"doc{i}.xml");
            File.WriteAllText(path, documents[i].Xml);
            var name = NameOf(documents[i].Xml) ?? "?";
            names.Add(name);
            commands.Add($"define {VirshSession.Quote(path)}");
            commands.Add($"dumpxml --inactive {VirshSession.Quote(name)}");
            commands.Add($"undefine {VirshSession.Quote(name)}");
        }

        var (outputs, stderr) = new VirshSession(ProcessRunner.Instance, "test:///default").RunAsync(commands).GetAwaiter().GetResult();
        var errors = stderr.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        var verdicts = new List<LibvirtVerdict>();
        for (var i = 0; i < documents.Count; i++)
        {
            var dump = outputs.Count > (3 * i) + 1 ? outputs[(3 * i) + 1].Stdout : string.Empty;
            if (dump.TrimStart().StartsWith("<domain", StringComparison.Ordinal))
            {
                verdicts.Add(new LibvirtVerdict(documents[i].Label, StripVolatile(dump), null));
            }
            else
            {
                var mine = errors.Where(e => e.Contains($"doc{i}.xml", StringComparison.Ordinal)).ToList();
                var index = errors.FindIndex(e => e.Contains($"doc{i}.xml", StringComparison.Ordinal));
                var detail = index >= 0 && index + 1 < errors.Count ? errors[index + 1] : string.Join(" ", errors);
                verdicts.Add(new LibvirtVerdict(documents[i].Label, null, string.Join(" ", mine) + " " + detail));
            }
        }

        return verdicts;
    }

    /// <summary>Runs virt-xml-validate on the text; null when valid, else its complaint.</summary>
    public static string? Validate(string xml, string label = "domain")
    {
        using var temp = new TempDirectory("validate");
        var path = temp.Combine("domain.xml");
        File.WriteAllText(path, xml);
        var result = ProcessRunner.Instance.RunAsync("virt-xml-validate", [path, "domain"]).GetAwaiter().GetResult();
        return result.Succeeded ? null : $"{label}: {result.Stdout}{result.Stderr}";
    }

    public static string? NameOf(string xml) => NamePattern().Match(xml) is { Success: true } m ? m.Groups[1].Value.Trim() : null;

    /// <summary>The test driver makes up a UUID and MAC addresses when the document has none.</summary>
    private static string StripVolatile(string dump) => MacPattern().Replace(UuidPattern().Replace(dump, "<uuid>*</uuid>"), "<mac address='*'/>");

    [GeneratedRegex(@"<name>([^<]*)</name>")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"<mac address='[^']*'/>")]
    private static partial Regex MacPattern();

    [GeneratedRegex(@"<uuid>[^<]*</uuid>")]
    private static partial Regex UuidPattern();
}
