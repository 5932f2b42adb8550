using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;
using Passthrough.Sysfs;
using Passthrough.Systemd;

namespace Passthrough.Binding;

/// <summary>What a restore did and what it could not do (restore is best effort and reports all failures).</summary>
public sealed record RestoreReport(string Owner, IReadOnlyList<string> Failures)
{
    public bool Succeeded => Failures.Count == 0;
}

/// <summary>
/// Runs binding plans against the host: journal first, then the change; on any failure every
/// recorded change is undone in reverse and the error names the device and step. Holds the host
/// lock throughout so two VM starts cannot interleave.
/// </summary>
public sealed class BindingEngine
{
    private readonly HostRoot _root;
    private readonly IHostReader _reader;
    private readonly IDriverBinder _binder;
    private readonly Func<ISystemdManager> _systemd;

    /// <param name="root">The directory treated as /.</param>
    /// <param name="reader">Reads the inventory after the lock is held.</param>
    /// <param name="binder">Makes the changes.</param>
    /// <param name="systemd">Opens the systemd client; called only when a unit must be stopped or started.</param>
    public BindingEngine(HostRoot root, IHostReader reader, IDriverBinder binder, Func<ISystemdManager> systemd)
    {
        _root = root;
        _reader = reader;
        _binder = binder;
        _systemd = systemd;
        Journals = new JournalStore(root);
    }

    public JournalStore Journals { get; }

    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public BindingTimeouts Timeouts { get; init; } = BindingTimeouts.Default;

