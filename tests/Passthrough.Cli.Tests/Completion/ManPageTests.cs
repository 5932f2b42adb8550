using System.CommandLine;
using System.Diagnostics;
using NUnit.Framework;
using Passthrough.Cli;
using Passthrough.Testing;

namespace Passthrough.Tests.Completion;

/// <summary>The man pages `passthrough man` writes from the command tree, checked by groff and man.</summary>
public class ManPageTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void Make() => _dir = new TempDirectory("passthrough-man");

    [TearDown]
    public void Remove() => _dir.Dispose();

    private static RootCommand Tree() => PassthroughCli.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null));

    [Test]
    public void Every_verb_argument_and_option_has_help_text()
    {
        var missing = new List<string>();
        Walk(Tree(), "passthrough");

        Assert.That(missing, Is.Empty, "help text missing (it becomes the man page and the shell's description)");

        void Walk(Command command, string path)
        {
            if (string.IsNullOrWhiteSpace(command.Description))
            {
                missing.Add(path);
            }

            missing.AddRange(command.Options.Where(o => string.IsNullOrWhiteSpace(o.Description)).Select(o => $"{path} {o.Name}"));
            missing.AddRange(command.Arguments.Where(a => string.IsNullOrWhiteSpace(a.Description)).Select(a => $"{path} {a.Name}"));
            foreach (var sub in command.Subcommands)
            {
                Walk(sub, path + " " + sub.Name);
            }
        }
    }

    [Test]
    public void I_get_passthrough_1_and_a_page_per_verb_group_that_groff_renders_without_a_warning()
    {
        var result = CliRun.Run("man", "--output", _dir.Path);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        var root = Tree();
        var groups = root.Subcommands.Where(c => !c.Hidden && c.Subcommands.Count > 0).Select(c => $"passthrough-{c.Name}.1");
        var files = Directory.GetFiles(_dir.Path).Select(Path.GetFileName);
        Assert.That(files, Is.EquivalentTo(groups.Append("passthrough.1")));
        Assert.That(files, Is.SupersetOf(new[] { "passthrough-xml.1", "passthrough-hooks.1", "passthrough-rom.1", "passthrough-setup.1" }));

        RealPart.RequireProgram("/usr/bin/groff", "groff");
        foreach (var file in Directory.GetFiles(_dir.Path))
        {
            var (exit, output) = Run("groff", "-man", "-ww", "-z", file);
            Assert.That((exit, output), Is.EqualTo((0, string.Empty)), file);
            var text = File.ReadAllText(file);
            foreach (var section in new[] { "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "FILES", "EXIT STATUS", "SEE ALSO" })
            {
                Assert.That(text, Does.Match($"(?m)^\\.SH (GLOBAL )?{section}$"), $"{file}: {section}");
            }
        }
    }

    [Test]
    public void Every_verb_and_option_is_on_a_page_a_user_can_read()
    {
        Assert.That(CliRun.Run("man", "-o", _dir.Path).ExitCode, Is.Zero);
        RealPart.RequireProgram("/usr/bin/groff", "groff");

        foreach (var verb in Tree().Subcommands.Where(c => !c.Hidden))
        {
            var page = verb.Subcommands.Count > 0 ? $"passthrough-{verb.Name}.1" : "passthrough.1";
            var (_, rendered) = Run("groff", "-man", "-Tutf8", "-P-cbou", Path.Join(_dir.Path, page));
            var commands = verb.Subcommands.Count > 0 ? verb.Subcommands.Where(c => !c.Hidden).ToList() : [verb];
            foreach (var command in commands)
            {
                var path = verb == command ? verb.Name : $"{verb.Name} {command.Name}";
                // groff justifies filled lines with extra spaces ("passthrough  xml  fix-addresses").
                Assert.That(string.Join(' ', rendered.Split(' ', StringSplitOptions.RemoveEmptyEntries)), Does.Contain($"passthrough {path}"), page);
                foreach (var option in command.Options.Where(o => !o.Hidden))
                {
                    Assert.That(rendered, Does.Contain(option.Name), $"{page}: {path} {option.Name}");
                }
            }
        }

        var (_, main) = Run("groff", "-man", "-Tutf8", "-P-cbou", Path.Join(_dir.Path, "passthrough.1"));
        Assert.That(main, Does.Contain("See passthrough-xml(1)").And.Contain("--root DIR").And.Contain("passthrough list"));
        Assert.That(main, Does.Not.Contain("passthrough man"), "the hidden generator is not documented to users");
    }

    private static (int Exit, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}
