using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Capture;

/// <summary>
/// The committed fixture hosts are what <see cref="FixtureHosts"/> builds. After changing a builder, run
/// `UPDATE_FIXTURES=1 dotnet test tests/Passthrough.Adapters.Tests --filter FixtureFiles` and review the diff.
/// </summary>
public class FixtureFilesTests
{
    private static IEnumerable<TestCaseData> Fixtures() =>
        FixtureHosts.All
            .Select(kv => new TestCaseData(FixtureHosts.PathOf(kv.Key), kv.Value).SetArgDisplayNames(kv.Key))
            .Append(new TestCaseData(FixtureHosts.WorkstationPath, (Func<HostTreeBuilder>)FixtureHosts.Workstation).SetArgDisplayNames("workstation"));

    [TestCaseSource(nameof(Fixtures))]
    public void The_committed_fixture_text_is_what_the_builder_makes(string path, Func<HostTreeBuilder> builder)
    {
        var expected = builder().ToCapture();
        if (Environment.GetEnvironmentVariable("UPDATE_FIXTURES") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, expected);
        }

        Assert.That(File.Exists(path), Is.True, $"{path} is missing: run with UPDATE_FIXTURES=1 and review it");
        Assert.That(File.ReadAllText(path), Is.EqualTo(expected), $"{path} differs from its builder: run with UPDATE_FIXTURES=1 and review the diff");
    }
}
