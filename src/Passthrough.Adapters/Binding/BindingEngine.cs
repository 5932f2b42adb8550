using Passthrough.Adapters.Sysfs;
using Passthrough.Adapters.Systemd;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Adapters.Binding;

/// <summary>What a restore could not do (restore is best effort and reports all failures).</summary>
public sealed record RestoreReport(IReadOnlyList<string> Failures)
{
    public bool Succeeded => Failures.Count == 0;
}

/// <summary>
/// What `passthrough bind` would do, read without the lock and without writing: the plan from the inventory
/// now, the journal an earlier bind of the same id left, and whether that journal already holds exactly these
/// devices on vfio-pci (then the bind has nothing to do: changed:false).
/// </summary>
public sealed record BindPreview(BindingPlan Plan, BindingJournal? Earlier, bool AlreadyDone, bool VfioLoaded);

/// <summary>
/// The one engine of the hook path. Under the host lock it reads the facts (inventory, and for a
/// single-GPU swap <see cref="SwapFactsReader"/>), has the pure plans in Core turn them into steps
/// (<see cref="BindingPlan"/>, <see cref="SingleGpuSwapPlan"/>, <see cref="RestorePlan"/>) and
/// executes them: journal first, then the change. On any failure every recorded change is undone
/// in reverse and the error names the device and step. The order, the fallbacks and the time
/// limits are the plans'; this class only carries them out.
/// </summary>
public sealed class BindingEngine
{
    private readonly HostRoot _root;
    private readonly IHostReader _reader;
    private readonly IDriverBinder _binder;
    private readonly Func<ISystemdManager> _systemdFactory;

    /// <param name="root">The directory treated as /.</param>
    /// <param name="reader">Reads the inventory after the lock is held.</param>
    /// <param name="binder">Makes the changes.</param>
    /// <param name="systemd">Opens the systemd client; called only when a unit must be looked at, stopped or started.</param>
    public BindingEngine(HostRoot root, IHostReader reader, IDriverBinder binder, Func<ISystemdManager> systemd)
    {
        _root = root;
        _reader = reader;
        _binder = binder;
        _systemdFactory = systemd;
        Journals = new JournalStore(root);
    }

    public JournalStore Journals { get; }

    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public BindingTimeouts Timeouts { get; init; } = BindingTimeouts.Default;

    /// <summary>How long each part of the last prepare or restore took (the hook logs it).</summary>
    public StepTimes Times { get; } = new();

    /// <summary>Shows the waits for systemd units (stopping the display manager, starting it again).</summary>
    public IStepProgress Progress { get; init; } = StepProgress.None;

