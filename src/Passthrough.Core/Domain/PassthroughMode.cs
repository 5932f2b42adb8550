using Passthrough.Errors;

namespace Passthrough.Domain;

/// <summary>How our hook treats a VM's devices (the mode attribute of &lt;passthrough:config&gt;).</summary>
public enum PassthroughMode
{
    /// <summary>Devices are bound to vfio-pci at boot; the hook only verifies.</summary>
    Static,

    /// <summary>The host desktop runs on another GPU: rebind before start, give back after stop.</summary>
    Dynamic,

    /// <summary>The GPU is the host's display: also stop the display manager, consoles, framebuffer and modules.</summary>
    SingleGpu,
}

/// <summary>The one spelling of a mode, as the XML, the options and the JSON write it.</summary>
public static class PassthroughModes
{
    public static string Name(this PassthroughMode mode) => mode switch
    {
        PassthroughMode.Static => "static",
        PassthroughMode.Dynamic => "dynamic",
        _ => "single-gpu",
    };

    public static bool TryParse(string? text, out PassthroughMode mode)
    {
        switch (text)
        {
            case "static": mode = PassthroughMode.Static; return true;
            case "dynamic": mode = PassthroughMode.Dynamic; return true;
            case "single-gpu": mode = PassthroughMode.SingleGpu; return true;
            default: mode = default; return false;
        }
    }

    /// <summary>The mode, or null when <paramref name="text"/> is null or not a mode.</summary>
    public static PassthroughMode? ParseOrNull(string? text) => TryParse(text, out var mode) ? mode : null;

    /// <summary>The mode of an option such as --mode; anything else is an input error naming <paramref name="what"/>.</summary>
    public static PassthroughMode Parse(string text, string what) =>
        TryParse(text, out var mode)
            ? mode
            : throw PassthroughException.Input($"{what} {text}: not a mode.", "Use static, dynamic or single-gpu.");
}
