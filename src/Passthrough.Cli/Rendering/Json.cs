using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Passthrough.Boot;
using Passthrough.Diagnostics;

namespace Passthrough.Cli.Rendering;

/// <summary>JSON output: camelCase, indented, nulls kept (the shapes are contracts other tools read).</summary>
internal static class Json
{
    /// <summary>
    /// The serializers generated for the --json shapes (JsonShapes.cs), with these options. Enums are written
    /// kebab-case through one generic converter per enum (the non-generic converter needs run-time code).
    /// </summary>
    public static readonly CliJsonContext Shapes = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters =
        {
            new JsonStringEnumConverter<Severity>(JsonNamingPolicy.KebabCaseLower),
            new JsonStringEnumConverter<Bootloader>(JsonNamingPolicy.KebabCaseLower),
            new JsonStringEnumConverter<UkiBuilder>(JsonNamingPolicy.KebabCaseLower),
            new JsonStringEnumConverter<InitramfsGenerator>(JsonNamingPolicy.KebabCaseLower),
        },
    });

    public static void Write<T>(TextWriter output, T value, JsonTypeInfo<T> type)
    {
        output.Write(JsonSerializer.Serialize(value, type));
        output.WriteLine();
    }
}
