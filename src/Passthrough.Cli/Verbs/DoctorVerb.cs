using System.CommandLine;
using Passthrough.Adapters.Diagnostics;
using Passthrough.Adapters.Files;
using Passthrough.Adapters.Libvirt;
using Passthrough.Adapters.Sysfs;
using Passthrough.Cli.Rendering;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;

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

            DomainDocument? domain = null;
            if (result.GetValue(xml) is string file)
            {
                domain = VmDefinition.Load(ReadXml(file), file);
            }
            else if (result.GetValue(vm) is string name)
            {
                var text = await new LibvirtDomains(context.Runner, context.Environment)
                    .DumpXmlAsync(name, result.GetValue(connect), "--connect", "give the file with --xml", cancellationToken: cancellationToken).ConfigureAwait(false);
                domain = VmDefinition.Load(text, $"virsh dumpxml {name}");
            }

            if (domain is not null)
            {
                var facts = collector.WithRomCheck(VmDefinition.From(domain));
                var lint = DomainLint.Run(domain, new LintInputs { Host = host, Rom = path => RomFacts.Read(root, path) });
                evidence = evidence with
                {
                    Vm = facts,
                    TargetSlots = facts.HostDevices.Select(a => a.Slot).ToHashSet(),
                    Lint = lint,
                };
            }

            var report = Doctor.Run(evidence);
            if (domain is not null)
            {
                report = DoctorReport.From([.. report.Findings, .. DesktopFindings.For(domain, root)]);
            }

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
}
