using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Passthrough.Cli.Rendering;

/// <summary>JSON output: camelCase, indented, nulls kept (the shapes are contracts other tools read).</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static void Write<T>(TextWriter output, T value)
    {
        output.Write(JsonSerializer.Serialize(value, Options));
        output.WriteLine();
    }
}
