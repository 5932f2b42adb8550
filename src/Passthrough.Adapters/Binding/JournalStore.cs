using System.Text.Json;
using System.Text.Json.Serialization;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Files;

namespace Passthrough.Binding;

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
        AtomicFile.WriteText(PathOf(journal.Id), JsonSerializer.Serialize(journal, Json.BindingJournal) + "\n", mode: UnixFileMode.UserRead | UnixFileMode.UserWrite);

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
            return JsonSerializer.Deserialize(File.ReadAllText(path), Json.BindingJournal)
                ?? throw new JsonException("empty journal");
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

/// <summary>The journal's JSON, generated at build time (same shape as before: camelCase, kebab-case enums).</summary>
[JsonSerializable(typeof(BindingJournal))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;
