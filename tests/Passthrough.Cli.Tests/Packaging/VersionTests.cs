using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Packaging;

/// <summary>One version: what `passthrough --version` prints is what the tarball and packages are named after.</summary>
public class VersionTests
{
    [Test]
    public async Task I_see_the_version_the_packages_carry_in_passthrough_version()
    {
        var packaging = await ProcessRunner.Instance.RunAsync(Path.Join(RepoPaths.Root, "src", "packaging", "version"), []);
        var program = await ProcessRunner.Instance.RunAsync(Path.Join(AppContext.BaseDirectory, "passthrough"), ["--version"]);

        Assert.That(packaging.ExitCode, Is.Zero, packaging.Stderr);
        Assert.That(packaging.Stdout.Trim(), Does.Match(@"^\d+\.\d+\.\d+$"));
        Assert.That(program.Stdout.Trim(), Is.EqualTo(packaging.Stdout.Trim()), "no +commit suffix, no other number");
    }
}
