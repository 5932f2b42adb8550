using System.CommandLine;
using Passthrough.Adapters.Files;
using Passthrough.Adapters.Libvirt;
using Passthrough.Adapters.Processes;
using Passthrough.Cli.Rendering;
using Passthrough.Domain;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// What an edit verb says besides the document it changed: warnings (also in --json) and notes for
/// the text reader only (e.g. "nothing to remove": absent is the state asked for, not a warning).
/// </summary>
internal sealed class EditNotes
{
    private readonly List<string> _warnings = [];
    private readonly List<string> _notes = [];
    private readonly List<string> _actions = [];

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>What the edit did on its own beyond the options (e.g. topoext with --pin): the report's first actions.</summary>
    public IReadOnlyList<string> Actions => _actions;

    public IReadOnlyList<string> Notes => _notes;

    public void Warn(string warning) => _warnings.Add(warning);

    public void Note(string note) => _notes.Add(note);

    public void Act(string action) => _actions.Add(action);
}

/// <summary>
/// Where an `xml` edit reads its domain (FILE, - for standard input, or `--vm NAME`: libvirt's
/// inactive definition) and what it does with the result (standard output, --diff, --in-place,
/// --define, --vm defines back), with --check (change nothing) and --json (<see cref="ChangeReportJson"/>).
/// Nothing is written or defined when the edit changed nothing, so a second identical run reports
/// changed:false. An edit verb plugs in with <see cref="AddTo"/> and <see cref="RunAsync"/>.
/// </summary>
internal sealed class DomainEditTarget
{
    public Argument<string?> File { get; } = new("FILE") { Description = "Domain XML file, or - for standard input (not with --vm).", Arity = ArgumentArity.ZeroOrOne };

    public Option<string> Vm { get; } = new("--vm") { Description = "Edit this defined VM: read its inactive definition, define it only when the edit changed it.", HelpName = "NAME" };

    public Option<bool> Diff { get; } = new("--diff") { Description = "Print a unified diff instead of the edited XML." };

    public Option<bool> InPlace { get; } = new("--in-place") { Description = "Write the file atomically, keeping FILE.bak." };

    public Option<bool> Define { get; } = new("--define") { Description = "Define the edited domain through virsh, after saving its previous definition." };

    public Option<string> Connect { get; } = new("--connect", "-c") { Description = "libvirt URI for --define and --vm (default: LIBVIRT_DEFAULT_URI or qemu:///system).", HelpName = "URI" };

    public Option<string> BackupDir { get; } = new("--backup-dir") { Description = "Where --define and --vm save previous definitions (default: /var/lib/passthrough/backups/domains).", HelpName = "DIR" };

    public Option<bool> Check { get; } = new("--check") { Description = "Change nothing: say what --in-place, --define or --vm would change." };

    public Option<bool> Json { get; } = new("--json") { Description = "Print what changed (or with --check would) as JSON: changed, actions, rebootRequired, warnings, diffs." };

    public void AddTo(Command command)
    {
        command.Arguments.Add(File);
        command.Options.Add(Vm);
        command.Options.Add(Diff);
        command.Options.Add(InPlace);
        command.Options.Add(Define);
        command.Options.Add(Connect);
        command.Options.Add(BackupDir);
        command.Options.Add(Check);
        command.Options.Add(Json);
        command.Validators.Add(r =>
        {
            var file = r.GetValue(File);
            var vm = r.GetValue(Vm);
            if (file is not null && vm is not null)
            {
                r.AddError($"Give FILE or --vm NAME, not both (FILE {file}, --vm {vm}).");
            }
            else if (file is null && vm is null)
            {
                r.AddError("Give the domain to edit: FILE, - for standard input, or --vm NAME for a defined VM.");
            }
            else if (vm is not null && r.GetValue(InPlace))
            {
                r.AddError("--in-place writes FILE; with --vm the edit is defined in libvirt. Leave out --in-place.");
            }
        });
    }

    /// <summary>Reads the domain, applies <paramref name="edit"/>, writes/defines/prints as asked; the verb's exit code.</summary>
    public Task<int> RunAsync(CliContext context, ParseResult result, Action<DomainDocument> edit, CancellationToken ct) =>
        RunAsync(context, result, (d, _) => edit(d), ct);

