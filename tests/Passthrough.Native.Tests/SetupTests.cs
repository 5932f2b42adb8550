using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>`setup plan` on every setup fixture through the native binary: the reviewed plan, and nothing written.</summary>
[Parallelizable(ParallelScope.All)]
public class SetupTests
{
    public static IEnumerable<string> Fixtures => SetupFixtures.Names;

    [TestCaseSource(nameof(Fixtures))]
    public void I_get_the_same_setup_plan_from_the_native_binary_and_nothing_changes(string name)
    {
        using var temp = new TempDirectory("passthrough-native-setup");
        var root = SetupFixtures.Create(name, temp);
        var before = SetupFixtures.Snapshot(root);

        var text = NativeBinary.AssertSameAsInProcess("--root", root, "setup", "plan", "--slot", SetupFixtures.SlotOf(name));
        var json = NativeBinary.AssertSameAsInProcess("--root", root, "setup", "plan", "--slot", SetupFixtures.SlotOf(name), "--json");

        Assert.That(text.ExitCode, Is.Zero, text.ToString());
        Assert.That(json.ExitCode, Is.Zero, json.ToString());
        Assert.That(text.Stdout.Replace(root, "ROOT", StringComparison.Ordinal), Is.EqualTo(File.ReadAllText(Path.Join(SetupFixtures.Directory(name), "plan.golden.txt"))));
        Assert.That(SetupFixtures.Snapshot(root), Is.EqualTo(before), "plan changes nothing");
    }
}
