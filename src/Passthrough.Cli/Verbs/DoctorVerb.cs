using System.CommandLine;
using Passthrough.Cli.Rendering;
using Passthrough.Diagnostics;
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
        var json = GlobalOptions.Json();
        var command = new Command("doctor", "Check that this host is ready for GPU passthrough: each finding with what was seen and what to do.") { slot, vm, xml, json };
        command.Validators.Add(r =>
        {
            if (new[] { r.GetValue(slot), r.GetValue(vm), r.GetValue(xml) }.Count(v => v is not null) > 1)
            {
                r.AddError("Give one of --slot, --vm, --xml.");
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

            VmFacts? facts = null;
            if (result.GetValue(xml) is string file)
            {
                facts = VmDefinition.Parse(ReadXml(file), file);
            }
            else if (result.GetValue(vm) is string name)
            {
                facts = VmDefinition.Parse(await DumpXmlAsync(context, name, cancellationToken).ConfigureAwait(false), $"virsh dumpxml {name}");
            }

            if (facts is not null)
            {
                facts = collector.WithRomCheck(facts);
                evidence = evidence with
                {
                    Vm = facts,
                    TargetSlots = facts.HostDevices.Select(a => a.Slot).ToHashSet(),
                    ExtraFindings = [.. MissingDevices(facts, host)],
                };
            }

            var report = Doctor.Run(evidence);
            if (result.GetValue(json))
            {
                Json.Write(context.Out, new { findings = report.Findings });
            }
            else
            {
                FindingsView.Write(context.Console, report);
            }

            return report.HasErrors ? PassthroughCli.Failed : PassthroughCli.Ok;
        });
        return command;
    }

    /// <summary>Host devices the VM names that this host does not have (moved address, card removed).</summary>
    private static IEnumerable<Finding> MissingDevices(VmFacts vm, Host.HostInventory host) =>
        vm.HostDevices.Where(a => host.Find(a) is null).Select(a => new Finding(
            "vm-devices", Severity.Error, a.ToString(),
            $"VM {vm.Name} passes {a}, which this host does not have: the card moved address or is gone.",
            [$"<hostdev><source><address .../></source></hostdev> for {a}"],
            "Run `passthrough list` and fix the address in the VM (`virsh edit`), or compare `passthrough snapshot diff` with an older snapshot."));

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

    internal static async Task<string> DumpXmlAsync(CliContext context, string name, CancellationToken cancellationToken)
    {
        var options = new ProcessOptions { Timeout = TimeSpan.FromSeconds(30) };
        if (context.Environment.TryGetValue("LIBVIRT_DEFAULT_URI", out var uri))
        {
            options = options with { Environment = new Dictionary<string, string> { ["LIBVIRT_DEFAULT_URI"] = uri } };
        }

        var run = await context.Runner.RunAsync("virsh", ["dumpxml", name], options, cancellationToken).ConfigureAwait(false);
        if (!run.Succeeded)
        {
            throw PassthroughException.Input(
                $"`virsh dumpxml {name}` failed: {run.Stderr.Trim().Split('\n')[0]}",
                "Check the name with `virsh list --all` (as root for qemu:///system), or give the file with --xml.");
        }

        return run.Stdout;
    }
}
