using System.CommandLine;
using Passthrough.Adapters.Sysfs;
using Passthrough.Binding;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough bind SLOT...`: the hook's engine without a VM: every function to vfio-pci, journaled, rolled back on failure.</summary>
internal sealed class BindVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var slots = new Argument<string[]>("SLOT") { Description = "A slot (0000:03:00: all its functions) or a function (0000:03:00.1).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("bind", "Move devices to vfio-pci now (the hook's engine without a VM); `unbind` gives them back.") { slots };
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var devices = Resolve(new SysfsHostReader(root, names: false).Read(), result.GetValue(slots) ?? []);
            var engine = BindingServices.Engine(context, root, GlobalOptions.SystemBusAddress(result));
            var id = JournalId(devices[0]);
            await engine.BindAsync(id, devices, cancellationToken).ConfigureAwait(false);
            var recorded = engine.Journals.Load(id)?.FunctionStates() ?? [];
            foreach (var device in devices)
            {
                var was = recorded.FirstOrDefault(f => f.Address == device);
                await context.Out.WriteLineAsync(was is null
                    ? $"{device}: already on vfio-pci."
                    : $"{device}: now on vfio-pci (was {was.Driver ?? "unbound"}).").ConfigureAwait(false);
            }

            return PassthroughCli.Ok;
        });
        return command;
    }

    public static string JournalId(PciAddress first) => JournalOwner.ManualBindJournalId(first);

    /// <summary>Slots become all their functions; functions stay themselves; unknown ones are an input error.</summary>
    public static IReadOnlyList<PciAddress> Resolve(HostInventory inventory, IEnumerable<string> arguments)
    {
        var devices = new List<PciAddress>();
        foreach (var argument in arguments)
        {
            if (PciAddress.TryParse(argument, out var address))
            {
                devices.Add(inventory.Find(address) is null
                    ? throw PassthroughException.Input($"No PCI device at {address}.", "Run `passthrough list --all` to see the functions.")
                    : address);
                continue;
            }

            // The inventory's own error for an empty slot, so every verb words it the same way.
            devices.AddRange(inventory.Gpu(PciSlot.Parse(argument)).Functions.Select(f => f.Address));
        }

        return [.. devices.Distinct().Order()];
    }
}

/// <summary>`passthrough unbind SLOT...`: gives devices bound by `bind` back to their recorded drivers.</summary>
internal sealed class UnbindVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var slots = new Argument<string[]>("SLOT") { Description = "A slot (0000:03:00) or a function (0000:03:00.1).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("unbind", "Give devices on vfio-pci back to the host driver they had (or the kernel's choice when unknown).") { slots };
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var devices = BindVerb.Resolve(new SysfsHostReader(root, names: false).Read(), result.GetValue(slots) ?? []);
            var engine = BindingServices.Engine(context, root, GlobalOptions.SystemBusAddress(result));
            var plan = UnbindPlan.Build(devices, engine.Journals.All());
            var failures = new List<string>();
            foreach (var journal in plan.ManualBinds)
            {
                var report = await engine.RestoreAsync(journal.Id, cancellationToken).ConfigureAwait(false);
                failures.AddRange(report?.Failures ?? []);
                foreach (var function in journal.FunctionStates())
                {
                    await context.Out.WriteLineAsync($"{function.Address}: back on {function.Driver ?? "no driver"}.").ConfigureAwait(false);
                }
            }

            var unrecorded = plan.Unrecorded;
            if (unrecorded.Count > 0)
            {
                var report = await engine.ReleaseUnrecordedAsync(unrecorded, cancellationToken).ConfigureAwait(false);
                failures.AddRange(report.Failures);
                var inventory = new SysfsHostReader(root, names: false).Read();
                foreach (var device in unrecorded)
                {
                    await context.Out.WriteLineAsync($"{device}: no record of its driver; the kernel chose {inventory.Find(device)?.Driver ?? "no driver"}.").ConfigureAwait(false);
                }
            }

            if (failures.Count > 0)
            {
                throw PassthroughException.Failure(string.Join(" ", failures), "`passthrough status` shows the bindings now.");
            }

            return PassthroughCli.Ok;
        });
        return command;
    }
}
