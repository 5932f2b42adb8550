using System.Text.Json;
using System.Text.Json.Serialization;
using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Binding;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Binding;

/// <summary>The state journal on disk: its shape must not change under a running VM (an upgrade
/// between prepare and release must still restore).</summary>
public class JournalStoreTests
{
    private static readonly BindingJournal Journal = new()
    {
        Id = "6f0e1c2a-1111-4222-8333-944455556666",
        Owner = JournalOwner.ForVm("6f0e1c2a-1111-4222-8333-944455556666", "win11"),
        Mode = PassthroughMode.SingleGpu,
        State = BindingJournal.Prepared,
        Started = new DateTimeOffset(2026, 11, 22, 6, 40, 1, TimeSpan.Zero),
        Entries =
        [
            new JournalEntry(JournalKind.DisplayManager, "gdm.service"),
            new JournalEntry(JournalKind.VtConsole, "vtcon1"),
            new JournalEntry(JournalKind.Module, "amdgpu"),
            new JournalEntry(JournalKind.Function, "0000:03:00.0", "amdgpu", null),
            new JournalEntry(JournalKind.Function, "0000:03:00.1", "snd_hda_intel", "snd_hda_intel"),
        ],
    };

    // What Passthrough's first release wrote (reflection-based System.Text.Json with these options).
    private static readonly JsonSerializerOptions FirstRelease = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>The journal type of the first release: the owner was a string, the VM name or "bind".</summary>
    private sealed record FirstReleaseJournal(string Id, string Owner, PassthroughMode Mode, string State, DateTimeOffset Started, IReadOnlyList<JournalEntry> Entries);

    private static string FirstReleaseText(BindingJournal journal, string owner) =>
        JsonSerializer.Serialize(new FirstReleaseJournal(journal.Id, owner, journal.Mode, journal.State, journal.Started, journal.Entries), FirstRelease) + "\n";

    [Test]
    public void A_journal_is_written_as_the_first_release_wrote_it_plus_the_owner_kind_and_reads_back_whole()
    {
        using var dir = new TempDirectory();
        var store = new JournalStore(new HostRoot(dir.Path));

        store.Save(Journal);

        var text = File.ReadAllText(store.PathOf(Journal.Id));
        // One field added after "owner"; every other byte as the first release wrote it.
        Assert.That(text, Is.EqualTo(FirstReleaseText(Journal, "win11").Replace("  \"owner\": \"win11\",\n", "  \"owner\": \"win11\",\n  \"ownerKind\": \"vm\",\n", StringComparison.Ordinal)));
        Assert.That(text, Does.Contain("\"mode\": \"single-gpu\"").And.Contain("\"kind\": \"display-manager\""));
        var back = store.Load(Journal.Id)!;
        Assert.That(back with { Entries = [] }, Is.EqualTo(Journal with { Entries = [] }));
        Assert.That(back.Entries, Is.EqualTo(Journal.Entries));
    }

    [Test]
    public void A_first_release_journal_of_a_vm_named_bind_reads_back_as_that_vm_and_a_manual_bind_as_a_manual_bind()
    {
        using var dir = new TempDirectory();
        var store = new JournalStore(new HostRoot(dir.Path));
        Directory.CreateDirectory(store.Directory);
        var vm = Journal with { Owner = JournalOwner.ForVm(Journal.Id, "bind") };
        var manual = Journal with { Id = "bind-0000:03:00.0", Owner = JournalOwner.Manual, Mode = PassthroughMode.Dynamic };
        File.WriteAllText(store.PathOf(vm.Id), FirstReleaseText(vm, "bind"));
        File.WriteAllText(store.PathOf(manual.Id), FirstReleaseText(manual, "bind"));

        Assert.That(store.Load(vm.Id)!.Owner, Is.EqualTo(JournalOwner.ForVm("6f0e1c2a-1111-4222-8333-944455556666", "bind")));
        Assert.That(store.Load(manual.Id)!.Owner, Is.EqualTo(JournalOwner.Manual));
    }

    [Test]
    public void A_manual_bind_is_written_with_its_kind_and_the_first_releases_owner_word()
    {
        using var dir = new TempDirectory();
        var store = new JournalStore(new HostRoot(dir.Path));
        var manual = Journal with { Id = "bind-0000:03:00.0", Owner = JournalOwner.Manual, Mode = PassthroughMode.Dynamic };

        store.Save(manual);

        var text = File.ReadAllText(store.PathOf(manual.Id));
        Assert.That(text, Does.Contain("  \"owner\": \"bind\",\n  \"ownerKind\": \"manual-bind\",\n"));
        Assert.That(store.Load(manual.Id)!.Owner, Is.EqualTo(JournalOwner.Manual));
    }

    [Test]
    public void A_cpu_isolation_entry_adds_original_and_isolated_after_the_previous_versions_fields_and_an_older_one_still_reads()
    {
        using var dir = new TempDirectory();
        var store = new JournalStore(new HostRoot(dir.Path));
        var previous = new JournalEntry(JournalKind.CpuIsolation, "system.slice") { Before = "0-6", After = "0-1" };
        var isolating = Journal with { Entries = [previous with { Original = "0-6", Isolated = "2-7" }] };

        store.Save(isolating);

        // The previous version's fields first, byte for byte; an older passthrough ignores the two new ones.
        var oldEntry = "      \"before\": \"0-6\",\n      \"after\": \"0-1\"";
        Assert.That(File.ReadAllText(store.PathOf(Journal.Id)), Does.Contain("      \"size\": null,\n" + oldEntry + ",\n      \"original\": \"0-6\",\n      \"isolated\": \"2-7\"\n    }"));
        Assert.That(store.Load(Journal.Id)!.Entries, Is.EqualTo(isolating.Entries));

        File.WriteAllText(store.PathOf(Journal.Id), FirstReleaseText(Journal with { Entries = [previous] }, "win11"));
        var older = store.Load(Journal.Id)!;
        Assert.That(older.Entries, Is.EqualTo(new[] { previous }), "no Original, no Isolated");
        Assert.That(IsolationLedger.IsolatedBy(older.Entries, Host.CpuSet.Of(0, 1, 2, 3, 4, 5, 6, 7)).ToString(), Is.EqualTo("2-6"), "Before minus After");
        Assert.That(IsolationLedger.From([older], [], Host.CpuSet.Empty).Originals["system.slice"].ToString(), Is.EqualTo("0-6"), "Before is the original");
    }

    [Test]
    public void A_damaged_journal_is_a_host_error_naming_the_file_and_what_to_do()
    {
        using var dir = new TempDirectory();
        var store = new JournalStore(new HostRoot(dir.Path));
        Directory.CreateDirectory(store.Directory);
        File.WriteAllText(store.PathOf("broken"), "{\"id\": \"broken\", \"owner\": ");

        var error = Assert.Throws<Passthrough.Errors.PassthroughException>(() => store.Load("broken"))!;

        Assert.That(error.Kind, Is.EqualTo(Passthrough.Errors.FailureKind.Environment));
        Assert.That(error.Message, Does.Contain(store.PathOf("broken")).And.Contain("damaged"));
        Assert.That(error.Remedy, Does.Contain("passthrough status"));
    }
}
