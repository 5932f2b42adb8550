using System.Text.Json;
using System.Text.Json.Serialization;
using NUnit.Framework;
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
        Owner = "win11",
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

    [Test]
    public void A_journal_is_written_as_the_first_release_wrote_it_and_reads_back_whole()
    {
        using var dir = new TempDirectory();
        var store = new JournalStore(new HostRoot(dir.Path));

        store.Save(Journal);

        var text = File.ReadAllText(store.PathOf(Journal.Id));
        Assert.That(text, Is.EqualTo(JsonSerializer.Serialize(Journal, FirstRelease) + "\n"));
        Assert.That(text, Does.Contain("\"mode\": \"single-gpu\"").And.Contain("\"kind\": \"display-manager\""));
        var back = store.Load(Journal.Id)!;
        Assert.That(back with { Entries = [] }, Is.EqualTo(Journal with { Entries = [] }));
        Assert.That(back.Entries, Is.EqualTo(Journal.Entries));
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
