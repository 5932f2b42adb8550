using System.Collections.Concurrent;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>One temp directory for the run, with host trees the native binary expanded once and tests only read.</summary>
[SetUpFixture]
public sealed class Session
{
    private static readonly Lazy<TempDirectory> Directory = new(() => new TempDirectory("passthrough-native"));
    private static readonly ConcurrentDictionary<string, Lazy<string>> Hosts = new();

    /// <summary>The bundled example host of `make demo` (a GPU at 0000:01:00 with four functions), as a tree for --root.</summary>
    public static string Workstation => Host("workstation", FixtureHosts.WorkstationPath);

    /// <summary>A committed fixture host, tests/fixtures/hosts/NAME.host, as a tree for --root.</summary>
    public static string Fixture(string name) => Host(name, FixtureHosts.PathOf(name));

    /// <summary>A fresh copy of the workstation under <paramref name="root"/>, for a test that writes (expanded by the native binary).</summary>
    public static string ExpandWorkstation(string root)
    {
        var expand = NativeBinary.Run("capture", "expand", FixtureHosts.WorkstationPath, root);
        Assert.That(expand.ExitCode, Is.Zero, $"capture expand {FixtureHosts.WorkstationPath}: {expand}");
        return root;
    }

    private static string Host(string name, string capture) => Hosts.GetOrAdd(name, _ => new Lazy<string>(() =>
    {
        var root = Directory.Value.Combine("hosts", name);
        var expand = NativeBinary.Run("capture", "expand", capture, root);
        Assert.That(expand.ExitCode, Is.Zero, $"capture expand {capture}: {expand}");
        return root;
    })).Value;

    [OneTimeTearDown]
    public void RemoveTheTempDirectory()
    {
        if (Directory.IsValueCreated)
        {
            Directory.Value.Dispose();
        }
    }
}