    /// <summary>prepare/begin: binds (dynamic, single-gpu) or verifies (static) a VM's devices.</summary>
    public async Task PrepareAsync(VmPassthroughConfig config, CancellationToken cancellationToken = default)
    {
        Times.Restart();
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        Times.Mark("host lock");
        var title = $"VM '{config.DomainName}'";
        if (config.Mode == PassthroughMode.Static)
        {
            BindingPlan.VerifyStatic(config.Devices, _reader.Read(), title);
            if (!config.Tuning.Any)
            {
                return;
            }
        }

        var owner = JournalOwner.ForVm(config.DomainUuid, config.DomainName);
        await PrepareLockedAsync(config.DomainUuid, owner, config.Mode, config.Devices, title, config, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// `passthrough bind`: the same engine without a VM; journal id bind-ADDRESS. False when there was nothing to
    /// do (<see cref="BindPreview.AlreadyDone"/>): the journal and the bindings are left as they are.
    /// </summary>
    public async Task<bool> BindAsync(string id, IReadOnlyList<PciAddress> devices, CancellationToken cancellationToken = default)
    {
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        if (PreviewBind(id, devices).AlreadyDone)
        {
            return false;
        }

        await PrepareLockedAsync(id, JournalOwner.Manual, PassthroughMode.Dynamic, devices, string.Join(", ", devices), null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// What <see cref="BindAsync"/> would do, without the lock or any write; fails as the bind would on devices the
    /// host lacks or an IOMMU group that cannot be given away. Nothing to do when every device is on vfio-pci and
    /// either no journal of this id exists (bound outside Passthrough, e.g. at boot) or its journal, prepared,
    /// holds exactly these devices (a second identical bind).
    /// </summary>
    public BindPreview PreviewBind(string id, IReadOnlyList<PciAddress> devices)
    {
        var earlier = Journals.Load(id);
        var plan = BindingPlan.Build(devices, _reader.Read(), string.Join(", ", devices));
        var allBound = plan.Functions.All(f => f.AlreadyBound);
        var same = earlier is null
            || (earlier.State == BindingJournal.Prepared && earlier.FunctionStates().Select(f => f.Address).Order().SequenceEqual(devices.Distinct().Order()));
        return new BindPreview(plan, earlier, allBound && same, _binder.IsDriverLoaded(BindingPlan.VfioDriver));
    }

    /// <summary>release/end and `passthrough restore`: replays a journal; no journal means nothing to do.</summary>
    public async Task<RestoreReport?> RestoreAsync(string id, CancellationToken cancellationToken = default)
    {
        Times.Restart();
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        Times.Mark("host lock");
        var journal = Journals.Load(id);
        return journal is null ? null : await RestoreLockedAsync(journal, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// release/end with keep-on-vfio: the functions stay on vfio-pci and the journal says so (state kept), so the next
    /// start reuses it and `restore`/`unbind` can still give them back. Null when there is no journal.
    /// </summary>
    public BindingJournal? Keep(string id)
    {
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        if (Journals.Load(id) is not { } journal)
        {
            return null;
        }

        var kept = journal.WithState(BindingJournal.Kept);
        Journals.Save(kept);
        return kept;
    }

    /// <summary>`passthrough unbind` of functions that have no journal: off vfio-pci, override cleared, the kernel picks the driver.</summary>
    public async Task<RestoreReport> ReleaseUnrecordedAsync(IReadOnlyList<PciAddress> devices, CancellationToken cancellationToken = default)
    {
        using var hostLock = HostLock.Acquire(_root, LockTimeout);
        var failures = new List<string>();
        await using var run = new Run(this, recorder: null);
        foreach (var device in devices)
        {
            await TryAsync(failures, () => run.ExecuteAllAsync(RestorePlan.ReleaseUnrecorded(Now(device)), cancellationToken)).ConfigureAwait(false);
        }

        return new RestoreReport(failures);
    }

    private async Task PrepareLockedAsync(string id, JournalOwner owner, PassthroughMode mode, IReadOnlyList<PciAddress> devices, string title, VmPassthroughConfig? config, CancellationToken cancellationToken)
    {
        // Functions kept on vfio-pci by the last stop (keep-on-vfio): carry on from that journal, which still
        // holds the host's own drivers; rebinding to the host driver in between is what keep-on-vfio avoids.
        var kept = Journals.Load(id) is { State: BindingJournal.Kept } k ? k : null;

        // A journal left by a start whose release never ran: give everything back first, so this
        // start records the host's own drivers and not vfio-pci.
        if (kept is null && Journals.Load(id) is { } stale)
        {
            var report = await RestoreLockedAsync(stale, cancellationToken).ConfigureAwait(false);
            if (!report.Succeeded)
            {
                throw PassthroughException.Failure(
                    $"{stale.Owner.Name} still has devices from an earlier start that could not be given back: {string.Join("; ", report.Failures)}",
                    $"Fix that first, then run `passthrough restore {stale.Owner.RestoreArgument}`.");
            }
        }

        // A single-GPU swap talks to systemd first: connect (and watch for jobs) while the inventory is read.
        var warm = mode == PassthroughMode.SingleGpu && config is not null ? WarmSystemd() : null;
        try
        {
            await PrepareWarmAsync(id, owner, mode, devices, title, config, kept, () => Interlocked.Exchange(ref warm, null), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await DisposeUnusedAsync(warm).ConfigureAwait(false);
        }
    }

    private async Task PrepareWarmAsync(string id, JournalOwner owner, PassthroughMode mode, IReadOnlyList<PciAddress> devices, string title, VmPassthroughConfig? config, BindingJournal? kept, Func<Task<ISystemdManager>?> takeWarm, CancellationToken cancellationToken)
    {
        var inventory = _reader.Read();
        Times.Mark("inventory");
        var plan = BindingPlan.Build(devices, inventory, title, config?.DriverModels);
        // Bad input first (exit 2), then what the host is doing; both before any change.
        // Static mode (here only for its tuning) leaves BAR sizes alone: the functions are on vfio-pci from boot; the hook logs that.
        var resizes = BarResizePlan.Resolve(config is not null && BarResizePlan.AppliesIn(mode) ? config.Bars : [], inventory, plan, title);
        if (mode != PassthroughMode.SingleGpu)
        {
            // Single-GPU mode stops the display manager first and checks after (SingleGpuSwapPlan).
            new DeviceHolders(_root).EnsureFree([.. plan.Functions.Where(f => !f.AlreadyBound).Select(f => inventory.Find(f.Address)!)], title);
            Times.Mark("processes holding the GPU");
        }

        // Host tuning is planned (and its input checked) before anything changes, and runs first.
        var tuning = config is { Tuning.Any: true }
            ? HostTuningPlan.Build(config.Tuning, await ReadTuningFactsAsync(id, config, title, cancellationToken).ConfigureAwait(false), title)
            : [];
        var recorder = new JournalRecorder(Journals, kept is not null
            ? kept with { State = BindingJournal.Preparing, Started = DateTimeOffset.UtcNow }
            : new BindingJournal { Id = id, Owner = owner, Mode = mode, Started = DateTimeOffset.UtcNow });
        try
        {
            recorder.Save();
            await using (var run = new Run(this, recorder, takeWarm()))
            {
                IReadOnlyList<HostStep> steps;
                if (mode == PassthroughMode.SingleGpu && config is not null)
                {
                    var functions = plan.Functions.Select(f => inventory.Find(f.Address)!).ToList();
                    var drivers = functions.Select(f => f.Driver).OfType<string>();
                    var facts = await new SwapFactsReader(_root).ReadAsync(run.Systemd, config.DisplayManagerUnit, drivers, cancellationToken).ConfigureAwait(false);
                    Times.Mark("display manager, consoles and modules");
                    var swap = SingleGpuSwapPlan.Build(facts, functions, config.Modules, config.Timeouts);
                    steps = [.. swap.Steps, .. plan.Steps(f => swap.DriverAfter(f, facts))];
                }
                else
                {
                    steps = plan.Steps();
                }

                await run.ExecuteAllAsync([.. tuning, .. BarResizePlan.Insert(steps, resizes)], cancellationToken).ConfigureAwait(false);
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
                    $"Run `passthrough restore {owner.RestoreArgument}` from a TTY or over SSH once the cause is fixed.",
                    e);
        }
    }

    private async Task<RestoreReport> RestoreLockedAsync(BindingJournal journal, CancellationToken cancellationToken)
    {
        var recorder = new JournalRecorder(Journals, journal);
        recorder.SetState(BindingJournal.Restoring);
        var failures = new List<string>();
        IsolationLedger? isolation = null;
        var keepCpus = false;
        try
        {
            isolation = IsolationFor(journal);
        }
        catch (PassthroughException e)
        {
            // Without every journal the CPUs other VMs hold are unknown: leave AllowedCPUs as it is, keep the journal.
            failures.Add($"{e.Message} AllowedCPUs of the host units were left as they are. {e.Remedy}");
            keepCpus = true;
        }

        var steps = RestorePlan.ForJournal(journal, Timeouts, isolation).Where(s => !(keepCpus && s is AllowedCpusStep)).ToList();
        // Starting the display manager comes last: connect to systemd while the kernel steps before it run.
        await using (var run = new Run(this, recorder: null, steps.OfType<UnitStep>().Any() ? WarmSystemd() : null))
        {
            foreach (var step in steps)
            {
                await TryAsync(failures, () => run.ExecuteAsync(step, cancellationToken)).ConfigureAwait(false);
            }
        }

        if (failures.Count == 0)
        {
            Journals.Delete(journal.Id);
        }

        return new RestoreReport(failures);
    }

    /// <summary>The systemd client, connected and watching for jobs, on another thread; its failure surfaces where it is used.</summary>
    private Task<ISystemdManager> WarmSystemd() => Task.Run(async () =>
    {
        var systemd = _systemdFactory();
        try
        {
            await systemd.WatchJobsAsync().ConfigureAwait(false);
            return systemd;
        }
        catch
        {
            systemd.Dispose();
            throw;
        }
    });

    /// <summary>A warmed client nobody took (the run failed before it needed systemd): closed, its failure ignored.</summary>
    private static async Task DisposeUnusedAsync(Task<ISystemdManager>? warm)
    {
        if (warm is null)
        {
            return;
        }

        try
        {
            (await warm.ConfigureAwait(false)).Dispose();
        }
        catch (Exception e) when (e is PassthroughException or ObjectDisposedException)
        {
            // Never used, so its failure changed nothing.
        }
    }

    /// <summary>
    /// What the other journals hold of the CPUs when <paramref name="journal"/> (and <paramref name="alsoGone"/>, a
    /// `restore --all` before it) is given back; null when it isolated none. Fails on a damaged journal.
    /// </summary>
    public IsolationLedger? IsolationFor(BindingJournal journal, IEnumerable<string>? alsoGone = null) =>
        journal.Entries.Any(e => e.Kind == JournalKind.CpuIsolation)
            ? new HostTuningFactsReader(_root).ReadLedger(Journals, [journal.Id, .. alsoGone ?? []])
            : null;

    /// <summary>The tuning facts; with isolation, the other journals' too (the CPUs other running VMs hold).</summary>
    private async Task<HostTuningFacts> ReadTuningFactsAsync(string id, VmPassthroughConfig config, string title, CancellationToken cancellationToken)
    {
        var reader = new HostTuningFactsReader(_root);
        var facts = await reader.ReadAsync(config.Tuning, _systemdFactory, title, cancellationToken).ConfigureAwait(false);
        return config.Tuning.Isolation is null ? facts : facts.WithLedger(reader.ReadLedger(Journals, [id]));
    }

    private FunctionState Now(PciAddress address) => new(address, _binder.DriverOf(address), _binder.OverrideOf(address));

    private static async Task TryAsync(List<string> failures, Func<Task> action)
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

    /// <summary>
    /// One execution of steps: records each step's journal entry before it runs, and holds the systemd
    /// connection (opened on first use, closed at the end).
    /// </summary>
    private sealed class Run(BindingEngine engine, JournalRecorder? recorder, Task<ISystemdManager>? warm = null) : IAsyncDisposable
    {
        private ISystemdManager? _systemd;
        private Task<ISystemdManager>? _warm = warm;

        public ISystemdManager Systemd => _systemd ??= Interlocked.Exchange(ref _warm, null) is { } connecting
            ? connecting.GetAwaiter().GetResult()
            : engine._systemdFactory();

        private IDriverBinder Binder => engine._binder;

        public async Task ExecuteAllAsync(IEnumerable<HostStep> steps, CancellationToken cancellationToken)
        {
            foreach (var step in steps)
            {
                await ExecuteAsync(step, cancellationToken).ConfigureAwait(false);
            }
        }

        public async Task ExecuteAsync(HostStep step, CancellationToken cancellationToken)
        {
            if (await SkipAsync(step).ConfigureAwait(false))
            {
                return;
            }

            try
            {
                await ExecuteRecordedAsync(step, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                engine.Times.Mark(step.ToString() ?? step.GetType().Name);
            }
        }

        private async Task ExecuteRecordedAsync(HostStep step, CancellationToken cancellationToken)
        {
            if (step.Records is { } entry)
            {
                if (recorder is null)
                {
                    throw new InvalidOperationException($"'{step}' records a change but this run keeps no journal.");
                }

                recorder.Record(entry);
            }

            switch (step)
            {
                case BindingStep binding:
                    await ExecuteBindingAsync(binding, cancellationToken).ConfigureAwait(false);
                    break;
                case UnitStep unit:
                    try
                    {
                        await ExecuteUnitAsync(unit, cancellationToken).ConfigureAwait(false);
                    }
                    catch (DBusException e) when (step.Records is not null && e.IsRefusal)
                    {
                        // systemd answered with an error and queued no job: nothing happened, so nothing is undone
                        // (a rollback would only ask to start the unit again and be refused the same way).
                        recorder?.ForgetLast();
                        throw;
                    }

                    break;
                case RequireFreeStep free:
                    var holding = new DeviceHolders(engine._root).Find(free.Functions);
                    if (holding.Count > 0)
                    {
                        throw PassthroughException.Failure(
                            $"The GPU is still in use after stopping the display manager: {string.Join("; ", holding)}.",
                            "Close or stop those programs (a user session, a compositor, a monitoring tool), or stop them in the VM's prepare hook.");
                    }

                    break;
                case BarResizeStep resize:
                    Binder.WriteAttribute(resize.HostPath, resize.Value, resize.ToString());
                    break;
                case AttributeStep attribute:
                    Binder.WriteAttribute(attribute.Path, attribute.Value, attribute.What);
                    break;
                case ModuleStep { Load: true } module:
                    await Binder.LoadModuleAsync(module.Module, cancellationToken).ConfigureAwait(false);
                    break;
                case ModuleStep module:
                    await Binder.UnloadModuleAsync(module.Module, cancellationToken).ConfigureAwait(false);
                    break;
                case HostTuningStep tuning:
                    try
                    {
                        await new HostTuningExecutor(engine._root, Binder, () => Systemd).ExecuteAsync(tuning, cancellationToken).ConfigureAwait(false);
                    }
                    catch (DBusException e) when (step.Records is not null && e.IsRefusal)
                    {
                        recorder?.ForgetLast(); // refused: nothing was set, so nothing to put back
                        throw;
                    }

                    break;
                case RestoreFunctionStep restore:
                    await ExecuteAllAsync(restore.Expand(engine.Now(restore.Original.Address)), cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidOperationException($"No executor for {step.GetType().Name}.");
            }
        }

        /// <summary>The step's own condition says it has nothing to do.</summary>
        private ValueTask<bool> SkipAsync(HostStep step) => step switch
        {
            UnitStep { OnlyWhileHeld: { } functions } => ValueTask.FromResult(new DeviceHolders(engine._root).Find(functions).Count == 0),
            AttributeStep { UnlessExists: { } path } => ValueTask.FromResult(File.Exists(engine._root.Path(path))),
            _ => ValueTask.FromResult(false),
        };

        private async Task ExecuteUnitAsync(UnitStep step, CancellationToken cancellationToken)
        {
            if (step.Action == UnitAction.Stop)
            {
                var result = await engine.Progress.RunAsync($"Stopping {step.Unit}", () => Systemd.StopUnitAsync(step.Unit, step.Timeout, cancellationToken)).ConfigureAwait(false);
                if (result != "done")
                {
                    throw PassthroughException.Failure(
                        $"Stopping {step.Unit} ended with job result '{result}'.",
                        $"`journalctl -u {step.Unit}` shows why; raise <passthrough:timeouts unit-stop=...> if it is only slow.");
                }

                return;
            }

            var started = await engine.Progress.RunAsync($"Starting {step.Unit}", () => Systemd.StartUnitAsync(step.Unit, step.Timeout, cancellationToken)).ConfigureAwait(false);
            if (started != "done")
            {
                throw PassthroughException.Failure($"Starting {step.Unit} ended with job result '{started}'.", $"`journalctl -u {step.Unit}` shows why.");
            }
        }

        private async Task ExecuteBindingAsync(BindingStep step, CancellationToken cancellationToken)
        {
            var device = step.Device.GetValueOrDefault();
            switch (step.Kind)
            {
                case StepKind.LoadDriver:
                    if (!Binder.IsDriverLoaded(step.Driver!))
                    {
                        await Binder.LoadModuleAsync(step.Driver!, cancellationToken).ConfigureAwait(false);
                        if (!Binder.IsDriverLoaded(step.Driver!))
                        {
                            throw PassthroughException.Host($"The {step.Driver} driver is not there after loading its module.", step.Remedy);
                        }
                    }

                    break;
                case StepKind.WriteOverride:
                    Binder.WriteOverride(device, step.Driver);
                    break;
                case StepKind.Unbind:
                    Binder.Unbind(device, step.Driver!);
                    break;
                case StepKind.Bind:
                    await BindAsync(step, device, cancellationToken).ConfigureAwait(false);
                    break;
                case StepKind.DriversProbe:
                    Binder.DriversProbe(device);
                    break;
                case StepKind.Verify:
                    await VerifyAsync(device, step.Driver, step.Poll, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidOperationException($"No executor for {step.Kind}.");
            }
        }

        /// <summary>The bind write; the plan's fallback when the driver is not registered or refuses.</summary>
        private async Task BindAsync(BindingStep step, PciAddress device, CancellationToken cancellationToken)
        {
            if (step.Fallback is { } fallback && !Binder.IsDriverLoaded(step.Driver!))
            {
                await ExecuteBindingAsync(fallback, cancellationToken).ConfigureAwait(false);
                return;
            }

            try
            {
                Binder.Bind(device, step.Driver!);
            }
            catch (PassthroughException) when (step.Fallback is not null)
            {
                await ExecuteBindingAsync(step.Fallback, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Reads the driver link until it is the expected one or the step's poll runs out.</summary>
        private async Task VerifyAsync(PciAddress device, string? expected, Poll? poll, CancellationToken cancellationToken)
        {
            var deadline = DateTime.UtcNow + (poll?.Within ?? TimeSpan.Zero);
            string? actual;
            while ((actual = Binder.DriverOf(device)) != expected && DateTime.UtcNow < deadline)
            {
                await Task.Delay(poll!.Every, cancellationToken).ConfigureAwait(false);
            }

            if (actual != expected)
            {
                throw PassthroughException.Failure(
                    $"{device} is on {actual ?? "no driver"}, not {expected ?? "unbound"}, after binding.",
                    "`dmesg | tail` shows why the driver refused the device.");
            }
        }

        public async ValueTask DisposeAsync()
        {
            _systemd?.Dispose();
            _systemd = null;
            await DisposeUnusedAsync(Interlocked.Exchange(ref _warm, null)).ConfigureAwait(false);
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

    private BindingJournal? _beforeLast;

    public void Record(JournalEntry entry)
    {
        _beforeLast = Journal;
        Journal = Journal.With(entry);
        Save();
    }

    /// <summary>The change last recorded was refused before it began: the journal goes back to before it.</summary>
    public void ForgetLast()
    {
        if (_beforeLast is { } before)
        {
            Journal = before;
            _beforeLast = null;
            Save();
        }
    }

    public void SetState(string state)
    {
        Journal = Journal.WithState(state);
        Save();
    }

    public void Save() => _store.Save(Journal);
}
