using System.CommandLine;
using Passthrough.Adapters;
using Passthrough.Adapters.Libvirt;
using Passthrough.Adapters.Setup;
using Passthrough.Adapters.Sysfs;
using Passthrough.Adapters.Systemd;
using Passthrough.Boot;
using Passthrough.Cli.Rendering;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Setup;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// `passthrough setup plan|apply|undo`: the host side (kernel arguments for the bootloader in use,
/// vfio in the initramfs, modprobe.d, boot-time binding unit, libvirt's memory lock limit), shown
/// as diffs first, applied with backups, taken back byte for byte.
/// </summary>
internal sealed class SetupVerb : IVerb
{

    public Command Create(CliContext context)
    {
        var command = new Command("setup", "Prepare the host: kernel arguments, initramfs, vfio-pci binding at boot, libvirt limits. Plan, apply, undo.");
        command.Subcommands.Add(PlanCommand(context));
        command.Subcommands.Add(ApplyCommand(context));
        command.Subcommands.Add(UndoCommand(context));
        return command;
    }

    private sealed record Inputs(Option<string?> Slot, Option<string?> Vm, Option<string?> Mode, Option<bool> Json)
    {
        public LookingGlassSetupOptions LookingGlass { get; } = new();

        public Option<int?> Hugepages { get; } = new("--hugepages") { Description = "Reserve this many hugepages at boot (default_hugepagesz, hugepagesz, hugepages=).", HelpName = "COUNT" };

        public Option<string?> HugepageSize { get; } = new("--hugepage-size") { Description = "The size of the pages --hugepages reserves (default 2M).", HelpName = "2M|1G" };
    }

    private static Inputs AddInputs(Command command)
    {
        var inputs = new Inputs(
            new Option<string?>("--slot") { Description = "The GPU's slot (0000:03:00); every function of it is planned for.", HelpName = "SLOT" },
            new Option<string?>("--vm") { Description = "Take the devices (and mode) from this libvirt domain's XML (virsh dumpxml).", HelpName = "NAME" },
            new Option<string?>("--mode") { Description = "static: vfio-pci at boot; dynamic or single-gpu: the hook binds at VM start (default: the VM's mode, else static).", HelpName = "static|dynamic|single-gpu" },
            GlobalOptions.Json());
        inputs.Mode.AcceptOnlyFromAmong("static", "dynamic", "single-gpu");
        command.Options.Add(inputs.Slot);
        command.Options.Add(inputs.Vm);
        command.Options.Add(inputs.Mode);
        command.Options.Add(inputs.Json);
        inputs.LookingGlass.AddTo(command);
        command.Options.Add(inputs.Hugepages);
        command.Options.Add(inputs.HugepageSize);
        return inputs;
    }

