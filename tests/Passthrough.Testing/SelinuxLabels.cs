using System.Runtime.InteropServices;
using System.Text;

namespace Passthrough.Testing;

/// <summary>Gives a fixture file an SELinux context (the security.selinux xattr `ls -Z` shows), as restorecon would.</summary>
public static partial class SelinuxLabels
{
    public static void Set(string path, string context)
    {
        var value = Encoding.UTF8.GetBytes(context + "\0");
        if (SetXattr(path, "security.selinux", value, value.Length, 0) != 0)
        {
            RealPart.Missing($"setting security.selinux on {path} failed (errno {Marshal.GetLastPInvokeError()})", "Run the tests as root on a file system with extended attributes (ext4, xfs, tmpfs)");
        }
    }

    [LibraryImport("libc", EntryPoint = "setxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetXattr(string path, string name, byte[] value, nint size, int flags);
}