    /// <inheritdoc cref="RunAsync(CliContext, ParseResult, Action{DomainDocument}, CancellationToken)"/>
    public async Task<int> RunAsync(CliContext context, ParseResult result, Action<DomainDocument, EditNotes> edit, CancellationToken ct)
    {
        var vm = result.GetValue(Vm);
        var file = result.GetValue(File);
        var inPlace = result.GetValue(InPlace);
        var define = result.GetValue(Define) || vm is not null;
        var check = result.GetValue(Check);
        var json = result.GetValue(Json);
        var diff = result.GetValue(Diff);
        if (inPlace && file == "-")
        {
            throw PassthroughException.Input("--in-place needs a file, not standard input.", "Give the file name, or redirect standard output instead.");
        }

        var uri = result.GetValue(Connect)
            ?? context.Environment.GetValueOrDefault("LIBVIRT_DEFAULT_URI")
            ?? "qemu:///system";
        DomainDocument domain;
        string original;
        string label;
        string? current = null;
        if (vm is not null)
        {
            var dumped = await new LibvirtDomains(context.Runner, context.Environment)
                .DumpXmlAsync(vm, uri, "--connect", $"edit a file: `virsh dumpxml --inactive {ProcessRunner.Quote(vm)} > vm.xml`, then `passthrough xml {result.CommandResult.Command.Name} vm.xml`", inactive: true, ct)
                .ConfigureAwait(false);
            original = OneNewline(dumped);
            label = "domain:" + vm;
            domain = DomainDocument.Parse(original, label);
            current = original;
        }
        else
        {
            (domain, original) = XmlVerb.Load(context, file!);
            label = file == "-" ? "<stdin>" : file!;
        }

        var notes = new EditNotes();
        edit(domain, notes);
        var edited = domain.Save();
        var changed = edited != original;
        var actions = new List<string>(notes.Actions);
        var diffs = new List<FileDiffJson>();
        var messages = new List<string>();

        if (inPlace)
        {
            if (changed)
            {
                if (!check)
                {
                    AtomicFile.Write(file!, domain.SaveBytes(), file + ".bak");
                }

                actions.Add(check ? $"write {file}" : $"write {file} (previous version in {file}.bak)");
                diffs.Add(new FileDiffJson(file!, original, edited));
                messages.Add(check ? $"--check: would write {file}" : $"wrote {file} (previous version in {file}.bak)");
            }
            else
            {
                messages.Add($"{file} already up to date");
            }
        }
        else if (vm is null && !define && changed)
        {
            // Standard output only: nothing on the host changes, the diff says what the edit did.
            diffs.Add(new FileDiffJson(label, original, edited));
        }

        if (define)
        {
            var name = vm ?? domain.Name ?? throw PassthroughException.Input($"{domain.Source}: the domain has no <name>.", "Add <name>VM</name>; libvirt needs it to define the domain.");
            var definer = new VirshDefiner(context.Runner);
            if (vm is null)
            {
                current = await definer.CurrentAsync(uri, name, ct).ConfigureAwait(false);
            }

            // A file whose edit changed nothing is defined only when libvirt does not know the domain yet:
            // libvirt rewrites every definition its own way, so the file cannot be compared with it.
            if (changed || current is null)
            {
                if (check)
                {
                    actions.Add($"define {name} on {uri}");
                    diffs.Add(new FileDiffJson("domain:" + name, OneNewline(current ?? string.Empty), edited));
                    messages.Add($"--check: would define {name} on {uri}");
                }
                else
                {
                    var backups = result.GetValue(BackupDir) ?? GlobalOptions.HostRoot(result).Path("/var/lib/passthrough/backups/domains");
                    var (backup, defined) = await definer.DefineAsync(uri, name, edited, backups, ct).ConfigureAwait(false);
                    var saved = backup is null ? "it was not defined before" : $"previous definition saved in {backup}";
                    actions.Add($"define {name} on {uri} ({saved})");
                    diffs.Add(new FileDiffJson("domain:" + name, OneNewline(current ?? string.Empty), OneNewline(defined)));
                    messages.Add($"defined {name} on {uri} ({saved})");
                }
            }
            else
            {
                messages.Add(vm is null
                    ? $"{file} already has this edit: {name} on {uri} not defined again (`virsh define {file}` defines the file as it is)"
                    : $"{name} on {uri} already up to date");
            }
        }

        if (json)
        {
            Rendering.Json.Write(context.Out, new ChangeReportJson(actions.Count > 0 || (changed && vm is null && !define && !inPlace), actions, false, notes.Warnings, diffs), Rendering.Json.Shapes.ChangeReportJson);
            return PassthroughCli.Ok;
        }

        foreach (var line in notes.Warnings.Select(w => "warning: " + w).Concat(notes.Actions).Concat(notes.Notes).Concat(messages))
        {
            await context.Error.WriteLineAsync($"passthrough: {line}").ConfigureAwait(false);
        }

        if (diff)
        {
            await context.Out.WriteAsync(UnifiedDiff.Create(original, edited, label, label + " (edited)")).ConfigureAwait(false);
        }
        else if (!inPlace && !define)
        {
            await context.Out.WriteAsync(edited).ConfigureAwait(false);
        }

        return PassthroughCli.Ok;
    }

    /// <summary>virsh ends its XML with an empty line, and a session's output with none: compare and show them alike.</summary>
    private static string OneNewline(string xml) => xml.Length == 0 ? xml : xml.TrimEnd('\n', '\r') + "\n";
}