    private static Command PlanCommand(CliContext context)
    {
        var command = new Command("plan", "Show what setup would change, as unified diffs plus the commands it would run. Changes nothing.");
        var inputs = AddInputs(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var plan = await MakePlanAsync(context, root, result, inputs, cancellationToken).ConfigureAwait(false);
            if (result.GetValue(inputs.Json))
            {
                Json.Write(context.Out, PlanJson(plan), Json.Shapes.SetupPlanJson);
            }
            else
            {
                await context.Out.WriteAsync(RenderPlan(plan, root)).ConfigureAwait(false);
            }

            return PassthroughCli.Ok;
        });
        return command;
    }

    private static Command ApplyCommand(CliContext context)
    {
        var command = new Command("apply", "Show the plan, ask, then write the files (with backups) and run the commands. Only the live root (/) runs commands.");
        var inputs = AddInputs(command);
        var yes = new Option<bool>("--yes") { Description = "Apply without asking (for scripts)." };
        var check = ChangeOptions.Check("It needs no --yes and fails as apply would on bad input (exit 2); an empty plan is changed:false. A command that would fail (dracut, grub-mkconfig) is not foreseen.");
        command.Options.Add(yes);
        command.Options.Add(check);
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var plan = await MakePlanAsync(context, root, result, inputs, cancellationToken).ConfigureAwait(false);
            var json = result.GetValue(inputs.Json);
            if (!json)
            {
                await context.Out.WriteAsync(RenderPlan(plan, root)).ConfigureAwait(false);
            }

            var systemBus = GlobalOptions.SystemBusAddress(result);
            if (plan.IsEmpty || result.GetValue(check))
            {
                if (json)
                {
                    Json.Write(context.Out, ApplyJson(plan, root, outcome: null, systemdRuns: systemBus is not null || root.IsLiveSystem), Json.Shapes.SetupChangeJson);
                }
                else if (!plan.IsEmpty)
                {
                    await context.Out.WriteLineAsync("\n--check: nothing was changed; `setup apply` without --check makes these changes.").ConfigureAwait(false);
                }

                return PassthroughCli.Ok;
            }

            if (!await ConfirmAsync(context, result.GetValue(yes), "Apply this plan?").ConfigureAwait(false))
            {
                await context.Out.WriteLineAsync("Nothing was changed.").ConfigureAwait(false);
                return PassthroughCli.Failed;
            }

            // systemd over D-Bus on the live system or the bus named with --system-bus; otherwise the steps are listed.
            using var systemd = plan.DaemonReload || plan.UnitsToEnable.Count > 0 ? ConnectSystemd(root, systemBus) : null;
            var applier = new SetupApplier(root, context.Runner, systemd, runCommands: root.IsLiveSystem) { Progress = StepSpinner.For(context, json) };
            var outcome = await applier.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
            if (json)
            {
                Json.Write(context.Out, ApplyJson(plan, root, outcome, systemd is not null), Json.Shapes.SetupChangeJson);
            }
            else
            {
                await context.Out.WriteAsync(RenderOutcome(outcome, root, systemd is not null, "Applied")).ConfigureAwait(false);
            }

            return PassthroughCli.Ok;
        });
        return command;
    }

    private static Command UndoCommand(CliContext context)
    {
        var command = new Command(
            "undo",
            "Restore the files of the last `setup apply` not yet undone (or the one named) byte for byte and rebuild what was regenerated. With every apply undone it has nothing to do (exit 0, changed:false).");
        var timestamp = new Argument<string?>("TIMESTAMP") { Description = "The backup to restore (default: the latest not undone).", Arity = ArgumentArity.ZeroOrOne };
        var yes = new Option<bool>("--yes") { Description = "Restore without asking (for scripts)." };
        var json = ChangeOptions.Json();
        var check = ChangeOptions.Check("It needs no --yes and fails as undo would: an unknown TIMESTAMP (exit 2), a file changed since that apply (exit 1). A command that would fail is not foreseen.");
        command.Arguments.Add(timestamp);
        command.Options.Add(yes);
        command.Options.Add(json);
        command.Options.Add(check);
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var asJson = result.GetValue(json);
            var stamp = result.GetValue(timestamp);
            var target = new SetupApplier(root, context.Runner, systemd: null, runCommands: root.IsLiveSystem).UndoTarget(stamp);
            if (target is null || target.Undone)
            {
                if (asJson)
                {
                    Json.Write(context.Out, new SetupChangeJson(false, [], false, [], [], target?.Timestamp, target is null ? null : ModeName(target.Mode), [], [], [], []), Json.Shapes.SetupChangeJson);
                }
                else
                {
                    await context.Out.WriteLineAsync(target is null
                        ? "Nothing to undo: every `setup apply` on this host was undone (or none was made)."
                        : $"Nothing to undo: backup {target.Timestamp} was undone already.").ConfigureAwait(false);
                }

                return PassthroughCli.Ok;
            }

            var systemBus = GlobalOptions.SystemBusAddress(result);
            var preview = new SetupApplier(root, context.Runner, systemd: null, runCommands: root.IsLiveSystem).PreviewUndo(target);
            if (!asJson)
            {
                await context.Out.WriteLineAsync($"Backup {target.Timestamp} ({target.Mode} mode) restores:").ConfigureAwait(false);
                foreach (var f in target.Files)
                {
                    await context.Out.WriteLineAsync($"  {f.Path} ({(f.Existed ? "restored" : "removed: setup created it")})").ConfigureAwait(false);
                }
            }

            if (result.GetValue(check))
            {
                if (asJson)
                {
                    Json.Write(context.Out, UndoJson(preview, root, outcome: null, systemdRuns: systemBus is not null || root.IsLiveSystem), Json.Shapes.SetupChangeJson);
                }
                else
                {
                    foreach (var f in preview.Files)
                    {
                        await context.Out.WriteAsync("\n" + UnifiedDiff.Render(f.Path, f.Current, f.Restored)).ConfigureAwait(false);
                    }

                    await context.Out.WriteLineAsync("\n--check: nothing was changed; `setup undo` without --check restores these files.").ConfigureAwait(false);
                }

                return PassthroughCli.Ok;
            }

            if (!await ConfirmAsync(context, result.GetValue(yes), "Restore these files?").ConfigureAwait(false))
            {
                await context.Out.WriteLineAsync("Nothing was changed.").ConfigureAwait(false);
                return PassthroughCli.Failed;
            }

            using var systemd = preview.DaemonReload ? ConnectSystemd(root, systemBus) : null;
            var applier = new SetupApplier(root, context.Runner, systemd, runCommands: root.IsLiveSystem) { Progress = StepSpinner.For(context, asJson) };
            var outcome = await applier.CarryOutAsync(preview, cancellationToken).ConfigureAwait(false);
            if (asJson)
            {
                Json.Write(context.Out, UndoJson(preview, root, outcome, systemd is not null), Json.Shapes.SetupChangeJson);
            }
            else
            {
                await context.Out.WriteAsync(RenderOutcome(outcome, root, systemd is not null, "Restored")).ConfigureAwait(false);
            }

            return PassthroughCli.Ok;
        });
        return command;
    }

    /// <summary>--yes answers; a terminal asks; anything else refuses (a script must say --yes).</summary>
    private static async Task<bool> ConfirmAsync(CliContext context, bool yes, string question)
    {
        if (yes)
        {
            return true;
        }

        if (!context.IsTerminal)
        {
            throw PassthroughException.Input(
                "Not applied: there is no terminal to ask for confirmation.",
                "Review the plan above and run again with --yes.");
        }

        await context.Out.WriteAsync($"{question} [y/N] ").ConfigureAwait(false);
        var answer = (await context.In.ReadLineAsync().ConfigureAwait(false))?.Trim();
        return answer is "y" or "Y" or "yes" or "Yes";
    }

    private static async Task<SetupPlan> MakePlanAsync(CliContext context, HostRoot root, ParseResult result, Inputs inputs, CancellationToken cancellationToken)
    {
        var slot = result.GetValue(inputs.Slot);
        var vm = result.GetValue(inputs.Vm);
        if (slot is not null && vm is not null)
        {
            throw PassthroughException.Input("Give --slot or --vm, not both.", "--slot plans for a GPU; --vm for the devices a domain passes.");
        }

        var inventory = new SysfsHostReader(root, names: false).Read();
        IReadOnlyList<PciFunction> functions = [];
        PassthroughMode? vmMode = null;
        if (slot is not null)
        {
            functions = inventory.Gpu(PciSlot.ParseLenient(slot)).Functions;
        }
        else if (vm is not null)
        {
            var (addresses, mode) = await ReadDomainAsync(context, vm, cancellationToken).ConfigureAwait(false);
            vmMode = mode;
            functions = [.. addresses.Select(a => inventory.Find(a) ?? throw PassthroughException.Input(
                $"Domain {vm} passes {a}, which this host does not have.",
                "Check the <hostdev> addresses with `passthrough list --all`."))];
        }

        var modeText = result.GetValue(inputs.Mode);
        var modeValue = modeText is null ? vmMode ?? PassthroughMode.Static : PassthroughModes.Parse(modeText, "--mode");
        var files = new BootFilesReader(root).Read(LookingGlassPlanner.Files);
        var hugepages = result.GetValue(inputs.Hugepages) is { } count ? BootHugepages.Parse(count, result.GetValue(inputs.HugepageSize)) : null;
        var plan = SetupPlanner.Plan(new SetupRequest { Mode = modeValue, Functions = functions, Facts = inventory.Facts, Files = files, Hugepages = hugepages });
        return inputs.LookingGlass.Extend(plan, files, root, result, context);
    }

    /// <summary>The domain's PCI hostdevs and its passthrough mode, read from libvirt through the domain model.</summary>
    private static async Task<(IReadOnlyList<PciAddress> Addresses, PassthroughMode? Mode)> ReadDomainAsync(CliContext context, string name, CancellationToken cancellationToken)
    {
        var text = await new LibvirtDomains(context.Runner, context.Environment)
            .DumpXmlAsync(name, null, null, "plan with --slot", cancellationToken: cancellationToken).ConfigureAwait(false);
        var domain = DomainDocument.Parse(text, $"virsh dumpxml {name}");
        var addresses = domain.PciHostdevs.Select(h => h.Source).ToList();
        if (addresses.Count == 0)
        {
            throw PassthroughException.Input($"Domain {name} passes no PCI device (<hostdev type='pci'>).", "Add the GPU with `passthrough xml`, or plan with --slot.");
        }

        return (addresses, domain.PassthroughConfig?.Mode);
    }

    internal static string RenderPlan(SetupPlan plan, HostRoot root)
    {
        var sb = new System.Text.StringBuilder();
        var boot = plan.Boot;
        sb.Append("Bootloader: ").Append(boot.Summary).Append('\n');
        foreach (var e in boot.Evidence)
        {
            sb.Append("  - ").Append(e).Append('\n');
        }

        sb.Append("Initramfs: ").Append(boot.Initramfs switch
        {
            InitramfsGenerator.Dracut => "dracut",
            InitramfsGenerator.Mkinitcpio => "mkinitcpio",
            InitramfsGenerator.InitramfsTools => "initramfs-tools",
            _ => "none",
        }).Append('\n');
        foreach (var e in boot.InitramfsEvidence)
        {
            sb.Append("  - ").Append(e).Append('\n');
        }

        sb.Append("Mode: ").Append(plan.Mode.Name()).Append('\n');
        sb.Append("Devices: ").Append(plan.Devices.Count == 0 ? "none" : string.Join(", ", plan.Devices)).Append('\n');
        if (plan.ArgumentsAdded.Count > 0 || plan.ArgumentsRemoved.Count > 0)
        {
            sb.Append("Kernel arguments:");
            foreach (var a in plan.ArgumentsAdded)
            {
                sb.Append(" +").Append(a);
            }

            foreach (var r in plan.ArgumentsRemoved)
            {
                sb.Append(" -").Append(r);
            }

            sb.Append('\n');
        }

        foreach (var f in plan.Flagged)
        {
            sb.Append("Flagged (kept, never added): ").Append(f.Argument).Append(" in ").Append(f.Where).Append(": ").Append(f.Reason).Append('\n');
        }

        foreach (var n in plan.Notes)
        {
            sb.Append("Note: ").Append(n).Append('\n');
        }

        if (plan.IsEmpty)
        {
            sb.Append("\nNothing to change: this host is already set up for ").Append(plan.Mode.Name()).Append(" mode.\n");
            return sb.ToString();
        }

        foreach (var edit in plan.Edits)
        {
            sb.Append('\n').Append("# ").Append(edit.Path).Append(": ").Append(edit.Reason).Append('\n');
            sb.Append(UnifiedDiff.Render(edit.Path, edit.Before, edit.After));
        }

        var commands = plan.Commands.ToList();
        if (commands.Count > 0 || plan.DaemonReload || plan.UnitsToEnable.Count > 0)
        {
            sb.Append(root.IsLiveSystem ? "\nThen runs:\n" : $"\nThen, on the host itself (--root {root} runs nothing):\n");
            foreach (var c in commands)
            {
                sb.Append("  ").Append(c.Display).Append("    # ").Append(c.Reason).Append('\n');
            }

            if (plan.DaemonReload)
            {
                sb.Append("  systemd: daemon-reload\n");
            }

            foreach (var u in plan.UnitsToEnable)
            {
                sb.Append("  systemd: enable ").Append(u).Append('\n');
            }
        }

        sb.Append(plan.RebootNeeded ? "\nReboot needed: yes (kernel arguments and the initramfs apply at boot).\n" : "\nReboot needed: no.\n");
        return sb.ToString();
    }

    /// <summary>systemd on the bus named with --system-bus (under any root), else on the system bus for the live root only.</summary>
    private static SystemdManager? ConnectSystemd(HostRoot root, string? systemBus) =>
        systemBus is not null ? new SystemdManager(systemBus) : root.IsLiveSystem ? SystemdManager.ConnectSystem() : null;

    private static string RenderOutcome(SetupOutcome outcome, HostRoot root, bool systemdRan, string verb)
    {
        var sb = new System.Text.StringBuilder("\n");
        sb.Append(verb).Append(' ').Append(outcome.FilesWritten.Count).Append(" file(s)");
        if (outcome.Timestamp is not null)
        {
            sb.Append("; backup ").Append(outcome.Timestamp).Append(" in ").Append(root.Path(SetupApplier.BackupsDirectory)).Append('/').Append(outcome.Timestamp);
        }

        sb.Append('\n');
        foreach (var f in outcome.FilesWritten)
        {
            sb.Append("  ").Append(f).Append('\n');
        }

        foreach (var c in outcome.CommandsRun)
        {
            sb.Append("Ran: ").Append(c).Append('\n');
        }

        if (outcome.CommandsNotRun.Count > 0 || (!systemdRan && outcome.SystemdSteps.Count > 0))
        {
            sb.Append("Not run (--root ").Append(root).Append(" is not the live system); run on the host:\n");
            foreach (var c in outcome.CommandsNotRun)
            {
                sb.Append("  ").Append(c).Append('\n');
            }

            foreach (var s in outcome.SystemdSteps.Where(_ => !systemdRan))
            {
                sb.Append("  systemctl ").Append(s).Append('\n');
            }
        }

        if (systemdRan)
        {
            foreach (var s in outcome.SystemdSteps)
            {
                sb.Append("systemd: ").Append(s).Append('\n');
            }
        }

        if (outcome.RebootNeeded)
        {
            sb.Append("Reboot for the change to take effect; then `passthrough doctor` checks /proc/cmdline and the bindings.\n");
        }

        return sb.ToString();
    }

    private static SetupPlanJson PlanJson(SetupPlan plan) => new(
        plan.Mode.Name(),
        new SetupBootloaderJson(
            plan.Boot.Bootloader,
            plan.Boot.ArgsFile,
            plan.Boot.ArgsFiles,
            plan.Boot.Evidence,
            plan.Boot.Ignored,
            plan.Boot.ManagedLoader,
            plan.Boot.Bootloader == Bootloader.Uki ? plan.Boot.UkiBuilder : null,
            plan.Boot.UnifiedKernelImages),
        new SetupInitramfsJson(plan.Boot.Initramfs, plan.Boot.InitramfsEvidence),
        plan.Devices,
        plan.ArgumentsAdded,
        plan.ArgumentsRemoved,
        plan.Edits.Select(e => new SetupEditJson(e.Path, e.Reason, e.IsNew, e.BeforeSha256, e.AfterSha256, UnifiedDiff.Render(e.Path, e.Before, e.After))),
        plan.Commands.Select(c => new SetupCommandJson(c.Program, c.Arguments, c.Display, c.Reason)),
        new SetupSystemdJson(plan.DaemonReload, plan.UnitsToEnable),
        plan.RebootNeeded,
        plan.Flagged,
        plan.Notes,
        plan.IsEmpty);

    /// <summary>
    /// `setup apply --json`: what the apply did (<paramref name="outcome"/>), or with --check or an empty plan what
    /// it would do. Commands and systemd steps the run cannot do here (--root is not the live system) are warnings.
    /// </summary>
    private static SetupChangeJson ApplyJson(SetupPlan plan, HostRoot root, SetupOutcome? outcome, bool systemdRuns)
    {
        var warnings = plan.Flagged.Select(f => $"Flagged (kept, never added): {f.Argument} in {f.Where}: {f.Reason}").Concat(plan.Notes).ToList();
        if (plan.IsEmpty)
        {
            return new SetupChangeJson(false, [], false, warnings, [], null, plan.Mode.Name(), [], [], [], []);
        }

        var commands = plan.Commands.Select(c => c.Display).ToList();
        var systemdSteps = (plan.DaemonReload ? ["daemon-reload"] : Array.Empty<string>()).Concat(plan.UnitsToEnable.Select(u => "enable " + u)).ToList();
        var ran = outcome?.CommandsRun ?? (root.IsLiveSystem ? commands : []);
        var notRun = outcome?.CommandsNotRun ?? (root.IsLiveSystem ? [] : commands);
        var actions = plan.Edits.Select(e => $"write {e.Path}: {e.Reason}").ToList();
        actions.Add(outcome?.Timestamp is { } stamp ? $"back up the files it changes in {SetupApplier.BackupsDirectory}/{stamp}" : $"back up the files it changes in {SetupApplier.BackupsDirectory}");
        actions.AddRange(systemdRuns ? systemdSteps.Select(s => "systemd: " + s) : []);
        actions.AddRange(ran.Select(c => "run " + c));
        warnings.AddRange(NotRunWarnings(root, notRun, systemdRuns ? [] : systemdSteps));
        return new SetupChangeJson(
            true,
            actions,
            plan.RebootNeeded,
            warnings,
            [.. plan.Edits.Select(e => new FileDiffJson(e.Path, e.Before ?? string.Empty, e.After))],
            outcome?.Timestamp,
            plan.Mode.Name(),
            outcome?.FilesWritten ?? [.. plan.Edits.Select(e => e.Path)],
            ran,
            notRun,
            systemdSteps);
    }

    /// <summary>`setup undo --json`: what the undo did, or with --check would do.</summary>
    private static SetupChangeJson UndoJson(UndoPreview preview, HostRoot root, SetupOutcome? outcome, bool systemdRuns)
    {
        var commands = preview.Commands.Select(c => c.Display).ToList();
        var systemdSteps = preview.DaemonReload ? new[] { "daemon-reload" } : [];
        var ran = outcome?.CommandsRun ?? (root.IsLiveSystem ? commands : []);
        var notRun = outcome?.CommandsNotRun ?? (root.IsLiveSystem ? [] : commands);
        var actions = preview.UnitLinks.Select(l => $"remove {l}").ToList();
        actions.AddRange(preview.Files.Select(f => f.Restored.Length == 0 && !preview.Manifest.Files.First(e => e.Path == f.Path).Existed
            ? $"remove {f.Path} (setup created it)"
            : $"restore {f.Path} from backup {preview.Manifest.Timestamp}"));
        actions.AddRange(systemdRuns ? systemdSteps.Select(s => "systemd: " + s) : []);
        actions.AddRange(ran.Select(c => "run " + c));
        var files = outcome?.FilesWritten ?? [.. preview.UnitLinks, .. preview.Files.Select(f => f.Path)];
        return new SetupChangeJson(
            true,
            actions,
            preview.Manifest.Files.Count > 0,
            [.. NotRunWarnings(root, notRun, systemdRuns ? [] : systemdSteps)],
            [.. preview.Files.Select(f => new FileDiffJson(f.Path, f.Current, f.Restored))],
            preview.Manifest.Timestamp,
            ModeName(preview.Manifest.Mode),
            files,
            ran,
            notRun,
            systemdSteps);
    }

    private static IEnumerable<string> NotRunWarnings(HostRoot root, IReadOnlyList<string> commands, IReadOnlyList<string> systemdSteps) =>
        commands.Select(c => $"Not run (--root {root} is not the live system); run on the host: {c}")
            .Concat(systemdSteps.Select(s => $"Not run (--root {root} is not the live system); run on the host: systemctl {s}"));

    /// <summary>A manifest's mode ("SingleGpu", as older versions wrote it) as the CLI spells modes (single-gpu).</summary>
    private static string ModeName(string manifestMode) =>
        Enum.TryParse<PassthroughMode>(manifestMode, ignoreCase: true, out var mode) ? mode.Name() : manifestMode;
}
