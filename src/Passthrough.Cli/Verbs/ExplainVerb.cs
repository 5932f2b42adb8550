using System.CommandLine;
using Passthrough.Adapters.Logs;
using Passthrough.Cli.Rendering;
using Passthrough.Diagnostics;
using Passthrough.Errors;
using Spectre.Console;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough explain TEXT | --log FILE | --vm NAME`: recognise known error signatures and explain them.</summary>
internal sealed class ExplainVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var text = new Argument<string[]>("TEXT") { Description = "The error message (quote it); omit to read --log, the VM's log and the kernel log.", Arity = ArgumentArity.ZeroOrMore };
        var log = new Option<string?>("--log") { Description = "Read this log file (\"-\" for standard input).", HelpName = "FILE" };
        var vm = new Option<string?>("--vm") { Description = "Read libvirt's /var/log/libvirt/qemu/NAME.log and the kernel log.", HelpName = "NAME" };
        var json = GlobalOptions.Json();
        var command = new Command("explain", "Explain known VFIO/QEMU/kernel error messages: cause, what to check, what to do.") { text, log, vm, json };
        command.SetAction(result =>
        {
            var root = GlobalOptions.HostRoot(result);
            var sources = new List<string>();
            var input = new List<string>();
            if (result.GetValue(text) is { Length: > 0 } words)
            {
                input.Add(string.Join(' ', words));
                sources.Add("the text given");
            }

            if (result.GetValue(log) is string file)
            {
                input.Add(file == "-" ? context.In.ReadToEnd() : ReadLog(file));
                sources.Add(file == "-" ? "standard input" : file);
            }

            if (input.Count == 0)
            {
                if (result.GetValue(vm) is string name)
                {
                    var qemuLog = root.Path($"/var/log/libvirt/qemu/{name}.log");
                    if (!File.Exists(qemuLog))
                    {
                        throw PassthroughException.Input($"No libvirt log for VM {name}: {qemuLog} does not exist.", "Check the name with `virsh list --all`, or give the log with --log FILE.");
                    }

                    input.Add(ReadLog(qemuLog));
                    sources.Add($"/var/log/libvirt/qemu/{name}.log");
                }

                var kernel = new KernelLogReader(root).Read();
                if (kernel.Log is { } k)
                {
                    input.Add(string.Join('\n', k.Lines.Select(l => l.Message)));
                    sources.Add("the kernel log");
                }
                else if (sources.Count == 0)
                {
                    throw PassthroughException.Host($"Nothing to explain: {kernel.Problem}.", "Give the message: passthrough explain 'TEXT', or --log FILE; or run as root to read the kernel log.");
                }
            }

            var explanations = ErrorCatalog.Explain(string.Join('\n', input));
            if (result.GetValue(json))
            {
                Json.Write(context.Out, new ExplainJson(explanations), Json.Shapes.ExplainJson);
            }
            else if (explanations.Count == 0)
            {
                context.Console.MarkupLine(Markup.Escape($"No known error signature in {string.Join(", ", sources)}."));
                context.Console.MarkupLine(Markup.Escape("`passthrough doctor` checks the host as a whole."));
            }
            else
            {
                foreach (var e in explanations)
                {
                    context.Console.MarkupLine($"[bold red]{Markup.Escape(e.Title)}[/] [grey]({Markup.Escape(e.Id)})[/]");
                    context.Console.MarkupLine($"  [grey]seen:[/]  {Markup.Escape(e.Seen)}");
                    context.Console.MarkupLine($"  [bold]cause:[/] {Markup.Escape(e.Cause)}");
                    context.Console.MarkupLine($"  [bold]check:[/] {Markup.Escape(e.Check)}");
                    context.Console.MarkupLine($"  [green]do:[/]    {Markup.Escape(e.Remedy)}");
                    context.Console.WriteLine();
                }
            }

            return explanations.Count > 0 ? PassthroughCli.Ok : PassthroughCli.Failed;
        });
        return command;
    }

    private static string ReadLog(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw PassthroughException.Input($"--log {file}: cannot read it ({e.Message}).", "Give a readable log file, or - to read standard input.", e);
        }
    }
}
