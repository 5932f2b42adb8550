using System.CommandLine;
using System.Text.Json;
using Passthrough.Adapters;
using Passthrough.Adapters.Diagnostics;
using Passthrough.Adapters.Files;
using Passthrough.Adapters.Sysfs;
using Passthrough.Cli.Rendering;
using Passthrough.Diagnostics;
using Passthrough.Errors;
using Spectre.Console;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough snapshot save [-o FILE]` and `snapshot diff OLD [NEW]`: keep and compare a host's passthrough state.</summary>
internal sealed class SnapshotVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var command = new Command("snapshot", "Save the host's passthrough state (BIOS, kernel, command line, groups, bindings, modules, ROMs) and compare it later.");

        var output = new Option<string?>("--output", "-o") { Description = "Write the snapshot to FILE (default: standard output).", HelpName = "FILE" };
        var save = new Command("save", "Write a JSON snapshot of this host.") { output };
        save.SetAction(result =>
        {
            var root = GlobalOptions.HostRoot(result);
            var snapshot = Take(root);
            var text = JsonSerializer.Serialize(snapshot, Json.Shapes.HostSnapshot) + "\n";
            if (result.GetValue(output) is string file)
            {
                AtomicFile.WriteText(file, text);
                context.Console.MarkupLine(Markup.Escape($"Saved {file}: {snapshot.Groups.Count} IOMMU groups, {snapshot.Devices.Count} devices, {snapshot.Roms.Count} ROMs."));
            }
            else
            {
                context.Out.Write(text);
            }

            return PassthroughCli.Ok;
        });

        var old = new Argument<string>("OLD") { Description = "A snapshot saved earlier." };
        var now = new Argument<string?>("NEW") { Description = "A later snapshot (default: this host now).", Arity = ArgumentArity.ZeroOrOne };
        var json = GlobalOptions.Json();
        var diff = new Command("diff", "Say what changed between a saved snapshot and this host (or another snapshot).") { old, now, json };
        diff.SetAction(result =>
        {
            var before = Load(result.GetValue(old)!);
            var after = result.GetValue(now) is string file ? Load(file) : Take(GlobalOptions.HostRoot(result));
            var changes = SnapshotDiff.Compare(before, after);
            if (result.GetValue(json))
            {
                Json.Write(context.Out, new SnapshotChangesJson(changes), Json.Shapes.SnapshotChangesJson);
            }
            else if (changes.Count == 0)
            {
                context.Console.MarkupLine("No changes.");
            }
            else
            {
                foreach (var change in changes)
                {
                    context.Console.MarkupLine("  " + Markup.Escape(change));
                }
            }

            return changes.Count == 0 ? PassthroughCli.Ok : PassthroughCli.Failed;
        });

        command.Subcommands.Add(save);
        command.Subcommands.Add(diff);
        return command;
    }

    private static HostSnapshot Take(HostRoot root)
    {
        var host = new SysfsHostReader(root).Read();
        return HostSnapshot.From(host, new HostEvidenceCollector(root).Roms(host), DateTimeOffset.UtcNow);
    }

    private static HostSnapshot Load(string file)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw PassthroughException.Input($"{file}: cannot read the snapshot ({e.Message}).", "Give a file written by `passthrough snapshot save -o FILE`.", e);
        }

        try
        {
            var snapshot = JsonSerializer.Deserialize(text, Json.Shapes.HostSnapshot)
                ?? throw new JsonException("empty document");
            if (snapshot.Format != HostSnapshot.CurrentFormat)
            {
                throw PassthroughException.Input($"{file}: snapshot format {snapshot.Format}, this version reads {HostSnapshot.CurrentFormat}.", "Save a new snapshot with this version.");
            }

            return snapshot;
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is long line ? $":{line + 1}" : string.Empty;
            throw PassthroughException.Input($"{file}{where}: not a Passthrough snapshot ({e.Message}).", "Give a file written by `passthrough snapshot save -o FILE`.", e);
        }
    }
}