    /// <summary>prepare/begin: binds (dynamic, single-gpu) or verifies (static) a VM's devices.</summary>
    public async Task PrepareAsync(VmPassthroughConfig config, CancellationToken cancellationToken = default)
    {
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        var owner = $"VM '{config.DomainName}'";
        if (config.Mode == PassthroughMode.Static)
        {
            BindingPlan.VerifyStatic(config.Devices, _reader.Read(), owner);
            return;
        }

        await PrepareLockedAsync(config.DomainUuid, config.DomainName, config.Mode, config.Devices, config, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>`passthrough bind`: the same engine without a VM; journal id slot-ADDRESS.</summary>
    public async Task BindAsync(string id, IReadOnlyList<PciAddress> devices, CancellationToken cancellationToken = default)
    {
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        await PrepareLockedAsync(id, "bind", PassthroughMode.Dynamic, devices, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>release/end and `passthrough restore`: replays a journal; no journal means nothing to do.</summary>
    public async Task<RestoreReport?> RestoreAsync(string id, CancellationToken cancellationToken = default)
    {
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        var journal = Journals.Load(id);
        return journal is null ? null : await RestoreLockedAsync(journal, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>`passthrough unbind` of functions that have no journal: off vfio-pci, override cleared, the kernel picks the driver.</summary>
    public async Task<RestoreReport> ReleaseUnrecordedAsync(IReadOnlyList<PciAddress> devices, CancellationToken cancellationToken = default)
    {
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        var failures = new List<string>();
        foreach (var device in devices)
        {
            await TryAsync(failures, async () =>
            {
                if (_binder.DriverOf(device) is { } current)
                {
                    await ExecuteAsync(BindingStep.Unbind(device, current), cancellationToken).ConfigureAwait(false);
                }

                await ExecuteAsync(BindingStep.WriteOverride(device, null), cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(BindingStep.DriversProbe(device), cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }

        return new RestoreReport("unbind", failures);
    }

    private async Task PrepareLockedAsync(string id, string name, PassthroughMode mode, IReadOnlyList<PciAddress> devices, VmPassthroughConfig? config, CancellationToken cancellationToken)
    {
        // A journal left by a start whose release never ran: give everything back first, so this
        // start records the host's own drivers and not vfio-pci.
        if (Journals.Load(id) is { } stale)
        {
            var report = await RestoreLockedAsync(stale, cancellationToken).ConfigureAwait(false);
            if (!report.Succeeded)
            {
                throw PassthroughException.Failure(
                    $"{stale.Owner} still has devices from an earlier start that could not be given back: {string.Join("; ", report.Failures)}",
                    $"Fix that first, then run `passthrough restore {stale.Owner}`.");
            }
        }

        var inventory = _reader.Read();
        var owner = config is null ? string.Join(", ", devices) : $"VM '{name}'";
        var plan = BindingPlan.Build(devices, inventory, owner);
        var recorder = new JournalRecorder(Journals, new BindingJournal { Id = id, Owner = name, Mode = mode, Started = DateTimeOffset.UtcNow });
        try
        {
            recorder.Save();
            if (mode == PassthroughMode.SingleGpu && config is not null)
            {
                var swap = new SingleGpuSwap(_root, _binder, _systemd, config.Timeouts);
                await swap.PrepareAsync(config, inventory, plan, recorder, cancellationToken).ConfigureAwait(false);
            }

            foreach (var step in plan.Preparation)
            {
                await ExecuteAsync(step, cancellationToken).ConfigureAwait(false);
            }

            foreach (var function in plan.Functions.Where(f => !f.AlreadyBound))
            {
                recorder.Record(new JournalEntry(JournalKind.Function, function.Address.ToString(), function.Original.Driver, function.Original.Override));
                // The swap may have unloaded the function's driver since the plan was made: steps from now.
                foreach (var step in BindingPlan.StepsFor(function.Address, _binder.DriverOf(function.Address)))
                {
                    await ExecuteAsync(step, cancellationToken).ConfigureAwait(false);
                }
            }

            recorder.SetState(BindingJournal.Prepared);
        }
        catch (PassthroughException e)
        {
            var report = await RestoreLockedAsync(recorder.Journal, CancellationToken.None).ConfigureAwait(false);
            throw report.Succeeded
                ? new PassthroughException(e.Kind, $"{e.Message} Everything done before was put back.", e.Remedy, e)
                : new PassthroughException(
                    e.Kind,
                    $"{e.Message} Putting things back failed too: {string.Join("; ", report.Failures)}",
                    $"Run `passthrough restore {name}` from a TTY or over SSH once the cause is fixed.",
                    e);
        }
    }

    private async Task<RestoreReport> RestoreLockedAsync(BindingJournal journal, CancellationToken cancellationToken)
    {
        var recorder = new JournalRecorder(Journals, journal);
        recorder.SetState(BindingJournal.Restoring);
        var failures = new List<string>();
        var entries = journal.Entries;
        var functions = journal.FunctionStates().Reverse().ToList();

        // 1. Off vfio-pci, original driver_override back.
        foreach (var original in functions)
        {
            await TryAsync(failures, async () =>
            {
                foreach (var step in RestorePlan.Release(original, Now(original.Address)))
                {
                    await ExecuteAsync(step, cancellationToken).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }

        // 2. Modules back, in reverse of the unload order (loading a driver also probes its devices).
        foreach (var module in entries.Where(e => e.Kind == JournalKind.Module).Reverse())
        {
            await TryAsync(failures, () => _binder.LoadModuleAsync(module.Target, cancellationToken)).ConfigureAwait(false);
        }

        // 3. The recorded driver for each function that does not have it yet.
        foreach (var original in functions)
        {
            await TryAsync(failures, async () =>
            {
                foreach (var step in RestorePlan.Rebind(original, Now(original.Address)))
                {
                    await ExecuteAsync(step, cancellationToken).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }

        // 4. Framebuffer, consoles, units; the display manager last, on a working GPU.
        var swap = new SingleGpuSwap(_root, _binder, _systemd, Timeouts);
        await swap.RestoreAsync(entries, failures, cancellationToken).ConfigureAwait(false);

        if (failures.Count == 0)
        {
            Journals.Delete(journal.Id);
        }

        return new RestoreReport(journal.Owner, failures);
    }

    private FunctionState Now(PciAddress address) => new(address, _binder.DriverOf(address), _binder.OverrideOf(address));

    internal static async Task TryAsync(List<string> failures, Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (PassthroughException e)
        {
            failures.Add(e.Message);
        }
    }

    private async Task ExecuteAsync(BindingStep step, CancellationToken cancellationToken)
    {
        var device = step.Device.GetValueOrDefault();
        switch (step.Kind)
        {
            case StepKind.LoadDriver:
                if (!_binder.IsDriverLoaded(step.Driver!))
                {
                    await _binder.LoadModuleAsync(step.Driver!, cancellationToken).ConfigureAwait(false);
                    if (!_binder.IsDriverLoaded(step.Driver!))
                    {
                        throw PassthroughException.Host(
                            $"The {step.Driver} driver is not there after loading its module.",
                            "Check that the kernel has VFIO (CONFIG_VFIO_PCI) and `modprobe vfio-pci` works.");
                    }
                }

                break;
            case StepKind.WriteOverride:
                _binder.WriteOverride(device, step.Driver);
                break;
            case StepKind.Unbind:
                _binder.Unbind(device, step.Driver!);
                break;
            case StepKind.Bind:
                if (!_binder.IsDriverLoaded(step.Driver!))
                {
                    // The module may have come back without probing this device; drivers_probe asks again.
                    _binder.DriversProbe(device);
                    break;
                }

                try
                {
                    _binder.Bind(device, step.Driver!);
                }
                catch (PassthroughException)
                {
                    _binder.DriversProbe(device);
                }

                break;
            case StepKind.DriversProbe:
                _binder.DriversProbe(device);
                break;
            default:
                await VerifyAsync(device, step.Driver, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Probing is synchronous for PCI, but a driver may register its link a moment later: poll briefly.</summary>
    private async Task VerifyAsync(PciAddress device, string? expected, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        string? actual;
        while ((actual = _binder.DriverOf(device)) != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        if (actual != expected)
        {
            throw PassthroughException.Failure(
                $"{device} is on {actual ?? "no driver"}, not {expected ?? "unbound"}, after binding.",
                "`dmesg | tail` shows why the driver refused the device.");
        }
    }
}

/// <summary>Keeps the journal current: every change is recorded (and the file replaced atomically) before it is made.</summary>
internal sealed class JournalRecorder
{
    private readonly JournalStore _store;

    public JournalRecorder(JournalStore store, BindingJournal journal)
    {
        _store = store;
        Journal = journal;
    }

    public BindingJournal Journal { get; private set; }

    public void Record(JournalEntry entry)
    {
        Journal = Journal.With(entry);
        Save();
    }

    public void SetState(string state)
    {
        Journal = Journal.WithState(state);
        Save();
    }

    public void Save() => _store.Save(Journal);
}
