namespace Passthrough.Binding;

/// <summary>How the hook treats a VM's devices (the mode attribute of &lt;passthrough:config&gt;).</summary>
public enum PassthroughMode
{
    /// <summary>Devices are bound to vfio-pci at boot; the hook only verifies.</summary>
    Static,

    /// <summary>The host desktop runs on another GPU: rebind before start, give back after stop.</summary>
    Dynamic,

    /// <summary>The GPU is the host's display: also stop the display manager, consoles, framebuffer and modules.</summary>
    SingleGpu,
}

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
}
