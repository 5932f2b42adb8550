using System.CommandLine;
using Passthrough.Adapters.Sysfs;
using Passthrough.Cli.Rendering;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough groups [--json]`: IOMMU groups, members, type and viability with the reason.</summary>
internal sealed class GroupsVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var json = GlobalOptions.Json();
        var command = new Command("groups", "List IOMMU groups with their members, type, and whether each can be passed to a VM.") { json };
        command.SetAction(result =>
        {
            var inventory = new SysfsHostReader(GlobalOptions.HostRoot(result)).Read();
            if (!inventory.HasIommuGroups)
            {
                throw PassthroughException.Host(
                    "This host has no IOMMU groups: the IOMMU is off or not supported.",
                    inventory.Facts.IsAmd
                        ? "Enable IOMMU (AMD-Vi) in the firmware setup and add amd_iommu=on iommu=pt to the kernel command line; `passthrough doctor` says more."
                        : "Enable VT-d in the firmware setup and add intel_iommu=on iommu=pt to the kernel command line; `passthrough doctor` says more.");
            }

            if (result.GetValue(json))
            {
                InventoryJson.WriteGroups(context.Out, inventory);
                return PassthroughCli.Ok;
            }

            var table = new TextTable("Group", "Type", "Members", "Viable").Elastic(2, 3);
            foreach (var group in inventory.Groups)
            {
                var viability = inventory.Viability(group);
                var members = string.Join('\n', group.Members.Select(m =>
                {
                    var f = inventory.Find(m);
                    return $"{m} {f?.Class?.Description ?? "?"} [{f?.IdsText}] {f?.Driver ?? "-"}";
                }));
                table.AddRow(
                    group.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    group.Type ?? "?",
                    members,
                    Verdict(viability) + viability.Reason);
            }

            table.Write(context.Out, context.Colour, context.TerminalWidth);
            return PassthroughCli.Ok;
        });
        return command;
    }

    /// <summary>A group of bridges alone is neither good nor bad news: there is nothing in it to pass.</summary>
    internal static string Verdict(Passthrough.Pci.GroupViability viability) =>
        viability.Viable ? "yes: " : viability.InTheWay.Count == 0 ? "n/a: " : "no: ";
}
