using NUnit.Framework;
using Passthrough.Cli;
using Passthrough.Testing;

namespace Passthrough.Tests.Verbs;

/// <summary>Every verb class is in the verb table under its class name, and only the one asked for is built.</summary>
public class VerbRegistryTests
{
    [Test]
    public void Every_verb_class_is_the_verb_its_name_says()
    {
        using var output = new StringWriter();
        var context = new CliContext(output, output);

        var tableTypes = new List<Type>();
        foreach (var (name, create) in PassthroughCli.Verbs)
        {
            var verb = create();
            var type = verb.GetType();
            tableTypes.Add(type);
            Assert.That(type.Name, Is.EqualTo(char.ToUpperInvariant(name[0]) + name[1..] + "Verb"), name);
            Assert.That(verb.Create(context).Name, Is.EqualTo(name), type.Name);
        }

        // The test may use reflection; the product may not: a verb class missing from the table would be lost.
        var verbTypes = typeof(PassthroughCli).Assembly.GetTypes().Where(t => typeof(IVerb).IsAssignableFrom(t) && !t.IsInterface);
        Assert.That(tableTypes, Is.EquivalentTo(verbTypes), "every IVerb class is in PassthroughCli.Verbs");
        Assert.That(PassthroughCli.Verbs.Select(v => v.Name), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal), "help order");
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
        foreach (var (name, create) in PassthroughCli.Verbs)
        {
            var hidden = create().Create(new CliContext(quiet, quiet)).Hidden;
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
