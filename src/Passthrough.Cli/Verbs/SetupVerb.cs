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

    private sealed record Inputs(Option<string?> Slot, Option<string?> Vm, Option<string?> Mode, Option<bool> Json);

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
        command.Options.Add(yes);
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var plan = await MakePlanAsync(context, root, result, inputs, cancellationToken).ConfigureAwait(false);
            var json = result.GetValue(inputs.Json);
            if (!json)
            {
                await context.Out.WriteAsync(RenderPlan(plan, root)).ConfigureAwait(false);
            }

            if (plan.IsEmpty)
            {
                if (json)
                {
                    Json.Write(context.Out, new SetupNothingJson(false, "nothing to change", null), Json.Shapes.SetupNothingJson);
                }

                return PassthroughCli.Ok;
            }

            if (!await ConfirmAsync(context, result.GetValue(yes), "Apply this plan?").ConfigureAwait(false))
            {
                await context.Out.WriteLineAsync("Nothing was changed.").ConfigureAwait(false);
                return PassthroughCli.Failed;
            }

            // systemd over D-Bus on the live system or the bus named with --system-bus; otherwise the steps are listed.
            var systemBus = GlobalOptions.SystemBusAddress(result);
            using var systemd = plan.DaemonReload || plan.UnitsToEnable.Count > 0 ? ConnectSystemd(root, systemBus) : null;
            var applier = new SetupApplier(root, context.Runner, systemd, runCommands: root.IsLiveSystem);
            var outcome = await applier.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
            if (json)
            {
                Json.Write(context.Out, OutcomeJson(outcome, applied: true), Json.Shapes.SetupOutcomeJson);
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
        var command = new Command("undo", "Restore the files of the last `setup apply` (or the one named) byte for byte and rebuild what was regenerated.");
        var timestamp = new Argument<string?>("TIMESTAMP") { Description = "The backup to restore (default: the latest not undone).", Arity = ArgumentArity.ZeroOrOne };
        var yes = new Option<bool>("--yes") { Description = "Restore without asking (for scripts)." };
        var json = GlobalOptions.Json();
        command.Arguments.Add(timestamp);
        command.Options.Add(yes);
        command.Options.Add(json);
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var applier = new SetupApplier(root, context.Runner, systemd: null, runCommands: root.IsLiveSystem);
            var stamp = result.GetValue(timestamp);
            var backup = stamp is null ? applier.Backups().LastOrDefault(b => !b.Undone) : applier.Backups().FirstOrDefault(b => b.Timestamp == stamp);
            if (backup is not null && !result.GetValue(json))
            {
                await context.Out.WriteLineAsync($"Backup {backup.Timestamp} ({backup.Mode} mode) restores:").ConfigureAwait(false);
                foreach (var f in backup.Files)
                {
                    await context.Out.WriteLineAsync($"  {f.Path} ({(f.Existed ? "restored" : "removed: setup created it")})").ConfigureAwait(false);
                }
            }

            if (backup is not null && !await ConfirmAsync(context, result.GetValue(yes), "Restore these files?").ConfigureAwait(false))
            {
                await context.Out.WriteLineAsync("Nothing was changed.").ConfigureAwait(false);
                return PassthroughCli.Failed;
            }

            using var systemd = backup is not null && backup.Files.Any(f => f.Path.StartsWith("/etc/systemd/system/", StringComparison.Ordinal)) ? ConnectSystemd(root, GlobalOptions.SystemBusAddress(result)) : null;
            var outcome = await new SetupApplier(root, context.Runner, systemd, runCommands: root.IsLiveSystem).UndoAsync(stamp, cancellationToken).ConfigureAwait(false);
            if (result.GetValue(json))
            {
                Json.Write(context.Out, OutcomeJson(outcome, applied: true), Json.Shapes.SetupOutcomeJson);
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
        var files = new BootFilesReader(root).Read();
        return SetupPlanner.Plan(new SetupRequest { Mode = modeValue, Functions = functions, Facts = inventory.Facts, Files = files });
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

    private static SetupOutcomeJson OutcomeJson(SetupOutcome outcome, bool applied) => new(
        applied,
        outcome.Timestamp,
        outcome.FilesWritten,
        outcome.CommandsRun,
        outcome.CommandsNotRun,
        outcome.SystemdSteps,
        outcome.RebootNeeded);
}
