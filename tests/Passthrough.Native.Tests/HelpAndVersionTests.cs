using System.CommandLine;
using System.Reflection;
using NUnit.Framework;
using Passthrough.Cli;

namespace Passthrough.Native.Tests;

/// <summary>`--help` of every verb and sub-verb, taken from the command tree itself so a new verb is covered too.</summary>
[Parallelizable(ParallelScope.All)]
public class HelpAndVersionTests
{
    /// <summary>Every command path below the root (e.g. "xml add-gpu"), and the root itself ("").</summary>
    public static IEnumerable<string> CommandPaths()
    {
        var root = PassthroughCli.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null));
        var paths = new List<string> { string.Empty };
        Walk(root, string.Empty, paths);
        return paths;
    }

    private static void Walk(Command command, string prefix, List<string> paths)
    {
        // Hidden verbs (`man` for make man) stay out of the top-level help, but their own --help works too.
        foreach (var sub in command.Subcommands)
        {
            var path = (prefix + " " + sub.Name).Trim();
            paths.Add(path);
            Walk(sub, path, paths);
        }
    }

    [Test]
    public void The_command_tree_has_the_verbs_a_user_knows()
    {
        Assert.That(CommandPaths(), Is.SupersetOf(new[] { "list", "groups", "doctor", "capture expand", "xml add-gpu", "xml lint", "rom inspect", "rom fix", "setup plan", "hooks install", "hook qemu", "man" }));
    }

    [TestCaseSource(nameof(CommandPaths))]
    public void I_get_the_same_help_from_the_native_binary(string path)
    {
        string[] args = [.. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"];

        var result = NativeBinary.AssertSameAsInProcess(args);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.StartWith("Description:").And.Contain("Usage:\n  passthrough " + path).And.Contain("--help"));
        Assert.That(result.Stderr, Is.Empty);
    }

    [Test]
    public void I_get_the_version_of_this_source_from_the_native_binary()
    {
        var expected = typeof(PassthroughCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        var result = NativeBinary.Run("--version");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(expected + "\n"), "a binary built from other sources than these tests: run `make build`");
        Assert.That(result.Stderr, Is.Empty);
    }
}
