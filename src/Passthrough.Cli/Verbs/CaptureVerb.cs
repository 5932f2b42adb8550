using System.CommandLine;
using Passthrough.Adapters.Capture;
using Passthrough.Adapters.Files;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// `passthrough capture save [-o FILE]` records what Passthrough reads from this host as reviewable
/// text; `passthrough capture expand FILE DIR` lays a capture out again so `--root DIR` runs on it.
/// </summary>
internal sealed class CaptureVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var output = new Option<string?>("--output", "-o") { Description = "Write the capture to FILE (default: standard output).", HelpName = "FILE" };
        var save = new Command("save", "Record the parts of /sys and /proc Passthrough reads (PCI devices, drivers, IOMMU groups, kernel command line, modules, CPU, firmware) as one text file.")
        {
            output,
        };
        save.SetAction(result =>
        {
            var root = GlobalOptions.HostRoot(result);
            var file = result.GetValue(output);
            if (string.IsNullOrEmpty(file) || file == "-")
            {
                HostCapture.Save(root, context.Out);
                return PassthroughCli.Ok;
            }

            using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
            HostCapture.Save(root, text);
            AtomicFile.WriteText(file, text.ToString());
            context.Error.WriteLine($"Saved the host capture to {file}.");
            return PassthroughCli.Ok;
        });

        var file = new Argument<string>("FILE") { Description = "A capture made by `passthrough capture save` (- for standard input)." };
        var dir = new Argument<string>("DIR") { Description = "Where to lay the tree out (created; must not hold the same paths already)." };
        var expand = new Command("expand", "Lay a capture out as a directory tree, exactly as the kernel does, for `passthrough --root DIR ...`.")
        {
            file,
            dir,
        };
        expand.SetAction(result =>
        {
            var source = result.GetValue(file)!;
            var target = result.GetValue(dir)!;
            if (source == "-")
            {
                HostCapture.Expand(context.In, "<stdin>", target);
                return PassthroughCli.Ok;
            }

            TextReader reader;
            try
            {
                reader = new StreamReader(source);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw PassthroughException.Input($"Cannot read {source}: {e.Message}", "Give the path of a capture made by `passthrough capture save`.", e);
            }

            using (reader)
            {
                HostCapture.Expand(reader, source, target);
            }

            return PassthroughCli.Ok;
        });

        return new Command("capture", "Save this host's PCI and IOMMU state as reviewable text, or expand such a capture into a tree for --root.")
        {
            save,
            expand,
        };
    }
}
