using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using NUnit.Framework;

namespace Passthrough.Testing;

/// <summary>
/// A real part a test runs against (a program, a daemon, a kernel interface, root). On a developer's
/// machine that lacks it the test is ignored, saying what to install; in CI (CI=true) the run fails
/// instead, so a green CI run never hides a whole layer that was skipped.
/// </summary>
public static class RealPart
{
    /// <summary>CI=true (GitHub Actions, GitLab and most runners set it; .ci/run's callers do).</summary>
    public static bool InCi =>
        Environment.GetEnvironmentVariable("CI") is { } ci && (ci.Equals("true", StringComparison.OrdinalIgnoreCase) || ci == "1");

    /// <summary>Goes on when <paramref name="present"/>; otherwise ignores the test (fails it in CI).</summary>
    /// <param name="what">What is missing, e.g. "/usr/bin/dbus-daemon is not installed".</param>
    /// <param name="howToGet">What to do about it, e.g. "apt-get install -y dbus (tests/install-deps does)".</param>
    public static void Require([DoesNotReturnIf(false)] bool present, string what, string howToGet)
    {
        if (!present)
        {
            Missing(what, howToGet);
        }
    }

    /// <summary>The program at <paramref name="path"/> from Debian's <paramref name="package"/>.</summary>
    public static void RequireProgram(string path, string package) =>
        Require(File.Exists(path), $"{path} is not installed", $"apt-get install -y {package} (tests/install-deps does)");

    /// <summary>Real libvirtd, /dev/kmsg as a writer, the journald socket: CI runs the tests as root.</summary>
    public static void RequireRoot(string why) =>
        Require(Environment.IsPrivilegedProcess, why + " needs root", "run the tests as root (CI does)");

    /// <summary>Ignores the test (fails it in CI) because a real part is missing or did not come up.</summary>
    [DoesNotReturn]
    public static void Missing(string what, string howToGet)
    {
        if (InCi)
        {
            Assert.Fail($"CI=true, so a missing real part fails the run: {what}. {howToGet}.");
        }

        Assert.Ignore($"{what}. {howToGet}.");
        throw new UnreachableException();
    }
}
