using System.CommandLine;
using Passthrough.Cli.Rendering;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Processes;
using Passthrough.Sysfs;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough doctor [--slot SLOT | --vm NAME | --xml FILE] [--json]`: readiness findings with evidence and remedies.</summary>
internal sealed class DoctorVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var slot = new Option<string?>("--slot") { Description = "Check only this GPU (e.g. 0000:03:00).", HelpName = "SLOT" };
        var vm = new Option<string?>("--vm") { Description = "Check a VM's devices and ROM files (domain XML from `virsh dumpxml NAME`).", HelpName = "NAME" };
        var xml = new Option<string?>("--xml") { Description = "Check the devices and ROM files of this domain XML file.", HelpName = "FILE" };
        var connect = new Option<string?>("--connect", "-c") { Description = "libvirt URI for --vm (default: LIBVIRT_DEFAULT_URI, else virsh's own default).", HelpName = "URI" };
        var json = GlobalOptions.Json();
        var command = new Command("doctor", "Check that this host is ready for GPU passthrough: each finding with what was seen and what to do.") { slot, vm, xml, connect, json };
        command.Validators.Add(r =>
        {
            if (new[] { r.GetValue(slot), r.GetValue(vm), r.GetValue(xml) }.Count(v => v is not null) > 1)
            {
                r.AddError("Give one of --slot, --vm, --xml.");
            }

            if (r.GetValue(connect) is not null && r.GetValue(vm) is null)
            {
                r.AddError("--connect names where --vm's domain is defined; give --vm NAME with it.");
            }
        });
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var host = new SysfsHostReader(root).Read();
            var collector = new HostEvidenceCollector(root);
            var evidence = collector.Collect(host);

            if (result.GetValue(slot) is string slotText)
            {
                var s = PciSlot.ParseLenient(slotText);
                _ = host.Gpu(s); // the library's error when nothing is there
                evidence = evidence with { TargetSlots = new HashSet<PciSlot> { s } };
            }

            (string Text, string Source)? domain = null;
            if (result.GetValue(xml) is string file)
            {
                domain = (ReadXml(file), file);
            }
            else if (result.GetValue(vm) is string name)
            {
                domain = (await DumpXmlAsync(context, name, result.GetValue(connect), cancellationToken).ConfigureAwait(false), $"virsh dumpxml {name}");
            }

            if (domain is { } d)
            {
                var facts = collector.WithRomCheck(VmDefinition.Parse(d.Text, d.Source));
                var lint = DomainLint.Run(DomainDocument.Parse(d.Text, d.Source), new LintInputs { Host = host, Rom = path => RomFacts.Read(root, path) });
                evidence = evidence with
                {
                    Vm = facts,
                    TargetSlots = facts.HostDevices.Select(a => a.Slot).ToHashSet(),
                    ExtraFindings = [.. lint.Where(l => l.Id != "rom-missing").Select(ToFinding)], // rom-file covers it
                };
            }

            var report = Doctor.Run(evidence);
            if (result.GetValue(json))
            {
                Json.Write(context.Out, new DoctorJson(report.Findings), Json.Shapes.DoctorJson);
            }
            else
            {
                FindingsView.Write(context.Console, report);
            }

            return report.HasErrors ? PassthroughCli.Failed : PassthroughCli.Ok;
        });
        return command;
    }

    /// <summary>A domain lint finding as a doctor finding; the lint id stays the id.</summary>
    private static Finding ToFinding(LintFinding l) => new(
        l.Id,
        l.Severity switch { LintSeverity.Error => Severity.Error, LintSeverity.Warning => Severity.Warning, _ => Severity.Info },
        null,
        l.Message,
        ["domain XML lint"],
        l.Remedy);

    private static string ReadXml(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw PassthroughException.Input($"--xml {file}: cannot read it ({e.Message}).", "Give a readable domain XML file (`virsh dumpxml NAME > vm.xml`).", e);
        }
    }

    internal static async Task<string> DumpXmlAsync(CliContext context, string name, string? uri, CancellationToken cancellationToken)
    {
        var options = new ProcessOptions { Timeout = TimeSpan.FromSeconds(30) };
        string[] arguments = uri is null ? ["dumpxml", name] : ["-c", uri, "dumpxml", name];
        if (uri is null && context.Environment.TryGetValue("LIBVIRT_DEFAULT_URI", out var fromEnvironment))
        {
            options = options with { Environment = new Dictionary<string, string> { ["LIBVIRT_DEFAULT_URI"] = fromEnvironment } };
            uri = fromEnvironment;
        }

        var command = $"virsh {string.Join(' ', arguments.Select(ProcessRunner.Quote))}";
        var run = await context.Runner.RunAsync("virsh", arguments, options, cancellationToken).ConfigureAwait(false);
        if (run.Succeeded)
        {
            return run.Stdout;
        }

        var errors = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        var reason = run.TimedOut ? "no answer in 30 s" : errors.Count > 0 ? string.Join(' ', errors) : run.Stderr.Trim();

        // "failed to get domain" (libvirt 7+) or "Domain not found" (older): the name is wrong, not the host.
        if (errors.Any(l => l.Contains("failed to get domain", StringComparison.Ordinal) || l.Contains("Domain not found", StringComparison.Ordinal)))
        {
            throw PassthroughException.Input(
                $"`{command}` failed: {reason}",
                $"Check the name with `virsh{(uri is null ? string.Empty : $" -c {uri}")} list --all` (as root for qemu:///system, or give --connect), or give the file with --xml.");
        }

        throw PassthroughException.Host(
            $"`{command}` failed: {reason}",
            "Check that libvirtd (or virtqemud) is running and that you may use it (root or the libvirt group); name the URI with --connect, or give the file with --xml.");
    }
}
