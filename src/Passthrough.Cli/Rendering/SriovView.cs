using Passthrough.Pci;

namespace Passthrough.Cli.Rendering;

/// <summary>`list`: a GPU's SR-IOV virtual functions, under the GPU they belong to and apart from its functions.</summary>
internal static class SriovView
{
    public static void WriteVirtualFunctions(CliContext context, Gpu gpu, Func<IEnumerable<PciFunction>, TextTable> table)
    {
        var summaries = gpu.Functions.Select(SriovRules.Summary).OfType<string>().ToList();
        if (summaries.Count == 0 && gpu.VirtualFunctions.Count == 0)
        {
            return;
        }

        var title = $"  Virtual functions ({string.Join("; ", summaries)}), each passed on its own:";
        context.Out.WriteLine(context.Colour ? $"\u001b[2m{title}\u001b[0m" : title);
        if (gpu.VirtualFunctions.Count > 0)
        {
            table(gpu.VirtualFunctions).Write(context.Out, context.Colour, context.TerminalWidth);
        }
    }
}
