using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>
/// list, groups, doctor and capture on every fixture host, each host expanded by the native binary's own
/// `capture expand`, and each output the same as the in-process run's.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class InventoryTests
{
    private static readonly Dictionary<string, string> Captures = new(FixtureHosts.Names.Select(n => KeyValuePair.Create(n, FixtureHosts.PathOf(n))))
    {
        ["workstation"] = FixtureHosts.WorkstationPath,
    };

    private TempDirectory _dir = null!;
    private readonly Dictionary<string, string> _roots = [];

    public static IEnumerable<string> Hosts => [.. FixtureHosts.Names, "workstation"];

    public static IEnumerable<TestCaseData> Commands()
    {
        string[][] commands =
        [
            ["list"], ["list", "--all"], ["list", "--json"], ["list", "--all", "--json"],
            ["groups"], ["groups", "--json"],
            ["doctor"], ["doctor", "--json"],
        ];
        foreach (var host in Hosts)
        {
            foreach (var command in commands)
            {
                yield return new TestCaseData(host, command).SetArgDisplayNames(host, string.Join(' ', command));
            }
        }
    }

    [OneTimeSetUp]
    public void ExpandEveryHostWithTheNativeBinary()
    {
        _dir = new TempDirectory("passthrough-native-hosts");
        foreach (var (name, capture) in Captures)
        {
            var root = _dir.Combine(name);
            var expand = NativeBinary.Run("capture", "expand", capture, root);
            Assert.That(expand.ExitCode, Is.Zero, $"capture expand {name}: {expand}");
            Assert.That(expand.Stdout + expand.Stderr, Does.Not.Contain("   at "));
            _roots[name] = root;
        }
    }

    [OneTimeTearDown]
    public void RemoveHosts() => _dir.Dispose();

    [TestCaseSource(nameof(Commands))]
    public void I_get_the_same_inventory_from_the_native_binary(string host, string[] command)
    {
        var result = NativeBinary.AssertSameAsInProcess(["--root", _roots[host], .. command]);

        Assert.That(result.ExitCode, Is.AnyOf(0, 1, 3), result.ToString());
        Assert.That(result.Stdout + result.Stderr, Is.Not.Empty);
    }

    [TestCaseSource(nameof(Hosts))]
    public void I_can_save_an_expanded_host_and_expand_the_same_sys_and_proc_again(string host)
    {
        using var dir = new TempDirectory("passthrough-native-save");
        var save = NativeBinary.AssertSameAsInProcess("--root", _roots[host], "capture", "save", "-o", dir.Combine("saved.host"));
        var expand = NativeBinary.Run("capture", "expand", dir.Combine("saved.host"), dir.Combine("tree"));

        Assert.That(save.ExitCode, Is.Zero, save.ToString());
        Assert.That(expand.ExitCode, Is.Zero, expand.ToString());
        // A capture records /sys and /proc (files and links; an empty directory carries nothing passthrough reads).
        Assert.That(KernelEntries(dir.Combine("tree")), Is.EqualTo(KernelEntries(_roots[host])).And.Not.Empty);
    }

    // A capture records the PCI and IOMMU state, not who has a device open: a fixture's holders (/proc/PID, and
    // the drm/sound children and classes whose device nodes they hold) are not in it.
    private static IEnumerable<string> KernelEntries(string root) =>
        Tree(root).Where(e => e.Split(' ', 3) is [not "dir", var path, _]
            && (path.StartsWith("sys/", StringComparison.Ordinal) || (path.StartsWith("proc/", StringComparison.Ordinal) && !char.IsAsciiDigit(path[5])))
            && !path.StartsWith("sys/class/drm/", StringComparison.Ordinal) && !path.StartsWith("sys/class/sound/", StringComparison.Ordinal)
            && !path.Contains("/drm/", StringComparison.Ordinal) && !path.Contains("/sound/", StringComparison.Ordinal));

    [TestCaseSource(nameof(Hosts))]
    public void I_get_the_same_tree_from_the_native_and_the_in_process_expand(string host)
    {
        using var dir = new TempDirectory("passthrough-native-expand");
        var inProcess = NativeBinary.InProcess(null, "capture", "expand", Captures[host], dir.Combine("tree"));

        Assert.That(inProcess.ExitCode, Is.Zero, inProcess.ToString());
        Assert.That(Tree(_roots[host]), Is.EqualTo(Tree(dir.Combine("tree"))));
    }

    [Test]
    public void I_get_the_gpu_of_the_workstation_listed()
    {
        var result = NativeBinary.Run("--root", _roots["workstation"], "list");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("GPU 0000:01:00: NVIDIA Corporation TU104 [GeForce RTX 2070 SUPER]").And.Contain("0000:01:00.3"));
    }

    /// <summary>Every file, link and directory under a tree with its contents or target (links are not followed: sysfs has cycles).</summary>
    private static List<string> Tree(string root)
    {
        var entries = new List<string>();
        Walk(root, root, entries);
        entries.Sort(StringComparer.Ordinal);
        return entries;
    }

    private static void Walk(string root, string directory, List<string> entries)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(directory))
        {
            var info = new FileInfo(path);
            var relative = Path.GetRelativePath(root, path);
            if (info.LinkTarget is { } target)
            {
                entries.Add($"link {relative} -> {target}");
            }
            else if (Directory.Exists(path))
            {
                entries.Add($"dir {relative}");
                Walk(root, path, entries);
            }
            else
            {
                entries.Add($"file {relative} = {File.ReadAllText(path)}");
            }
        }
    }
}
