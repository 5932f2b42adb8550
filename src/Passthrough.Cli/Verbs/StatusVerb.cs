using System.CommandLine;
using Passthrough.Binding;
using Passthrough.Cli.Rendering;
using Passthrough.Domain;
using Passthrough.Sysfs;
using Spectre.Console;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough status [--json]`: each journal (a VM passthrough prepared) with the bindings it expects against the kernel's.</summary>
internal sealed class StatusVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var json = GlobalOptions.Json();
        var command = new Command("status", "Show what passthrough has bound for each VM, and whether the kernel agrees.") { json };
        command.SetAction(result =>
        {
            var root = GlobalOptions.HostRoot(result);
            var journals = new JournalStore(root).All();
            var inventory = new SysfsHostReader(root, names: false).Read();
            var recorded = journals.SelectMany(j => j.FunctionStates()).Select(f => f.Address).ToHashSet();
            var vms = journals.Select(j => new
            {
                owner = j.Owner,
                id = j.Id,
                mode = j.Mode.Name(),
                state = j.State,
                started = j.Started,
                devices = j.FunctionStates().Select(f =>
                {
                    // Prepared: the VM expects vfio-pci. Preparing or restoring: a start or stop did not finish.
                    var now = inventory.Find(f.Address)?.Driver;
                    return new { address = f.Address.ToString(), expected = BindingPlan.VfioDriver, current = now, hostDriver = f.Driver, ok = j.State == BindingJournal.Prepared && now == BindingPlan.VfioDriver };
                }).ToList(),
                released = j.Entries.Where(e => e.Kind != JournalKind.Function).Select(e => $"{Label(e.Kind)} {e.Target}").ToList(),
            }).ToList();
            var outside = inventory.Functions
                .Where(f => f.IsVfioBound && !recorded.Contains(f.Address))
                .Select(f => f.Address.ToString())
                .ToList();
            var healthy = vms.All(v => v.state == BindingJournal.Prepared && v.devices.All(d => d.ok));

            if (result.GetValue(json))
            {
                Json.Write(context.Out, new { vms, vfioOutsidePassthrough = outside, healthy });
                return healthy ? PassthroughCli.Ok : PassthroughCli.Failed;
            }

            if (vms.Count == 0)
            {
                context.Out.WriteLine("Passthrough has nothing bound (no state journal in /run/passthrough).");
            }

            foreach (var vm in vms)
            {
                var title = vm.owner == "bind" ? "passthrough bind" : $"VM '{vm.owner}'";
                var state = vm.state == BindingJournal.Prepared ? "prepared" : $"{vm.state}: a start or stop did not finish; `passthrough restore {vm.owner}` gives everything back";
                context.Console.MarkupLineInterpolated($"[bold]{title}[/] ({vm.mode}, {vm.id}): {state}");
                var table = new Table().Border(TableBorder.Simple);
                table.AddColumns("Device", "Expected", "Now", "Host driver", "");
                foreach (var d in vm.devices)
                {
                    table.AddRow(Markup.Escape(d.address), d.expected, Markup.Escape(d.current ?? "-"), Markup.Escape(d.hostDriver ?? "-"), d.ok ? "ok" : "MISMATCH");
                }

                context.Console.Write(table);
                if (vm.released.Count > 0)
                {
                    context.Out.WriteLine($"  Released for the VM (given back on stop): {string.Join(", ", vm.released)}");
                }
            }

            if (outside.Count > 0)
            {
                context.Out.WriteLine($"On vfio-pci without a passthrough journal (bound at boot or by hand): {string.Join(", ", outside)}");
            }

            return healthy ? PassthroughCli.Ok : PassthroughCli.Failed;
        });
        return command;
    }

    private static string Label(JournalKind kind) => kind switch
    {
        JournalKind.DisplayManager => "display manager",
        JournalKind.StoppedUnit => "unit",
        JournalKind.VtConsole => "console",
        JournalKind.Framebuffer => "framebuffer",
        _ => "module",
    };
}
