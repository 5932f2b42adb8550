using NUnit.Framework;
using Passthrough.Cli;
using Passthrough.Testing;

namespace Passthrough.Tests.Verbs;

/// <summary>Verbs are found by their class name, and only the one asked for is built.</summary>
public class VerbRegistryTests
{
    [Test]
    public void Every_verb_class_is_the_verb_its_name_says()
    {
        using var output = new StringWriter();
        var context = new CliContext(output, output);

        foreach (var (name, type) in PassthroughCli.Verbs)
        {
            var command = ((IVerb)Activator.CreateInstance(type)!).Create(context);
            Assert.That(command.Name, Is.EqualTo(name), type.Name);
        }

        var verbTypes = typeof(PassthroughCli).Assembly.GetTypes().Where(t => typeof(IVerb).IsAssignableFrom(t) && !t.IsInterface);
        Assert.That(PassthroughCli.Verbs.Select(v => v.Type), Is.EquivalentTo(verbTypes), "a verb class not named ...Verb would be lost");
        Assert.That(PassthroughCli.Verbs.Select(v => v.Name), Is.SupersetOf(new[] { "list", "groups", "doctor", "hook", "xml", "setup" }));
    }

    [TestCase(new[] { "list" }, "list")]
    [TestCase(new[] { "--root", "/tmp/x", "groups", "--json" }, "groups")]
    [TestCase(new[] { "--root=/tmp/x", "doctor" }, "doctor")]
    [TestCase(new[] { "--help" }, null)]
    [TestCase(new[] { "--version" }, null)]
    [TestCase(new string[0], null)]
    public void The_verb_is_the_first_argument_that_is_not_a_global_option(string[] args, string? verb) =>
        Assert.That(PassthroughCli.VerbNameIn(args), Is.EqualTo(verb));

    [Test]
    public void I_see_every_verb_in_the_help_and_a_typo_is_answered_with_usage()
    {
        var help = CliRun.Run("--help");
        var typo = CliRun.Run("lsit");

        Assert.That(help.ExitCode, Is.EqualTo(0), help.ToString());
        using var quiet = new StringWriter();
        foreach (var (name, type) in PassthroughCli.Verbs)
        {
            var hidden = ((IVerb)Activator.CreateInstance(type)!).Create(new CliContext(quiet, quiet)).Hidden;
            Assert.That(help.Stdout, hidden ? Does.Not.Contain($"  {name} ") : Does.Contain($"  {name} "), name);
        }

        Assert.That(typo.ExitCode, Is.EqualTo(2), typo.ToString());
        Assert.That(typo.Stderr, Does.Contain("lsit"));
    }

    [Test]
    public void I_get_a_verbs_own_help_when_only_that_verb_is_built()
    {
        var result = CliRun.Run("--root", "/nonexistent", "list", "--help");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("--all").And.Contain("--json").And.Contain("--root"));
    }
}
