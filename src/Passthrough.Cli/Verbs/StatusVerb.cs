using System.CommandLine;
using Passthrough.Binding;
using Passthrough.Cli.Rendering;
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
            var vms = journals.Select(j => new VmStatusJson(
                j.Owner,
                j.Id,
                j.Mode.Name(),
                j.State,
                j.Started,
                [.. j.FunctionStates().Select(f =>
                {
                    // Prepared: the VM expects vfio-pci. Preparing or restoring: a start or stop did not finish.
                    var now = inventory.Find(f.Address)?.Driver;
                    return new DeviceStatusJson(f.Address.ToString(), BindingPlan.VfioDriver, now, f.Driver, j.State == BindingJournal.Prepared && now == BindingPlan.VfioDriver);
                })],
                [.. j.Entries.Where(e => e.Kind != JournalKind.Function).Select(e => $"{Label(e.Kind)} {e.Target}")])).ToList();
            var outside = inventory.Functions
                .Where(f => f.IsVfioBound && !recorded.Contains(f.Address))
                .Select(f => f.Address.ToString())
                .ToList();
            var healthy = vms.All(v => v.State == BindingJournal.Prepared && v.Devices.All(d => d.Ok));

            if (result.GetValue(json))
            {
                Json.Write(context.Out, new StatusJson(vms, outside, healthy), Json.Shapes.StatusJson);
                return healthy ? PassthroughCli.Ok : PassthroughCli.Failed;
            }

            if (vms.Count == 0)
            {
                context.Out.WriteLine("Passthrough has nothing bound (no state journal in /run/passthrough).");
            }

            foreach (var vm in vms)
            {
                var title = vm.Owner == "bind" ? "passthrough bind" : $"VM '{vm.Owner}'";
                var state = vm.State == BindingJournal.Prepared ? "prepared" : $"{vm.State}: a start or stop did not finish; `passthrough restore {vm.Owner}` gives everything back";
                context.Console.MarkupLineInterpolated($"[bold]{title}[/] ({vm.Mode}, {vm.Id}): {state}");
                var table = new Table().Border(TableBorder.Simple);
                table.AddColumns("Device", "Expected", "Now", "Host driver", "");
                foreach (var d in vm.Devices)
                {
                    table.AddRow(Markup.Escape(d.Address), d.Expected, Markup.Escape(d.Current ?? "-"), Markup.Escape(d.HostDriver ?? "-"), d.Ok ? "ok" : "MISMATCH");
                }

                context.Console.Write(table);
                if (vm.Released.Count > 0)
                {
                    context.Out.WriteLine($"  Released for the VM (given back on stop): {string.Join(", ", vm.Released)}");
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
