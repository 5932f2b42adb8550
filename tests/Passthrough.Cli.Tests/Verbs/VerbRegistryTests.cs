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
    public void Every_verb_hidden_or_not_has_a_description_and_its_own_help()
    {
        var commands = new List<(string Path, System.CommandLine.Command Command)>();
        void Walk(System.CommandLine.Command command, string prefix)
        {
            foreach (var sub in command.Subcommands)
            {
                var path = (prefix + " " + sub.Name).Trim();
                commands.Add((path, sub));
                Walk(sub, path);
            }
        }

        using var quiet = new StringWriter();
        Walk(PassthroughCli.BuildRoot(new CliContext(quiet, quiet)), string.Empty);

        Assert.That(commands.Where(c => c.Command.Hidden).Select(c => c.Path), Does.Contain("man"), "a hidden verb is walked too");
        foreach (var (path, command) in commands)
        {
            var help = CliRun.Run([.. path.Split(' '), "--help"]);

            Assert.That(command.Description, Is.Not.Null.And.Not.Empty, path);
            Assert.That(help.ExitCode, Is.EqualTo(0), help.ToString());
            Assert.That(help.Stdout, Does.StartWith("Description:\n  " + command.Description!.Split(' ')[0]).And.Match("Usage:\n  \\S+ " + System.Text.RegularExpressions.Regex.Escape(path) + "[ \n]"), path);
            Assert.That(help.Stderr, Is.Empty, path);
        }
    }

    [Test]
    public void The_hidden_man_verb_has_help_but_stays_out_of_the_top_level_help_and_the_completions()
    {
        var man = CliRun.Run("man", "--help");
        var help = CliRun.Run("--help");
        var bash = CliRun.Run("completion", "bash");
        var fish = CliRun.Run("completion", "fish");

        Assert.That(man.ExitCode, Is.EqualTo(0), man.ToString());
        Assert.That(man.Stdout, Does.Contain("Write the man pages").And.Contain("--output <DIR> (REQUIRED)"), "help without the required --output");
        Assert.That(help.Stdout, Does.Not.Contain("  man "));
        Assert.That(bash.Stdout, Does.Contain(" hook hooks list new ").And.Not.Contain(" man "));
        Assert.That(fish.Stdout, Does.Contain("-a xml -d").And.Not.Contain("-a man "));
    }

    [Test]
    public void The_hook_entry_points_help_says_what_libvirt_passes_and_what_it_does()
    {
        var result = CliRun.Run("hook", "qemu", "--help");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("/etc/libvirt/hooks/qemu").And.Contain("domain XML on standard input"));
        Assert.That(result.Stdout, Does.Contain("prepare begin binds").And.Contain("release end gives them back"));
        Assert.That(result.Stdout, Does.Contain(" hook qemu <NAME> <OP> <SUBOP> [<EXTRA>...]"));
    }

    [Test]
    public void I_get_a_verbs_own_help_when_only_that_verb_is_built()
    {
        var result = CliRun.Run("--root", "/nonexistent", "list", "--help");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("--all").And.Contain("--json").And.Contain("--root"));
    }
}
