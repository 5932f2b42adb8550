using System.CommandLine;
using Passthrough.Adapters.Binding;
using Passthrough.Adapters.Sysfs;
using Passthrough.Binding;
using Passthrough.Cli.Rendering;
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
        var json = ChangeOptions.Json();
        var check = ChangeOptions.Check(
            "It fails as bind would on an unknown device (exit 2) or an IOMMU group that cannot be given away (exit 1), and under a --root without a kernel (exit 3); a driver that would refuse the device is not foreseen.");
        var command = new Command("bind", "Move devices to vfio-pci now (the hook's engine without a VM); `unbind` gives them back. Devices this bind holds on vfio-pci already are left alone.") { slots, json, check };
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var asJson = result.GetValue(json);
            var devices = Resolve(new SysfsHostReader(root, names: false).Read(), result.GetValue(slots) ?? []);
            var engine = BindingServices.Engine(context, root, GlobalOptions.SystemBusAddress(result), progress: StepSpinner.For(context, asJson));
            var id = JournalId(devices[0]);
            var preview = engine.PreviewBind(id, devices);
            if (result.GetValue(check))
            {
                if (!preview.AlreadyDone)
                {
                    BindingServices.ForeseeKernel(context, root);
                }

                return await ReportAsync(context, preview, devices, asJson, recorded: null, checking: true).ConfigureAwait(false);
            }

            var changed = await engine.BindAsync(id, devices, cancellationToken).ConfigureAwait(false);
            var recorded = changed ? engine.Journals.Load(id)?.FunctionStates() ?? [] : null;
            return await ReportAsync(context, changed ? preview : preview with { AlreadyDone = true }, devices, asJson, recorded, checking: false).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>
    /// The outcome, or with --check the forecast: every device with its driver before (the one the journal
    /// recorded, when this bind's journal holds it) and vfio-pci after.
    /// </summary>
    private static async Task<int> ReportAsync(CliContext context, BindPreview preview, IReadOnlyList<PciAddress> devices, bool json, IReadOnlyList<FunctionState>? recorded, bool checking)
    {
        var earlier = preview.Earlier?.FunctionStates() ?? [];
        var rows = devices.Select(device =>
        {
            var function = preview.Plan.Functions.First(f => f.Address == device);
            var record = recorded?.FirstOrDefault(f => f.Address == device) ?? earlier.FirstOrDefault(f => f.Address == device);
            var changed = !preview.AlreadyDone && (!function.AlreadyBound || record is not null);
            var before = changed && record is not null ? record.Driver : function.Original.Driver;
            return new DeviceChangeJson(device.ToString(), before, BindingPlan.VfioDriver, changed);
        }).ToList();
        var actions = new List<string>();
        if (!preview.AlreadyDone)
        {
            if (preview.Earlier is { } journal)
            {
                actions.Add($"give back what the earlier {RestoreVerb.Describe(journal)} holds first");
            }

            if (!preview.VfioLoaded)
            {
                actions.Add($"load the {BindingPlan.VfioDriver} module");
            }

            actions.AddRange(rows.Where(r => r.Changed).Select(r => $"bind {r.Address} to {BindingPlan.VfioDriver} (from {r.Before ?? "no driver"})"));
        }

        var warnings = rows.Where(r => !r.Changed && preview.Earlier is null)
            .Select(r => $"{r.Address} was on {BindingPlan.VfioDriver} already, not bound by Passthrough: `passthrough unbind` leaves its driver to the kernel.")
            .ToList();
        if (json)
        {
            Json.Write(context.Out, new BindingChangeJson(!preview.AlreadyDone, actions, false, warnings, [], rows), Json.Shapes.BindingChangeJson);
            return PassthroughCli.Ok;
        }

        foreach (var row in rows)
        {
            await context.Out.WriteLineAsync(!row.Changed
                ? $"{row.Address}: already on vfio-pci."
                : checking
                ? $"{row.Address}: would move to vfio-pci (now {row.Before ?? "unbound"})."
                : $"{row.Address}: now on vfio-pci (was {row.Before ?? "unbound"}).").ConfigureAwait(false);
        }

        if (checking)
        {
            await context.Out.WriteLineAsync("--check: nothing was changed.").ConfigureAwait(false);
        }

        return PassthroughCli.Ok;
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
        var json = ChangeOptions.Json();
        var check = ChangeOptions.Check(
            "It fails as unbind would on an unknown device or one a VM holds (exit 2), and under a --root without a kernel (exit 3); a driver that would refuse the device is not foreseen.");
        var command = new Command("unbind", "Give devices on vfio-pci back to the host driver they had (or the kernel's choice when unknown). Devices on another driver are left alone.") { slots, json, check };
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var asJson = result.GetValue(json);
            var checking = result.GetValue(check);
            var inventory = new SysfsHostReader(root, names: false).Read();
            var devices = BindVerb.Resolve(inventory, result.GetValue(slots) ?? []);
            var engine = BindingServices.Engine(context, root, GlobalOptions.SystemBusAddress(result), progress: StepSpinner.For(context, asJson));
            var plan = UnbindPlan.Build(devices, engine.Journals.All());

            // A function no journal records is released only while vfio-pci (or an override) holds it: one on its
            // own driver already has nothing to give back, and a second unbind changes nothing.
            var held = plan.Unrecorded.Where(d => inventory.Find(d) is { } f && (f.IsVfioBound || f.DriverOverride is not null)).ToList();
            var rows = new List<DeviceChangeJson>();
            foreach (var journal in plan.ManualBinds)
            {
                rows.AddRange(journal.FunctionStates().Select(f => new DeviceChangeJson(f.Address.ToString(), inventory.Find(f.Address)?.Driver, f.Driver, true)));
            }

            rows.AddRange(plan.Unrecorded.Select(d => new DeviceChangeJson(d.ToString(), inventory.Find(d)?.Driver, held.Contains(d) ? null : inventory.Find(d)?.Driver, held.Contains(d))));
            var changed = rows.Any(r => r.Changed);
            if (checking && changed)
            {
                BindingServices.ForeseeKernel(context, root);
            }

            var failures = new List<string>();
            if (!checking)
            {
                foreach (var journal in plan.ManualBinds)
                {
                    var report = await engine.RestoreAsync(journal.Id, cancellationToken).ConfigureAwait(false);
                    failures.AddRange(report?.Failures ?? []);
                }

                if (held.Count > 0)
                {
                    var report = await engine.ReleaseUnrecordedAsync(held, cancellationToken).ConfigureAwait(false);
                    failures.AddRange(report.Failures);
                    var after = new SysfsHostReader(root, names: false).Read();
                    rows = [.. rows.Select(r => held.Any(h => h.ToString() == r.Address) ? r with { After = after.Find(PciAddress.Parse(r.Address))?.Driver } : r)];
                }
            }

            if (failures.Count > 0)
            {
                throw PassthroughException.Failure(string.Join(" ", failures), "`passthrough status` shows the bindings now.");
            }

            if (asJson)
            {
                var actions = rows.Where(r => r.Changed).Select(r => r.After is null && held.Any(h => h.ToString() == r.Address) && checking
                    ? $"release {r.Address} from {r.Before ?? "its driver_override"} (no record of its driver: the kernel picks one)"
                    : $"give {r.Address} back to {r.After ?? "no driver"} (from {r.Before ?? "no driver"})").ToList();
                var warnings = rows.Where(r => !r.Changed).Select(r => $"{r.Address} is on {r.Before ?? "no driver"}, not vfio-pci: nothing to give back.").ToList();
                Json.Write(context.Out, new BindingChangeJson(changed, actions, false, warnings, [], rows), Json.Shapes.BindingChangeJson);
                return PassthroughCli.Ok;
            }

            foreach (var row in rows)
            {
                var recorded = !held.Any(h => h.ToString() == row.Address);
                await context.Out.WriteLineAsync(!row.Changed
                    ? $"{row.Address}: on {row.Before ?? "no driver"}, not vfio-pci; nothing to give back."
                    : checking
                    ? (recorded ? $"{row.Address}: would go back on {row.After ?? "no driver"}." : $"{row.Address}: no record of its driver; the kernel would choose.")
                    : recorded ? $"{row.Address}: back on {row.After ?? "no driver"}."
                    : $"{row.Address}: no record of its driver; the kernel chose {row.After ?? "no driver"}.").ConfigureAwait(false);
            }

            if (checking)
            {
                await context.Out.WriteLineAsync("--check: nothing was changed.").ConfigureAwait(false);
            }

            return PassthroughCli.Ok;
        });
        return command;
    }
}
