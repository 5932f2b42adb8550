using System.Text;
using Passthrough.Adapters.Native;
using Passthrough.Diagnostics;

namespace Passthrough.Adapters.Logs;

/// <summary>The kernel log as read, or why it could not be read.</summary>
public sealed record KernelLogResult(KernelLog? Log, string? Problem, string Source);

/// <summary>
/// Reads the kernel log from ROOT/dev/kmsg (live: the character device; in a captured tree: a
/// file of kmsg records or plain `dmesg` lines), else ROOT/var/log/dmesg. The live device is
/// opened O_NONBLOCK and read record by record until EAGAIN, so the reader never waits for new
/// messages (Documentation/ABI/testing/dev-kmsg).
/// </summary>
public sealed class KernelLogReader
{
    private const int MaxBytes = 32 << 20;

    private readonly HostRoot _root;

    public KernelLogReader(HostRoot root)
    {
        _root = root;
    }

    public KernelLogResult Read()
    {
        var kmsg = _root.Path("/dev/kmsg");
        var (text, errno) = ReadNonBlocking(kmsg);
        if (text is not null)
        {
            return new KernelLogResult(KernelLog.Parse(text), null, "/dev/kmsg");
        }

        var saved = _root.Path("/var/log/dmesg");
        if (errno == LibC.ENoEnt && File.Exists(saved))
        {
            var (savedText, _) = ReadNonBlocking(saved);
            if (savedText is not null)
            {
                return new KernelLogResult(KernelLog.Parse(savedText), null, "/var/log/dmesg");
            }
        }

        var problem = errno switch
        {
            LibC.EAcces or LibC.EPerm => $"{kmsg} is not readable (permission denied: reading the kernel log needs root when kernel.dmesg_restrict is 1)",
            LibC.ENoEnt => $"{kmsg} does not exist",
            _ => $"{kmsg} could not be read ({LibC.Describe(errno)})",
        };
        return new KernelLogResult(null, problem, "/dev/kmsg");
    }

    /// <summary>Reads a file or /dev/kmsg to its end without blocking; (null, errno) when it cannot be opened.</summary>
    private static (string? Text, int Errno) ReadNonBlocking(string path)
    {
        var fd = LibC.Open(path, LibC.ORdOnly | LibC.ONonBlock);
        if (fd < 0)
        {
            return (null, LibC.Errno);
        }

        try
        {
            var output = new MemoryStream();
            var buffer = new byte[16384];
            while (output.Length < MaxBytes)
            {
                var n = LibC.Read(fd, buffer);

                if (n > 0)
                {
                    output.Write(buffer, 0, n);
                    continue;
                }

                if (n == 0)
                {
                    break;
                }

                var errno = LibC.Errno;
                if (errno == LibC.EPipe)
                {
                    // EPIPE: the ring buffer overwrote records we had not read yet; go on with the next one.
                    continue;
                }

                if (errno == LibC.EAgain)
                {
                    break;
                }

                return output.Length > 0 ? (Encoding.UTF8.GetString(output.ToArray()), 0) : (null, errno);
            }

            return (Encoding.UTF8.GetString(output.ToArray()), 0);
        }
        finally
        {
            LibC.Close(fd);
        }
    }
}
