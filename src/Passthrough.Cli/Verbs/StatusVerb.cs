using System.CommandLine;
using Passthrough.Adapters.Binding;
using Passthrough.Adapters.Sysfs;
using Passthrough.Binding;
using Passthrough.Cli.Rendering;
using Passthrough.Domain;
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
            var status = BindingStatus.Of(new JournalStore(root).All(), new SysfsHostReader(root, names: false).Read());
            var exit = status.Healthy ? PassthroughCli.Ok : PassthroughCli.Failed;
            if (result.GetValue(json))
            {
                Json.Write(context.Out, StatusJsonOf(status), Json.Shapes.StatusJson);
                return exit;
            }

            if (status.Journals.Count == 0)
            {
                context.Out.WriteLine("Passthrough has nothing bound (no state journal in /run/passthrough).");
            }

            foreach (var vm in status.Journals)
            {
                var journal = vm.Journal;
                var state = vm.Prepared ? "prepared"
                    : vm.Kept ? $"kept on vfio-pci after the VM stopped (keep-on-vfio); `passthrough restore {journal.Owner.RestoreArgument}` gives them back"
                    : $"{journal.State}: a start or stop did not finish; `passthrough restore {journal.Owner.RestoreArgument}` gives everything back";
                context.Console.MarkupLineInterpolated($"[bold]{journal.Owner.Title}[/] ({journal.Mode.Name()}, {journal.Id}): {state}");
                var table = new Table().Border(TableBorder.Simple);
                table.AddColumns("Device", "Expected", "Now", "Host driver", "");
                foreach (var d in vm.Devices)
                {
                    table.AddRow(Markup.Escape(d.Address.ToString()), d.Expected, Markup.Escape(d.Current ?? "-"), Markup.Escape(d.HostDriver ?? "-"), d.Ok ? "ok" : "MISMATCH");
                }

                context.Console.Write(table);
                if (vm.Released.Count > 0)
                {
                    context.Out.WriteLine($"  Released for the VM (given back on stop): {string.Join(", ", vm.Released)}");
                }
            }

            if (status.VfioOutsidePassthrough.Count > 0)
            {
                context.Out.WriteLine($"On vfio-pci without a passthrough journal (bound at boot or by hand): {string.Join(", ", status.VfioOutsidePassthrough)}");
            }

            return exit;
        });
        return command;
    }

    /// <summary>The --json contract: the first release's fields, plus ownerKind ("vm" or "manual-bind"), so a VM
    /// called "bind" is told apart from a manual bind.</summary>
    private static StatusJson StatusJsonOf(BindingStatus status) => new(
        [.. status.Journals.Select(vm => new VmStatusJson(
            vm.Journal.Owner.Name,
            vm.Journal.Owner is JournalOwner.ManualBind ? "manual-bind" : "vm",
            vm.Journal.Id,
            vm.Journal.Mode.Name(),
            vm.Journal.State,
            vm.Journal.Started,
            [.. vm.Devices.Select(d => new DeviceStatusJson(d.Address.ToString(), d.Expected, d.Current, d.HostDriver, d.Ok))],
            vm.Released))],
        [.. status.VfioOutsidePassthrough.Select(a => a.ToString())],
        status.Healthy);
}
