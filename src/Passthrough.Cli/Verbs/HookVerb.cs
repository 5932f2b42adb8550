using System.CommandLine;
using NLog;
using Passthrough.Adapters;
using Passthrough.Adapters.Logging;
using Passthrough.Adapters.Processes;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// `passthrough hook qemu NAME OP SUBOP [EXTRA...]`: what libvirt's QEMU hook runs, with the domain
/// XML on stdin (https://libvirt.org/hooks.html). prepare/begin binds, release/end restores (libvirt
/// also calls release after a failed start, so a partial prepare is restored too). The installed
/// script only starts .NET for those two; every other operation (start, started, stopped, ...: a
/// call by hand, or from a script installed by an older version) and every domain without our
/// metadata: exit 0 at once, print nothing. Never calls virsh or libvirt (libvirt's docs: a hook
/// that calls back into libvirt can deadlock).
/// </summary>
internal sealed class HookVerb : IVerb
{
    private static readonly Logger Log = LogManager.GetLogger("passthrough");

    public Command Create(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "The domain name (libvirt's first hook argument)." };
        var op = new Argument<string>("OP") { Description = "prepare or release (any other operation: exit 0, nothing done)." };
        var subop = new Argument<string>("SUBOP") { Description = "begin (with prepare) or end (with release)." };
        var extra = new Argument<string[]>("EXTRA") { Description = "Extra arguments (\"-\", the release reason).", Arity = ArgumentArity.ZeroOrMore };
        var qemu = new Command(
            "qemu",
            "The QEMU driver's hook, run by libvirt through /etc/libvirt/hooks/qemu.d/50-passthrough: libvirt passes the domain name, the operation and sub-operation as arguments and the domain XML on standard input. " +
            "prepare begin binds the VM's devices to vfio-pci (single-gpu: stops the display manager first), release end gives them back to their host drivers; " +
            "any other operation, or a VM without <passthrough:config>: exit 0, nothing done. " +
            $"Errors go to standard error, which `virsh start` shows; the log is {LoggingSetup.LogFile}.")
        { name, op, subop, extra };
        qemu.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var domain = result.GetValue(name) ?? string.Empty;
            var operation = result.GetValue(op);
            var phase = result.GetValue(subop);
            // No LogManager.Flush(): both targets write each entry synchronously (LoggingSetup), and a flush starts a
            // timer and a thread-pool thread, three threads a hook call pays for on every VM start and stop.
            return await RunAsync(context, root, GlobalOptions.SystemBusAddress(result), domain, operation, phase, cancellationToken).ConfigureAwait(false);
        });

        var command = new Command("hook", "Entry points libvirt runs as its hooks (`passthrough hooks install` installs them); `passthrough hook qemu --help` says what libvirt passes and what it does.");
        command.Subcommands.Add(qemu);
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, HostRoot root, string? systemBus, string domain, string? operation, string? phase, CancellationToken cancellationToken)
    {
        var prepare = operation == "prepare" && phase == "begin";
        var release = operation == "release" && phase == "end";
        if (!prepare && !release)
        {
            StartLog(root, domain, operation, phase); // an older script starts us for these: the call is only logged
            return PassthroughCli.Ok;
        }

        var logging = false;
        try
        {
            var xml = await context.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            var config = VmPassthroughConfig.FromXml(xml, $"domain XML of '{domain}' on stdin");
            if (config is null)
            {
                // Not one of ours: libvirt runs every hook for every VM, and ours leaves no trace for the others.
                return PassthroughCli.Ok;
            }

            StartLog(root, domain, operation, phase);
            logging = true;

            if (prepare && config.RecordsIdentities)
            {
                // Only then: it parses the XML a second time, into the document model that locates the records.
                RecordedDevices.Verify(root, xml, domain);
            }

            var engine = BindingServices.Engine(context, root, systemBus, config.Timeouts);
            if (prepare)
            {
                if (!BarResizePlan.AppliesIn(config.Mode) && config.Bars.Count > 0)
                {
                    Log.Warn($"{BarResizePlan.NotAppliedInStatic($"VM '{domain}'", config.Bars)} {BarResizePlan.StaticRemedy}");
                }

                await engine.PrepareAsync(config, cancellationToken).ConfigureAwait(false);
                Log.Info($"prepared {domain} ({config.Mode.Name()}): {string.Join(", ", config.Devices)} on vfio-pci; took {engine.Times}");
                return PassthroughCli.Ok;
            }

            if (config.KeepOnVfio && config.Mode == PassthroughMode.SingleGpu)
            {
                // The host's display runs on this GPU: it must come back whatever the VM asks (`xml lint` reports it too).
                Log.Warn($"release {domain}: keep-on-vfio ignored in single-gpu mode: the host needs its only GPU back for its display; remove it with `passthrough xml set --vm {ProcessRunner.Quote(domain)} --keep-on-vfio off`");
            }

            if (config.KeepOnVfio && config.Mode == PassthroughMode.Dynamic)
            {
                // <passthrough:release keep-on-vfio="yes"/>: for cards that hang when rebound to their host driver.
                var kept = engine.Keep(config.DomainUuid);
                Log.Info(kept is null
                    ? $"released {domain}: nothing was bound by passthrough"
                    : $"released {domain}: kept {string.Join(", ", kept.FunctionStates().Select(f => f.Address))} on vfio-pci (keep-on-vfio); `passthrough restore {JournalOwner.ForVm(config.DomainUuid, domain).RestoreArgument}` gives them back");
                return PassthroughCli.Ok;
            }

            var report = await engine.RestoreAsync(config.DomainUuid, cancellationToken).ConfigureAwait(false);
            if (report is null)
            {
                Log.Info($"released {domain}: nothing was bound by passthrough");
                return PassthroughCli.Ok;
            }

            if (report.Succeeded)
            {
                Log.Info($"released {domain}: everything given back to the host; took {engine.Times}");
                return PassthroughCli.Ok;
            }

            foreach (var failure in report.Failures)
            {
                Log.Error($"release {domain}: {failure}");
            }

            throw PassthroughException.Failure(
                $"Could not give everything of '{domain}' back: {report.Failures[0]}" + (report.Failures.Count > 1 ? $" (and {report.Failures.Count - 1} more, see {LoggingSetup.LogFile})" : string.Empty),
                $"Run `passthrough restore {JournalOwner.ForVm(config.DomainUuid, domain).RestoreArgument}` once the cause is fixed.");
        }
        catch (PassthroughException e)
        {
            // libvirt shows the hook's stderr to the `virsh start` user: one actionable line.
            if (!logging)
            {
                StartLog(root, domain, operation, phase);
            }

            Log.Error(e, $"hook qemu {domain} {operation} {phase} failed: {e.Message} {e.Remedy}");
            await context.Error.WriteLineAsync($"passthrough: {e.Message}{(e.Remedy is null ? string.Empty : " " + e.Remedy)}").ConfigureAwait(false);
            return e.Kind switch
            {
                FailureKind.InvalidInput => PassthroughCli.BadInput,
                FailureKind.Environment => PassthroughCli.HostProblem,
                _ => PassthroughCli.Failed,
            };
        }
    }

    /// <summary>The log (file and journal) from here on, starting with the call itself.</summary>
    private static void StartLog(HostRoot root, string domain, string? operation, string? phase)
    {
        LoggingSetup.Configure(root, journal: root.IsLiveSystem);
        Log.Info($"hook qemu {domain} {operation} {phase}");
    }
}
