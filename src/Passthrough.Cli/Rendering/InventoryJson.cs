using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Passthrough.Cli.Rendering;

/// <summary>`list --all --json`: {"devices":[DEVICE...]}.</summary>
internal sealed record DeviceListJson(IReadOnlyList<DeviceJson> Devices);

/// <summary>`list --json`: {"gpus":[{"slot","bootVga","functions":[DEVICE...]}]}.</summary>
internal sealed record GpuListJson(IReadOnlyList<GpuJson> Gpus);

internal sealed record GpuJson(string Slot, bool BootVga, IReadOnlyList<DeviceJson> Functions);

/// <summary>`groups --json`: {"groups":[{"id","type","devices","viable","reason"}]}.</summary>
internal sealed record GroupListJson(IReadOnlyList<GroupJson> Groups);

internal sealed record GroupJson(int Id, string? Type, IReadOnlyList<string> Devices, bool Viable, string Reason);

/// <summary>
/// Serializers generated at build time for the inventory shapes: `list --json` runs once per
/// call from other tools, and reflection-based serialization cost it tens of milliseconds at each start.
/// Same settings as <see cref="Json.Options"/>, so the output is the same bytes.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(DeviceListJson))]
[JsonSerializable(typeof(GpuListJson))]
[JsonSerializable(typeof(GroupListJson))]
internal sealed partial class InventoryJsonContext : JsonSerializerContext
{
    /// <summary>The context with <see cref="Json.Options"/>' encoder (names keep their '+' and '&amp;').</summary>
    public static InventoryJsonContext Relaxed { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
