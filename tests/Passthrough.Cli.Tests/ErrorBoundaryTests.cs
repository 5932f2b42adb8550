using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests;

public class ErrorBoundaryTests
{
    [Test]
    public void I_get_a_one_line_error_and_exit_2_for_a_root_that_does_not_exist()
    {
        var result = CliRun.Run("--root", "/no/such/dir", "list");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("--root /no/such/dir: no such directory"));
        Assert.That(result.Stderr, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(result.Stdout, Is.Empty);
    }

    [Test]
    public void I_get_exit_2_and_a_usage_hint_for_an_unknown_option()
    {
        var result = CliRun.Run("list", "--bogus");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stderr, Does.Contain("--bogus").And.Contain("--help"));
    }

    [Test]
    public void I_get_exit_3_when_the_host_has_no_iommu_groups()
    {
        using var root = new TempDirectory();
        Directory.CreateDirectory(root.Combine("sys", "bus", "pci", "devices"));

        var result = CliRun.Run("--root", root.Path, "groups");

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(result.Stderr, Does.Contain("no IOMMU groups"));
    }
}
