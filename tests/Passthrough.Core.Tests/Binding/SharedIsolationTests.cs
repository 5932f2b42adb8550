using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Tests.Binding;

/// <summary>CPU isolation of VMs that run at once: the pure plan (prepare and restore) against a modelled host, in any stop order.</summary>
public class SharedIsolationTests
{
    private static CpuSet Cpus(string list) => CpuSet.TryParse(list, out var set) ? set : throw new ArgumentException(list);

    /// <summary>The host units' AllowedCPUs and the journals on disk; starts and stops go through the pure plans only.</summary>
    private sealed class ModelHost(CpuSet online, IReadOnlyDictionary<string, CpuSet> units)
    {
        private readonly Dictionary<string, CpuSet> _units = new(units, StringComparer.Ordinal);
        private int _clock;

        public CpuSet Online { get; } = online;

        public List<BindingJournal> Journals { get; } = [];

        public CpuSet this[string unit] => _units.GetValueOrDefault(unit, CpuSet.Empty);

        public string Units => string.Join(" ", HostTuningPlan.HostUnits.Select(u => $"{u}={this[u]}"));

        public void Start(string vm, CpuSet cpus)
        {
            var facts = new HostTuningFacts
            {
                OnlineCpus = Online,
                AllowedCpus = new Dictionary<string, CpuSet>(_units, StringComparer.Ordinal),
                Ledger = IsolationLedger.From(Journals, [vm], Online),
            };
            var steps = HostTuningPlan.Build(VmTuning.None.WithIsolation(new CpuIsolation(cpus, Auto: false)), facts, $"VM '{vm}'");
            Apply(steps);
            Journals.Add(new BindingJournal
            {
                Id = vm,
                Owner = JournalOwner.ForVm(vm, vm),
                Mode = PassthroughMode.Dynamic,
                State = BindingJournal.Prepared,
                Started = DateTimeOffset.UnixEpoch.AddMinutes(++_clock),
                Entries = [.. steps.Select(s => s.Records!)],
            });
        }

        public void Stop(string vm)
        {
            var journal = Journals.Single(j => j.Id == vm);
            Apply(RestorePlan.ForJournal(journal, BindingTimeouts.Default, IsolationLedger.From(Journals, [vm], Online)));
            Journals.Remove(journal);
        }

        private void Apply(IEnumerable<HostStep> steps)
        {
            foreach (var step in steps.OfType<AllowedCpusStep>())
            {
                _units[step.Unit] = step.Cpus;
            }
        }
    }

    private static ModelHost Host(string online, string systemSlice = "") =>
        new(Cpus(online), new Dictionary<string, CpuSet> { ["system.slice"] = Cpus(systemSlice) });

    [Test]
    public void I_can_stop_two_isolated_vms_in_the_order_i_started_them_and_the_host_gets_each_ones_cpus_back()
    {
        var host = Host("0-7");

        host.Start("a", Cpus("2-5"));
        host.Start("b", Cpus("6-7"));
        Assert.That(host.Units, Is.EqualTo("init.scope=0-1 system.slice=0-1 user.slice=0-1"));

        host.Stop("a");
        Assert.That(host.Units, Is.EqualTo("init.scope=0-5 system.slice=0-5 user.slice=0-5"), "a's CPUs back, b's still kept off");

        host.Stop("b");
        Assert.That(host.Units, Is.EqualTo("init.scope= system.slice= user.slice="), "empty again: every CPU, as before");
    }

    [Test]
    public void I_get_back_a_limited_units_own_cpus_when_the_vm_that_read_them_stopped_first()
    {
        var host = Host("0-7", systemSlice: "0-5");

        host.Start("a", Cpus("4-5"));
        host.Start("b", Cpus("1"));
        Assert.That(host["system.slice"].ToString(), Is.EqualTo("0,2-3"));
        Assert.That(host.Journals[1].Entries.Single(e => e.Target == "system.slice"), Is.EqualTo(
            new JournalEntry(JournalKind.CpuIsolation, "system.slice") { Before = "0-3", After = "0,2-3", Original = "0-5", Isolated = "1" }),
            "b's journal carries the original a read, not what a left");

        host.Stop("a");
        Assert.That(host["system.slice"].ToString(), Is.EqualTo("0,2-5"));
        Assert.That(host["user.slice"].ToString(), Is.EqualTo("0,2-7"));

        host.Stop("b");
        Assert.That(host["system.slice"].ToString(), Is.EqualTo("0-5"));
        Assert.That(host["user.slice"], Is.EqualTo(CpuSet.Empty));
    }

