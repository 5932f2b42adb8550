using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Cli.Rendering;

/// <summary>
/// The JSON shapes of `list` and `groups` (contracts other tools read; README, issue 2):
/// `list --all --json` {"devices":[DEVICE...]}, `list --json` {"gpus":[{"slot","bootVga","functions","virtualFunctions"}]},
/// `groups --json` {"groups":[{"id","type","devices","viable","reason"}]}.
/// </summary>
/// <remarks>
/// Written field by field with Utf8JsonWriter, in the layout <see cref="Json.Shapes"/> gives: tools
/// call `list --json` once per question, and the serializer's per-type set-up cost about 50 ms at each
/// start, a third of the process.
/// </remarks>
internal static class InventoryJson
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void WriteDevices(TextWriter output, IReadOnlyList<PciFunction> functions) =>
        Write(output, w =>
        {
            w.WriteStartArray("devices");
            foreach (var f in functions)
            {
                WriteDevice(w, f);
            }

            w.WriteEndArray();
        });

    public static void WriteGpus(TextWriter output, IReadOnlyList<Gpu> gpus) =>
        Write(output, w =>
        {
            w.WriteStartArray("gpus");
            foreach (var gpu in gpus)
            {
                w.WriteStartObject();
                w.WriteString("slot", gpu.Slot.ToString());
                w.WriteBoolean("bootVga", gpu.BootVga);
                w.WriteStartArray("functions");
                foreach (var f in gpu.Functions)
                {
                    WriteDevice(w, f);
                }

                w.WriteEndArray();

                // Additive (issue 15): SR-IOV virtual functions of the GPU, never among its functions.
                w.WriteStartArray("virtualFunctions");
                foreach (var f in gpu.VirtualFunctions)
                {
                    WriteDevice(w, f);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });

    public static void WriteGroups(TextWriter output, HostInventory inventory) =>
        Write(output, w =>
        {
            w.WriteStartArray("groups");
            foreach (var group in inventory.Groups)
            {
                var viability = inventory.Viability(group);
                w.WriteStartObject();
                w.WriteNumber("id", group.Id);
                WriteStringOrNull(w, "type", group.Type);
                w.WriteStartArray("devices");
                foreach (var member in group.Members)
                {
                    w.WriteStringValue(member.ToString());
                }

                w.WriteEndArray();
                w.WriteBoolean("viable", viability.Viable);
                w.WriteString("reason", viability.Reason);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });

    /// <summary>DEVICE: ids as 4 lowercase hex digits, the class as 6; null is unbound, not set or unknown.</summary>
    private static void WriteDevice(Utf8JsonWriter w, PciFunction f)
    {
        w.WriteStartObject();
        w.WriteString("address", f.Address.ToString());
        WriteStringOrNull(w, "vendorId", Hex4(f.VendorId));
        WriteStringOrNull(w, "deviceId", Hex4(f.DeviceId));
        WriteStringOrNull(w, "subsystemVendorId", Hex4(f.SubsystemVendorId));
        WriteStringOrNull(w, "subsystemDeviceId", Hex4(f.SubsystemDeviceId));
        WriteStringOrNull(w, "classCode", f.Class?.Hex);
        WriteStringOrNull(w, "vendorName", f.VendorName);
        WriteStringOrNull(w, "deviceName", f.DeviceName);
        WriteStringOrNull(w, "driver", f.Driver);
        WriteStringOrNull(w, "driverOverride", f.DriverOverride);
        if (f.IommuGroup is int group)
        {
            w.WriteNumber("iommuGroup", group);
        }
        else
        {
            w.WriteNull("iommuGroup");
        }

        if (f.ResetMethods is { } methods)
        {
            w.WriteStartArray("resetMethods");
            foreach (var method in methods)
            {
                w.WriteStringValue(method);
            }

            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("resetMethods");
        }

        if (f.Flr is bool flr)
        {
            w.WriteBoolean("flr", flr);
        }
        else
        {
            w.WriteNull("flr");
        }

        w.WriteBoolean("bootVga", f.BootVga == true);
        w.WriteBoolean("hasRom", f.HasRom);
        WriteStringOrNull(w, "physicalFunction", f.PhysicalFunction?.ToString());

        WriteResizableBars(w, f.ResizableBars);
        w.WriteEndObject();
    }

    /// <summary>"resizableBars":[{"index","current","supported"}] in bytes; [] when none or unknown (issue 15).</summary>
    private static void WriteResizableBars(Utf8JsonWriter w, IReadOnlyList<ResizableBar>? bars)
    {
        w.WriteStartArray("resizableBars");
        foreach (var bar in bars ?? [])
        {
            w.WriteStartObject();
            w.WriteNumber("index", bar.Index);
            if (bar.Current is long current)
            {
                w.WriteNumber("current", current);
            }
            else
            {
                w.WriteNull("current");
            }

            w.WriteStartArray("supported");
            foreach (var size in bar.Supported)
            {
                w.WriteNumberValue(size);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static string? Hex4(int? value) => value?.ToString("x4", CultureInfo.InvariantCulture);

    private static void Write(TextWriter output, Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        output.Write(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        output.WriteLine();
    }
}
