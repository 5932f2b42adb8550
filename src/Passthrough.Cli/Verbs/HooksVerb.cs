using System.CommandLine;
using System.Globalization;
using Passthrough.Adapters;
using Passthrough.Adapters.Hooks;
using Passthrough.Cli.Rendering;
using Passthrough.Diagnostics;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// `passthrough hooks install|uninstall|status`: puts Passthrough's script into
/// /etc/libvirt/hooks/qemu.d/ (libvirt >= 6.5 runs every executable there, https://libvirt.org/hooks.html),
/// takes it out again restoring what was there, and tells whether libvirt will run it.
/// </summary>
internal sealed class HooksVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var command = new Command("hooks", "Install, remove or check Passthrough's libvirt QEMU hook.");
        command.Subcommands.Add(Install(context));
        command.Subcommands.Add(Uninstall(context));
        command.Subcommands.Add(Status(context));
        return command;
    }

    private static Command Install(CliContext context)
    {
        var binary = new Option<string?>("--binary")
        {
            Description = "Absolute path of the passthrough program the hook runs (default: this program).",
            HelpName = "PATH",
        };
        var json = ChangeOptions.Json();
        var check = ChangeOptions.Check("It fails as install would (a missing --binary: exit 2; a directory or someone else's hook in the way: exit 3); SELinux labels are checked only by the real install.");
        var command = new Command("install", "Install the hook as /etc/libvirt/hooks/qemu.d/50-passthrough (backing up what it replaces); the same hook installed already is left alone.") { binary, json, check };
        command.SetAction(result =>
        {
            var root = GlobalOptions.HostRoot(result);
            var program = result.GetValue(binary) ?? DefaultBinary();
            if (root.IsLiveSystem && !File.Exists(program))
            {
                throw PassthroughException.Input(
                    $"--binary {program}: no such file.",
                    "Give the absolute path of an installed passthrough program (`make install` puts it in /usr/local/bin).");
            }

            var installer = new HookInstaller(root);
            var plan = installer.PlanInstall(program);
            var checking = result.GetValue(check);
            var installed = checking ? null : installer.Install(plan);
            var probe = new LibvirtDaemonProbe(root);
            var daemon = probe.Daemon();
            var restart = probe.RestartCommand(daemon);
            var labels = checking ? [] : SelinuxProblems(probe);
            if (result.GetValue(json))
            {
                var actions = new List<string>();
                if (plan.Changed && plan.Replaced is not null)
                {
                    actions.Add($"record {plan.Replaced} in {HookInstaller.BackupDirectory} (uninstall puts it back)");
                }

                if (plan.Changed)
                {
                    actions.Add($"write {HookInstaller.HookPath} (runs {program})");
                }

                var warnings = LegacyNote(root) is { } legacy ? [legacy, .. labels] : labels;
                Json.Write(
                    context.Out,
                    new HooksChangeJson(
                        plan.Changed,
                        actions,
                        false,
                        warnings,
                        plan.Changed ? [new FileDiffJson(HookInstaller.HookPath, plan.Before, plan.Script)] : [],
                        HookInstaller.HookPath,
                        program,
                        plan.Changed ? restart : null),
                    Json.Shapes.HooksChangeJson);
                return labels.Count == 0 ? PassthroughCli.Ok : PassthroughCli.Failed;
            }

            var output = context.Out;
            var would = checking ? "Would install" : "Installed";
            output.WriteLine(!plan.Changed
                ? $"The libvirt hook {plan.Target} is installed already, the same (runs {program}); nothing to change."
                : plan.Updated
                ? $"{(checking ? "Would update" : "Updated")} the libvirt hook {plan.Target} (runs {program})."
                : $"{would} the libvirt hook {plan.Target} (runs {program}).");
            if (plan.Changed && plan.Replaced is not null)
            {
                output.WriteLine(checking
                    ? $"It would replace {plan.Replaced}. `passthrough hooks uninstall` puts it back."
                    : $"It replaced {plan.Replaced}" + (installed?.BackedUp is null ? "." : $", kept in {installed.BackedUp}.") + " `passthrough hooks uninstall` puts it back.");
            }

            WriteLegacyNote(context, root);
            if (plan.Changed)
            {
                output.WriteLine($"{(checking ? "Then restart" : "Restart")} {daemon} so it notices the hook (libvirt reads the hook directory when it starts): {restart}");
            }

            if (checking)
            {
                output.WriteLine("--check: nothing was changed.");
                return PassthroughCli.Ok;
            }

            return WriteSelinux(context, probe, json: false) ? PassthroughCli.Ok : PassthroughCli.Failed;
        });
        return command;
    }

    private static Command Uninstall(CliContext context)
    {
        var json = ChangeOptions.Json();
        var check = ChangeOptions.Check("Someone else's script at the hook's path is left alone in both (changed:false).");
        var command = new Command("uninstall", "Remove the hook and restore exactly what the first install replaced.") { json, check };
        command.SetAction(result =>
        {
            var root = GlobalOptions.HostRoot(result);
            var installer = new HookInstaller(root);
            var plan = installer.PlanUninstall();
            var checking = result.GetValue(check);
            if (!checking)
            {
                installer.Uninstall(plan);
            }

            var probe = new LibvirtDaemonProbe(root);
            var daemon = probe.Daemon();
            if (result.GetValue(json))
            {
                Json.Write(
                    context.Out,
                    new HooksChangeJson(
                        plan.Changed,
                        plan.Changed ? [$"{HookInstaller.HookPath}: {plan.Outcome}"] : [],
                        false,
                        plan.Changed ? [] : [$"{HookInstaller.HookPath}: {plan.Outcome}."],
                        plan.Changed ? [new FileDiffJson(HookInstaller.HookPath, plan.Before, plan.After)] : [],
                        HookInstaller.HookPath,
                        null,
                        plan.Changed ? probe.RestartCommand(daemon) : null),
                    Json.Shapes.HooksChangeJson);
                return PassthroughCli.Ok;
            }

            context.Out.WriteLine(checking && plan.Changed ? $"Would change {plan.Target}: {plan.Outcome}." : $"{plan.Target}: {plan.Outcome}.");
            if (plan.Changed)
            {
                context.Out.WriteLine($"{(checking ? "Then restart" : "Restart")} {daemon} so it forgets the hook: {probe.RestartCommand(daemon)}");
            }

            if (checking)
            {
                context.Out.WriteLine("--check: nothing was changed.");
            }

            return PassthroughCli.Ok;
        });
        return command;
    }

    private static Command Status(CliContext context)
    {
        var json = GlobalOptions.Json();
        var command = new Command("status", "Tell whether the hook is installed, executable, up to date and noticed by libvirt (exit 1 when not).") { json };
        command.SetAction(result =>
        {
            var root = GlobalOptions.HostRoot(result);
            var state = new HookInstaller(root).Inspect();
            var probe = new LibvirtDaemonProbe(root);
            var daemon = probe.Daemon();
            var running = probe.RunningDaemons().Where(d => d.Name == daemon).OrderBy(d => d.StartedUtc).FirstOrDefault();

            // Noticed: the daemon started after the hook file was last written (it scans at start-up).
            // The start time rests on /proc/stat's btime, in whole seconds, so allow one second.
            bool? noticed = !state.IsOurs || state.ModifiedUtc is null ? false : running is null ? null : running.StartedUtc >= state.ModifiedUtc.Value.AddSeconds(-1);
            var selinux = probe.SelinuxEnabled
                ? new[] { HookInstaller.HooksDirectory, HookInstaller.HookPath }.Where(p => File.Exists(root.Path(p)) || Directory.Exists(root.Path(p))).Select(probe.LabelOf).ToList()
                : [];
            var (enforcing, unconfined, hookFiles) = probe.SelinuxFacts();
            var selinuxFindings = SelinuxHookChecks.Check(enforcing, unconfined, hookFiles).ToList();
            var healthy = state.IsOurs && state.IsExecutable && state.IsCurrent && state.BinaryRuns && noticed != false && selinux.All(l => l.LooksRight)
                && selinuxFindings.All(f => f.Severity is Severity.Ok or Severity.Info);
            if (result.GetValue(json))
            {
                Json.Write(
                    context.Out,
                    new HookStatusJson(
                        state.Target,
                        state.IsOurs,
                        state.IsExecutable,
                        state.IsCurrent,
                        state.Binary,
                        state.BinaryRuns,
                        state.ModifiedUtc,
                        new HookDaemonJson(daemon, running is not null, running?.Pid, running?.StartedUtc),
                        noticed,
                        probe.RestartCommand(daemon),
                        state.LegacyQemuHook,
                        new HookSelinuxJson(probe.SelinuxEnabled, selinux.Select(l => new SelinuxLabelJson(l.Path, l.Context, l.LooksRight)), selinuxFindings),
                        healthy),
                    Json.Shapes.HookStatusJson);
                return healthy ? PassthroughCli.Ok : PassthroughCli.Failed;
            }

            var output = context.Out;
            if (!state.Exists)
            {
                output.WriteLine($"Not installed: {state.Target} does not exist. Run `passthrough hooks install`.");
                return PassthroughCli.Failed;
            }

            if (!state.IsOurs)
            {
                output.WriteLine($"Not installed: {state.Target} is " + (state.IsSymlink ? "a symlink" : "a script") + " that is not Passthrough's hook.");
                return PassthroughCli.Failed;
            }

            output.WriteLine($"Installed: {state.Target}, written {Time(state.ModifiedUtc!.Value)}.");
            output.WriteLine(state.IsExecutable ? "Executable: yes." : $"Executable: NO, libvirt skips it. Run `chmod 755 {state.Target}` or `passthrough hooks install`.");
            output.WriteLine(state.IsCurrent ? "Up to date: yes." : "Up to date: NO, this version of Passthrough ships a different hook. Run `passthrough hooks install`.");
            output.WriteLine(state.BinaryRuns
                ? $"Runs: {state.Binary}."
                : $"Runs: {state.Binary ?? "?"}, which is NOT an executable file: the hook would fail. Run `passthrough hooks install --binary PATH`.");
            output.WriteLine(noticed switch
            {
                true => $"Noticed: yes, {daemon} (pid {running!.Pid}) started {Time(running.StartedUtc)}, after the hook was written.",
                false => $"Noticed: NO, {daemon} (pid {running!.Pid}) started {Time(running.StartedUtc)}, before the hook was written. Run: {probe.RestartCommand(daemon)}",
                null => $"Noticed: {daemon} is not running; it reads the hook when it starts.",
            });
            WriteLegacyNote(context, root);
            var labelsRight = WriteSelinux(context, probe, json: false);
            foreach (var finding in selinuxFindings.Where(f => f.Severity != Severity.Ok || f.Subject is null))
            {
                output.WriteLine($"SELinux: {finding.Message}" + (finding.Remedy is null ? string.Empty : $" Run: {finding.Remedy}"));
            }

            return labelsRight && healthy ? PassthroughCli.Ok : PassthroughCli.Failed;
        });
        return command;
    }

    private static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static void WriteLegacyNote(CliContext context, HostRoot root)
    {
        if (LegacyNote(root) is { } note)
        {
            context.Out.WriteLine($"Note: {note}");
        }
    }

    private static string? LegacyNote(HostRoot root) => File.Exists(root.Path(HookInstaller.LegacyQemuHook))
        ? $"{HookInstaller.LegacyQemuHook} exists and libvirt runs it too (Passthrough leaves it alone). If it rebinds the GPU itself, remove that part."
        : null;

    /// <summary>The hook paths whose SELinux label would make libvirt be denied running the hook, as warnings.</summary>
    private static List<string> SelinuxProblems(LibvirtDaemonProbe probe) => !probe.SelinuxEnabled ? [] :
        [.. new[] { HookInstaller.HooksDirectory, HookInstaller.HookPath }
            .Select(probe.LabelOf)
            .Where(l => !l.LooksRight)
            .Select(l => $"SELinux: {l.Path} is labelled {l.Context ?? "(no label)"}, not a virt type: libvirt will be denied running the hook. Run: restorecon -Rv {HookInstaller.HooksDirectory}")];

    /// <summary>Where SELinux is on, the hooks must carry a virt label or libvirt is denied running them.</summary>
    private static bool WriteSelinux(CliContext context, LibvirtDaemonProbe probe, bool json)
    {
        if (json || !probe.SelinuxEnabled)
        {
            return true;
        }

        var ok = true;
        foreach (var path in new[] { HookInstaller.HooksDirectory, HookInstaller.HookPath })
        {
            var label = probe.LabelOf(path);
            if (label.LooksRight)
            {
                context.Out.WriteLine($"SELinux: {path} is {label.Context}.");
                continue;
            }

            ok = false;
            context.Out.WriteLine($"SELinux: {path} is labelled {label.Context ?? "(no label)"}, not a virt type: libvirt will be denied running the hook. Run: restorecon -Rv {HookInstaller.HooksDirectory}");
        }

        return ok;
    }

    /// <summary>This program when it runs as the `passthrough` executable; otherwise the one beside this assembly.</summary>
    private static string DefaultBinary()
    {
        var process = Environment.ProcessPath;
        if (process is not null && Path.GetFileName(process) == "passthrough")
        {
            return process;
        }

        var beside = Path.Join(AppContext.BaseDirectory, "passthrough");
        if (File.Exists(beside))
        {
            return beside;
        }

        throw PassthroughException.Input(
            "Cannot tell where the passthrough program is (this is not the installed executable).",
            "Give it with --binary, such as --binary /usr/local/bin/passthrough.");
    }
}
