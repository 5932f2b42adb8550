using System.Text.Json;
using System.Text.Json.Serialization;
using Passthrough.Adapters.Files;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;

namespace Passthrough.Adapters.Binding;

/// <summary>The state journals under ROOT/run/passthrough, one JSON file per VM, each written atomically.</summary>
public sealed class JournalStore
{
    // Serializers generated at build time: the hook writes and reads the journal on every VM start
    // and stop, and reflection-based set-up cost each of those .NET starts tens of milliseconds.
    private static readonly JournalJsonContext Json = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters =
        {
            new JsonStringEnumConverter<JournalKind>(JsonNamingPolicy.KebabCaseLower),
            new JsonStringEnumConverter<PassthroughMode>(JsonNamingPolicy.KebabCaseLower),
            new JsonStringEnumConverter<JournalOwnerKind>(JsonNamingPolicy.KebabCaseLower),
        },
    });

    private readonly HostRoot _root;

    public JournalStore(HostRoot root)
    {
        _root = root;
    }

    /// <summary>ROOT/run/passthrough.</summary>
    public string Directory => _root.Path("/run/passthrough");

    public string PathOf(string id) => System.IO.Path.Join(Directory, id + ".json");

    public void Save(BindingJournal journal) =>
        AtomicFile.WriteText(PathOf(journal.Id), JsonSerializer.Serialize(JournalDocument.From(journal), Json.JournalDocument) + "\n", mode: UnixFileMode.UserRead | UnixFileMode.UserWrite);

    public BindingJournal? Load(string id)
    {
        var path = PathOf(id);
        return File.Exists(path) ? Read(path) : null;
    }

    public void Delete(string id) => File.Delete(PathOf(id));

    public IReadOnlyList<BindingJournal> All()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        return [.. System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal).Select(Read)];
    }

    private static BindingJournal Read(string path)
    {
        try
        {
            var document = JsonSerializer.Deserialize(File.ReadAllText(path), Json.JournalDocument)
                ?? throw new JsonException("empty journal");
            return document.ToJournal();
        }
        catch (JsonException e)
        {
            throw PassthroughException.Host(
                $"{path}: the state journal is damaged: {e.Message}",
                "Check the bindings with `passthrough status`, put them right by hand (`passthrough unbind SLOT`), then delete the file.",
                e);
        }
    }
}

/// <summary>How the owner is persisted: "ownerKind", a field added after the first release.</summary>
internal enum JournalOwnerKind
{
    Vm,
    ManualBind,
}

/// <summary>
/// The journal as it is on disk: the first release's fields in their order ("owner" is still the VM
/// name or "bind", so an older passthrough can restore after a downgrade) plus "ownerKind", added
/// after "owner". A journal without "ownerKind" was written by the first release: its kind follows
/// from its id (a VM's is the domain uuid, a manual bind's is bind-ADDRESS), never from the name.
/// </summary>
internal sealed record JournalDocument
{
    public required string Id { get; init; }

    public required string Owner { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JournalOwnerKind? OwnerKind { get; init; }

    public required PassthroughMode Mode { get; init; }

    public string State { get; init; } = BindingJournal.Preparing;

    public DateTimeOffset Started { get; init; }

    public IReadOnlyList<JournalEntry> Entries { get; init; } = [];

    public static JournalDocument From(BindingJournal journal) => new()
    {
        Id = journal.Id,
        Owner = journal.Owner.Name,
        OwnerKind = journal.Owner is JournalOwner.ManualBind ? JournalOwnerKind.ManualBind : JournalOwnerKind.Vm,
        Mode = journal.Mode,
        State = journal.State,
        Started = journal.Started,
        Entries = journal.Entries,
    };

    public BindingJournal ToJournal()
    {
        var kind = OwnerKind ?? (Id.StartsWith(JournalOwner.ManualBindIdPrefix, StringComparison.Ordinal) ? JournalOwnerKind.ManualBind : JournalOwnerKind.Vm);
        return new BindingJournal
        {
            Id = Id,
            Owner = kind == JournalOwnerKind.ManualBind ? JournalOwner.Manual : JournalOwner.ForVm(Id, Owner),
            Mode = Mode,
            State = State,
            Started = Started,
            Entries = Entries,
        };
    }
}

/// <summary>The journal's JSON, generated at build time (the first release's shape: camelCase, kebab-case enums).</summary>
[JsonSerializable(typeof(JournalDocument))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;
