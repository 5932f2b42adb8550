using Passthrough.Binding;
using Passthrough.Diagnostics;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Domain;

/// <summary>Lint (and doctor --vm/--xml) rules on &lt;passthrough:bar&gt;: the hook's own rule (<see cref="BarResizePlan"/>), as findings.</summary>
public static partial class DomainLint
{
    private const string BarSizeId = "bar-size";
    private const string BarStaticId = "bar-in-static-mode";

    /// <summary>
    /// Without a host: each element well formed (index 0-5, a power-of-two size, an address). With one: each
    /// request by <see cref="BarResizePlan.Check"/>. In static mode the hook applies none, which is the warning.
    /// </summary>
    private static void BarRules(DomainDocument domain, HostInventory? host, IReadOnlyList<PciHostdev> hostdevs, List<Finding> findings)
    {
        if (domain.PassthroughConfig is not { } config || config.BarEntries is not { Count: > 0 } entries)
        {
            return;
        }

        foreach (var entry in entries.Where(e => e.Error is not null))
        {
            findings.Add(new Finding(BarSizeId, Severity.Error, null, entry.Error!.Message, [Evidence(domain, entry)], entry.Error.Remedy));
        }

        var requests = entries.Where(e => e.Request is not null).ToList();
        if (requests.Count == 0)
        {
            return;
        }

        if (!BarResizePlan.AppliesIn(config.Mode))
        {
            findings.Add(new Finding(
                BarStaticId,
                Severity.Warning,
                null,
                BarResizePlan.NotAppliedInStatic(At(domain, requests[0]).TrimEnd(' ', ':'), requests.Select(e => e.Request!)),
                [.. requests.Select(e => Evidence(domain, e)).Prepend("<passthrough:config mode=\"static\">")],
                BarResizePlan.StaticRemedy));
            return;
        }

        if (host is null)
        {
            return;
        }

        var bound = config.BoundBy(hostdevs);
        var passed = bound.Select(host.Find).OfType<PciFunction>().ToList();
        foreach (var entry in requests)
        {
            // A device the host lacks is device-missing's finding: without it, which function is meant cannot be told.
            if (entry.Request!.Device is { } named ? bound.Contains(named) && host.Find(named) is null : passed.Count < bound.Count)
            {
                continue;
            }

            var check = BarResizePlan.Check(entry.Request, passed, At(domain, entry).TrimEnd(' ', ':'));
            if (check.Problem is null)
            {
                continue;
            }

            IReadOnlyList<string> evidence = check.Function is { } f
                ? [Evidence(domain, entry), $"/sys/bus/pci/devices/{f.Address}: {(f.ResizableBars is null ? "resizable BARs unreadable" : f.ResizableBars.Count == 0 ? "no resizable BAR" : string.Join("; ", f.ResizableBars.Select(b => b.Summary())))}"]
                : [Evidence(domain, entry), $"passed: {string.Join(", ", passed.Select(p => p.Address))}"];
            findings.Add(new Finding(BarSizeId, check.Unknown ? Severity.Info : Severity.Error, check.Function?.Address.ToString(), check.Problem, evidence, check.Remedy));
        }
    }

    private static string At(DomainDocument domain, BarEntry entry) =>
        entry.Line is int line ? $"{domain.Source}:{line}: " : $"{domain.Source}: ";

    private static string Evidence(DomainDocument domain, BarEntry entry) =>
        $"{At(domain, entry).TrimEnd(' ')} {entry.Element.ToString(System.Xml.Linq.SaveOptions.DisableFormatting).Replace($" xmlns:passthrough=\"{PassthroughConfig.NamespaceUri}\"", string.Empty, StringComparison.Ordinal)}";
}
