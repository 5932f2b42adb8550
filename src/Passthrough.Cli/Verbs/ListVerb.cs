using System.CommandLine;
using Passthrough.Adapters.Sysfs;
using Passthrough.Cli.Rendering;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough list [--all] [--json]`: GPUs with every function, or every PCI function.</summary>
internal sealed class ListVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var all = new Option<bool>("--all") { Description = "List every PCI function, not only GPUs." };
        var json = GlobalOptions.Json();
        var command = new Command("list", "List GPUs with all their functions, drivers, IOMMU groups, reset support and the boot display.")
        {
            all,
            json,
        };
        command.SetAction(result =>
        {
            var inventory = new SysfsHostReader(GlobalOptions.HostRoot(result)).Read();
            if (result.GetValue(all))
            {
                RenderAll(context, inventory, result.GetValue(json));
            }
            else
            {
                RenderGpus(context, inventory, result.GetValue(json));
            }

            return PassthroughCli.Ok;
        });
        return command;
    }

    private static void RenderAll(CliContext context, HostInventory inventory, bool json)
    {
        if (json)
        {
            InventoryJson.WriteDevices(context.Out, inventory.Functions);
            return;
        }

        if (inventory.Functions.Count == 0)
        {
            context.Out.WriteLine("No PCI functions found (is /sys mounted, or is --root right?).");
            return;
        }

        FunctionTable(inventory.Functions).Write(context.Out, context.Colour, context.TerminalWidth);
    }

    private static void RenderGpus(CliContext context, HostInventory inventory, bool json)
    {
        var gpus = inventory.Gpus;
        if (json)
        {
            InventoryJson.WriteGpus(context.Out, gpus);
            return;
        }

        if (gpus.Count == 0)
        {
            context.Out.WriteLine("No GPU (display-class PCI function) found. `passthrough list --all` shows every function.");
            return;
        }

        foreach (var gpu in gpus)
        {
            var display = gpu.Display;
            var title = $"GPU {gpu.Slot}: {display.VendorName ?? display.IdsText} {display.DeviceName ?? display.Class?.Description}".TrimEnd();
            if (gpu.BootVga)
            {
                title += "  [boot display]";
            }

            context.Out.WriteLine(context.Colour ? $"\u001b[1m{title}\u001b[0m" : title);
            FunctionTable(gpu.Functions).Write(context.Out, context.Colour, context.TerminalWidth);
            SriovView.WriteVirtualFunctions(context, gpu, FunctionTable);
            context.Out.WriteLine();
        }
    }

    private static TextTable FunctionTable(IEnumerable<PciFunction> functions)
    {
        var table = new TextTable("Address", "Ids", "Class", "Name", "Driver", "Group", "Reset", "Boot VGA").Elastic(2, 3);
        foreach (var f in functions)
        {
            table.AddRow(
                f.Address.ToString(),
                f.IdsText,
                f.Class?.Description ?? "?",
                NameText(f),
                f.Driver ?? "-",
                f.IommuGroup?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
                ResetText(f),
                f.BootVga == true ? "yes" : string.Empty);
        }

        return table;
    }

    /// <summary>The name, and under it each resizable BAR ("BAR 0: 256 MiB now, offers 1 MiB-8 GiB"): the sizes &lt;passthrough:bar&gt; may ask for.</summary>
    private static string NameText(PciFunction f) =>
        f.ResizableBars is { Count: > 0 } bars
            ? string.Join('\n', bars.Select(b => b.Summary()).Prepend(f.DeviceName ?? "-"))
            : f.DeviceName ?? "-";

    /// <summary>"flr,bus" from reset_method; "FLR" from config when the kernel has no reset_method file.</summary>
    internal static string ResetText(PciFunction f) =>
        f.ResetMethods is { Count: > 0 } methods ? string.Join(',', methods)
        : f.ResetMethods is { Count: 0 } ? "none"
        : f.Flr == true ? "flr"
        : f.Flr == false ? "none"
        : "?";
}