    [Test]
    public void Two_vms_sharing_cpus_keep_them_off_the_host_until_both_stopped()
    {
        var host = Host("0-3");

        host.Start("a", Cpus("2-3"));
        host.Start("b", Cpus("3"));
        host.Stop("a");

        Assert.That(host["init.scope"].ToString(), Is.EqualTo("0-2"), "CPU 3 stays b's");
        host.Stop("b");
        Assert.That(host["init.scope"], Is.EqualTo(CpuSet.Empty));
    }

    [Test]
    public void I_cannot_start_a_vm_that_together_with_the_running_ones_leaves_the_host_no_cpu()
    {
        var host = Host("0-3");
        host.Start("a", Cpus("0-1"));
        var before = host.Units;

        var error = Assert.Throws<PassthroughException>(() => host.Start("b", Cpus("2-3")));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.Contain("init.scope may only run on CPU 0-3, all of which <passthrough:isolate> gives the VM (2-3) and the VMs running already hold (VM 'a': 0-1)"));
        Assert.That(error.Remedy, Does.EndWith("or stop one of those VMs first."));
        Assert.That(host.Units, Is.EqualTo(before));
    }

    [Test]
    public void A_journal_of_the_previous_version_still_holds_its_cpus_and_gives_the_original()
    {
        // Written before Original/Isolated existed: Before is the original, Before minus After the VM's CPUs.
        var old = new BindingJournal
        {
            Id = "old",
            Owner = JournalOwner.ForVm("old", "old"),
            Mode = PassthroughMode.Dynamic,
            State = BindingJournal.Prepared,
            Entries = [.. HostTuningPlan.HostUnits.Select(u => new JournalEntry(JournalKind.CpuIsolation, u) { Before = u == "system.slice" ? "0-6" : string.Empty, After = "0-3" })],
        };
        var host = new ModelHost(Cpus("0-7"), HostTuningPlan.HostUnits.ToDictionary(u => u, _ => Cpus("0-3")));
        host.Journals.Add(old);

        host.Start("new", Cpus("0"));
        Assert.That(host.Units, Is.EqualTo("init.scope=1-3 system.slice=1-3 user.slice=1-3"));
        Assert.That(host.Journals[1].Entries.Single(e => e.Target == "system.slice").Original, Is.EqualTo("0-6"));

        host.Stop("old");
        Assert.That(host.Units, Is.EqualTo("init.scope=1-7 system.slice=1-6 user.slice=1-7"));

        host.Stop("new");
        Assert.That(host.Units, Is.EqualTo("init.scope= system.slice=0-6 user.slice="));
    }

    [Test]
    public void A_kept_vm_holds_its_cpus_and_a_vm_being_restored_no_longer_does()
    {
        var journals = new[] { ("kept", BindingJournal.Kept, "2"), ("crashed", BindingJournal.Preparing, "3"), ("failed", BindingJournal.Restoring, "4"), ("me", BindingJournal.Prepared, "5") }
            .Select(j => new BindingJournal
            {
                Id = j.Item1,
                Owner = JournalOwner.ForVm(j.Item1, j.Item1),
                Mode = PassthroughMode.Dynamic,
                State = j.Item2,
                Entries = [new JournalEntry(JournalKind.CpuIsolation, "user.slice") { Before = string.Empty, After = "0-1", Original = string.Empty, Isolated = j.Item3 }],
            });

        var ledger = IsolationLedger.From(journals, ["me"], Cpus("0-7"));

        Assert.That(ledger.Held.ToString(), Is.EqualTo("2-3"));
        Assert.That(ledger.AllowedFor(CpuSet.Empty, ledger.Held).ToString(), Is.EqualTo("0-1,4-7"));
        Assert.That(ledger.AllowedFor(CpuSet.Empty, CpuSet.Empty), Is.EqualTo(CpuSet.Empty), "nothing held: the original as it was");
    }

    private static readonly string[] Names = ["a", "b", "c", "d"];

    private static InvalidOperationException Falsified(string what) => new(what);

    /// <summary>
    /// A host (2-10 online CPUs, each unit unrestricted or limited to some of them), up to four VMs each isolating
    /// some CPUs, and any interleaving of their starts and stops: each VM's first event starts it, the second stops it.
    /// </summary>
    private static Gen<(int Online, CpuSet[] Originals, CpuSet[] Vms, int[] Events)> Scenarios() =>
        from online in Gen.Choose(2, 10)
        from originals in Gen.ArrayOf(Gen.OneOf(Gen.Constant(CpuSet.Empty), Gen.SubListOf(Enumerable.Range(0, online)).Select(CpuSet.Of)), HostTuningPlan.HostUnits.Count)
        from count in Gen.Choose(1, Names.Length)
        from vms in Gen.ArrayOf(Gen.SubListOf(Enumerable.Range(0, online)).Where(l => l.Count > 0).Select(CpuSet.Of), count)
        from events in Gen.Shuffle(Enumerable.Range(0, count).SelectMany(i => new[] { i, i }))
        select (online, originals, vms, events);

    [Test]
    public void In_any_start_and_stop_order_no_running_vms_cpu_is_the_hosts_and_the_last_stop_gives_back_the_original()
    {
        Prop.ForAll(Arb.From(Scenarios()), s =>
        {
            var online = CpuSet.Of(Enumerable.Range(0, s.Online));
            var originals = HostTuningPlan.HostUnits.Select((u, i) => (u, s.Originals[i])).ToDictionary(p => p.u, p => p.Item2);
            var host = new ModelHost(online, originals);
            var running = new Dictionary<int, CpuSet>();
            var seen = new HashSet<int>();
            foreach (var vm in s.Events)
            {
                if (seen.Add(vm))
                {
                    var held = running.Values.Aggregate(s.Vms[vm], (all, cpus) => all.Union(cpus));
                    // Refused exactly when some unit would be left no CPU of its own: then nothing changes.
                    var refuse = originals.Values.Any(o => (o.IsEmpty ? online : o).Except(held).IsEmpty);
                    var before = host.Units;
                    try
                    {
                        host.Start(Names[vm], s.Vms[vm]);
                        running[vm] = s.Vms[vm];
                        if (refuse)
                        {
                            throw Falsified($"start of {Names[vm]} ({s.Vms[vm]}) should have been refused: {host.Units}");
                        }
                    }
                    catch (PassthroughException e) when (e.Kind == FailureKind.InvalidInput)
                    {
                        if (!refuse || host.Units != before)
                        {
                            throw Falsified($"start of {Names[vm]} ({s.Vms[vm]}) refused: {e.Message}");
                        }
                    }
                }
                else if (running.Remove(vm))
                {
                    host.Stop(Names[vm]);
                }

                var isolated = running.Values.Aggregate(CpuSet.Empty, (all, cpus) => all.Union(cpus));
                foreach (var (unit, original) in originals)
                {
                    // While any VM runs: exactly the original's CPUs minus theirs (none of theirs, none lost);
                    // once none does: the original as it was, "" (all CPUs) included.
                    var expected = isolated.IsEmpty ? original : (original.IsEmpty ? online : original).Except(isolated);
                    if (!host[unit].Equals(expected))
                    {
                        throw Falsified($"after {(seen.Contains(vm) && !running.ContainsKey(vm) ? "stopping" : "starting")} {Names[vm]}: {unit} is '{host[unit]}', expected '{expected}' (running: {string.Join(", ", running.Select(r => $"{Names[r.Key]}={r.Value}"))})");
                    }
                }
            }

            return host.Journals.Count == 0 && HostTuningPlan.HostUnits.All(u => host[u].Equals(originals[u]));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true));
    }
}
