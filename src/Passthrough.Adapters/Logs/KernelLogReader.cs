using System.Runtime.InteropServices;
using System.Text;
using Passthrough.Diagnostics;

namespace Passthrough.Logs;

/// <summary>The kernel log as read, or why it could not be read.</summary>
public sealed record KernelLogResult(KernelLog? Log, string? Problem, string Source);

/// <summary>
/// Reads the kernel log from ROOT/dev/kmsg (live: the character device; in a captured tree: a
/// file of kmsg records or plain `dmesg` lines), else ROOT/var/log/dmesg. The live device is
/// opened O_NONBLOCK and read record by record until EAGAIN, so the reader never waits for new
/// messages (Documentation/ABI/testing/dev-kmsg).
/// </summary>
public sealed partial class KernelLogReader
{
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int EAgain = 11;
    private const int EPipe = 32;
    private const int EIntr = 4;
    private const int EAcces = 13;
    private const int EPerm = 1;
    private const int ENoEnt = 2;
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
        if (errno == ENoEnt && File.Exists(saved))
        {
            var (savedText, _) = ReadNonBlocking(saved);
            if (savedText is not null)
            {
                return new KernelLogResult(KernelLog.Parse(savedText), null, "/var/log/dmesg");
            }
        }

        var problem = errno switch
        {
            EAcces or EPerm => $"{kmsg} is not readable (permission denied: reading the kernel log needs root when kernel.dmesg_restrict is 1)",
            ENoEnt => $"{kmsg} does not exist",
            _ => $"{kmsg} could not be read ({Marshal.GetPInvokeErrorMessage(errno)})",
        };
        return new KernelLogResult(null, problem, "/dev/kmsg");
    }

    /// <summary>Reads a file or /dev/kmsg to its end without blocking; (null, errno) when it cannot be opened.</summary>
    private static (string? Text, int Errno) ReadNonBlocking(string path)
    {
        var fd = Open(path, ONonBlock | OCloExec);
        if (fd < 0)
        {
            return (null, Marshal.GetLastPInvokeError());
        }

        try
        {
            var output = new MemoryStream();
            var buffer = new byte[16384];
            while (output.Length < MaxBytes)
            {
                nint n;
                unsafe
                {
                    fixed (byte* p = buffer)
                    {
                        n = ReadFd(fd, p, buffer.Length);
                    }
                }

                if (n > 0)
                {
                    output.Write(buffer, 0, (int)n);
                    continue;
                }

                if (n == 0)
                {
                    break;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno is EPipe or EIntr)
                {
                    // EPIPE: the ring buffer overwrote records we had not read yet; go on with the next one.
                    continue;
                }

                if (errno == EAgain)
                {
                    break;
                }

                return output.Length > 0 ? (Encoding.UTF8.GetString(output.ToArray()), 0) : (null, errno);
            }

            return (Encoding.UTF8.GetString(output.ToArray()), 0);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadFd(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
