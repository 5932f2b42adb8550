using System.Text;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// The one mutating operation on sysfs: write a value to an attribute, as echo VALUE &gt; FILE does.
/// The kernel gives the write its meaning (bind, unbind, driver_override); tests put a simulated
/// kernel here that applies the same meaning to a fixture tree.
/// </summary>
public interface IKernelWriter
{
    /// <summary>Writes <paramref name="value"/> to the attribute at <paramref name="path"/> (a full path under the root).</summary>
    void Write(string path, string value);
}

/// <summary>Writes to the real kernel: one write(2) on the opened attribute, no truncation, no buffering.</summary>
public sealed class LiveKernelWriter : IKernelWriter
{
    public static LiveKernelWriter Instance { get; } = new();

    public void Write(string path, string value)
    {
        // sysfs takes a store in one write; FileMode.Open never creates or truncates the attribute.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None);
        stream.Write(Encoding.ASCII.GetBytes(value));
    }
}
