using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Adapters.Sysfs;

/// <summary>How the ROM reader touches the `rom` file; tests replace it to inject kernel errors.</summary>
internal interface IRomFileAccess
{
    void WriteFlag(string path, string flag);

    byte[] ReadAll(string path, int max);
}

/// <summary>
/// Reads a PCI function's expansion ROM the sysfs way (kernel Documentation/ABI/testing/sysfs-bus-pci,
/// "rom"): write "1" to enable reads, read it, write "0" to disable it again. The disable is done
/// whatever happened in between.
/// </summary>
public sealed class SysfsRomReader
{
    /// <summary>No PCI ROM BAR is larger than 16 MiB; more is not a ROM.</summary>
    private const int MaxRomBytes = 16 * 1024 * 1024;

    private const int Eio = 5;

    private readonly HostRoot _root;
    private readonly IRomFileAccess _access;
    private readonly bool _toggle;

    /// <param name="root">The directory treated as /.</param>
    public SysfsRomReader(HostRoot root)
        : this(root, new RomFileAccess(), toggle: root.IsLiveSystem)
    {
    }

    /// <param name="toggle">Write the enable flag. Off for a captured tree under --root: there the
    /// `rom` file already holds the bytes, and writing a flag into a plain file would overwrite them.</param>
    internal SysfsRomReader(HostRoot root, IRomFileAccess access, bool toggle)
    {
        _root = root;
        _access = access;
        _toggle = toggle;
    }

    /// <summary>The ROM bytes as the kernel returns them.</summary>
    public byte[] Read(PciAddress address)
    {
        var device = _root.Path($"/sys/bus/pci/devices/{address}");
        if (!Directory.Exists(device))
        {
            throw PassthroughException.Input(
                $"No PCI device {address} ({device} does not exist).",
                "See `passthrough list` for the GPUs on this host.");
        }

        var rom = Path.Join(device, "rom");
        if (!File.Exists(rom))
        {
            throw PassthroughException.Host(
                $"{address} has no expansion ROM ({rom} does not exist).",
                "Dump the GPU's display function (.0), or download the ROM for this exact card model.");
        }

        if (!_toggle)
        {
            return ReadBytes(address, rom);
        }

        Enable(address, rom);
        byte[]? bytes = null;
        try
        {
            bytes = ReadBytes(address, rom);
        }
        finally
        {
            // Always disable again, also when the read failed: an enabled ROM BAR stays decoded.
            Disable(address, rom, throwOnFailure: bytes is not null);
        }

        return bytes;
    }

    private void Enable(PciAddress address, string rom)
    {
        try
        {
            _access.WriteFlag(rom, "1");
        }
        catch (UnauthorizedAccessException e)
        {
            throw PassthroughException.Host($"Permission denied enabling the ROM of {address} ({rom}).", "Run it as root (sudo).", e);
        }
        catch (IOException e)
        {
            throw PassthroughException.Host($"The kernel refused to enable the ROM of {address} ({rom}): {e.Message}", "Check `dmesg` for the reason.", e);
        }
    }

    private void Disable(PciAddress address, string rom, bool throwOnFailure)
    {
        try
        {
            _access.WriteFlag(rom, "0");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (throwOnFailure)
            {
                throw PassthroughException.Host(
                    $"Read the ROM of {address}, but could not disable it again: {e.Message}",
                    $"Run `echo 0 > {rom}` as root.",
                    e);
            }
        }
    }

    private byte[] ReadBytes(PciAddress address, string rom)
    {
        byte[] bytes;
        try
        {
            bytes = _access.ReadAll(rom, MaxRomBytes);
        }
        catch (IOException e) when (e.HResult == Eio || e.Message.Contains("Input/output error", StringComparison.Ordinal))
        {
            throw PassthroughException.Host(
                $"The kernel returned an I/O error reading the ROM of {address}: commonly the GPU is the boot display (the firmware shadowed its ROM) or a driver is using it.",
                "Try: dump it with the card in a secondary slot or with the integrated GPU set as primary display in the firmware; or stop what uses it and bind it to vfio-pci first, or boot once with the card not driving the console. Or download the ROM for this exact card model.",
                e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw PassthroughException.Host($"Permission denied reading the ROM of {address} ({rom}).", "Run it as root (sudo).", e);
        }
        catch (IOException e)
        {
            throw PassthroughException.Host($"Could not read the ROM of {address} ({rom}): {e.Message}", "Check `dmesg` for the reason.", e);
        }

        if (bytes.Length == 0)
        {
            throw PassthroughException.Host(
                $"The kernel returned no bytes for the ROM of {address}.",
                "The ROM is probably not readable while the GPU is the boot display or in use; see `passthrough rom dump --help`.");
        }

        return bytes;
    }

    /// <summary>The real file operations: sysfs attributes take one write and ignore the offset.</summary>
    private sealed class RomFileAccess : IRomFileAccess
    {
        public void WriteFlag(string path, string flag)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            stream.Write(System.Text.Encoding.ASCII.GetBytes(flag));
        }

        public byte[] ReadAll(string path, int max)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            using var buffer = new MemoryStream();
            var chunk = new byte[64 * 1024];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > max)
                {
                    throw new IOException($"more than {max} bytes; that is not a ROM");
                }
            }

            return buffer.ToArray();
        }
    }
}
