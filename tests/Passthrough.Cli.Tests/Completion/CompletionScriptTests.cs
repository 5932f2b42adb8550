using System.Diagnostics;
using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Binding;
using Passthrough.Binding;
using Passthrough.Cli;
using Passthrough.Cli.Completion;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Completion;

/// <summary>
/// The generated completion scripts, run by the real shells with the real program on PATH (the
/// scripts call back `passthrough completion --values` for slots and journals).
/// </summary>
public class CompletionScriptTests
{
    private TempDirectory _dir = null!;
    private string _root = null!;

    [SetUp]
    public void MakeHost()
    {
        _dir = new TempDirectory("passthrough-completion");
        _root = FixtureHosts.Expand("seed-000-proxmox-rx7900xtx", _dir.Combine("host"));
        new JournalStore(HostRoot.Open(_root)).Save(new BindingJournal { Id = "0b8a2c1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", Owner = JournalOwner.ForVm("0b8a2c1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", "win11"), Mode = PassthroughMode.Dynamic });
    }

    [TearDown]
    public void Remove() => _dir.Dispose();

    [Test]
    public void I_get_exit_2_naming_the_shells_there_are_scripts_for()
    {
        var result = CliRun.Run("completion", "tcsh");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("tcsh").And.Contain("bash, zsh, fish"));
        Assert.That(result.Stdout, Is.Empty);
    }

    [TestCase("bash")]
    [TestCase("zsh")]
    [TestCase("fish")]
    public void Each_script_is_valid_in_its_shell(string program)
    {
        RealPart.RequireProgram("/usr/bin/" + program, program);
        var file = _dir.Combine("script." + program);
        File.WriteAllText(file, Script(program));

        var (exit, output) = Shell(program, "-n", file);

        Assert.That(exit, Is.Zero, output);
    }

    [Test]
    public void Bash_completes_every_verb_sub_verb_and_option_of_the_tree_and_the_values_it_knows()
    {
        RealPart.RequireProgram("/usr/bin/bash", "bash");
        var script = Script("bash");
        var cases = new List<(string Line, string[] Expected)>
        {
            ("passthrough x", ["xml"]),
            ("passthrough doctor --s", ["--slot"]),
            ("passthrough xml add-gpu --s", ["--slot"]),
            ($"passthrough --root {_root} bind ", ["0000:03:00"]),
            ($"passthrough --root {_root} doctor --slot ", ["0000:03:00"]),
            ($"passthrough --root {_root} restore ", ["win11", "0b8a2c1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c"]),
            ("passthrough setup plan --mode ", ["static", "dynamic", "single-gpu"]),
            ("passthrough xml set --kvm-hidden ", ["on", "off"]),
            ("passthrough completion ", ["bash", "zsh", "fish"]),
            ($"passthrough rom inspect {_dir.Combine("ho")}", [_dir.Combine("host")]),
            ($"passthrough --root {_dir.Combine("ho")}", [_dir.Combine("host")]),
        };
        var tree = CommandNode.From(PassthroughCli.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null)));
        foreach (var command in tree.SelfAndDescendants())
        {
            var prefix = ("passthrough " + command.PathText).TrimEnd();
            cases.Add((prefix + " -", [.. command.Options.SelectMany(o => o.AllNames)]));
            if (command.Subcommands.Count > 0)
            {
                cases.Add((prefix + " ", [.. command.Subcommands.Select(s => s.Name)]));
            }
        }

        var driver = string.Join('\n', cases.Select(c => $"t {string.Join(' ', Words(c.Line).Select(w => "'" + w + "'"))}"));
        var (exit, output) = Shell("bash", "-c", script + """

t() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _passthrough; echo "${COMPREPLY[*]}"; }

""" + driver);

        Assert.That(exit, Is.Zero, output);
        var replies = output.Split('\n');
        Assert.That(replies, Has.Length.GreaterThanOrEqualTo(cases.Count), output);
        Assert.Multiple(() =>
        {
            for (var i = 0; i < cases.Count; i++)
            {
                Assert.That(replies[i].Split(' '), Is.SupersetOf(cases[i].Expected), cases[i].Line);
            }
        });
        Assert.That(replies[0].Split(' '), Is.EqualTo(new[] { "xml" }), "`passthrough x` offers only xml");
        Assert.That(output, Does.Not.Contain("--values").And.Not.Contain(" man "), "hidden options and verbs are not offered");
    }

    [Test]
    public void Zsh_offers_sub_verbs_with_descriptions_slots_journals_modes_and_files()
    {
        RealPart.RequireProgram("/usr/bin/zsh", "zsh");
        var path = _dir.Combine("_passthrough");
        File.WriteAllText(path, Script("zsh"));

        // compadd, _describe and _files are the completion system's; stand-ins print what the script hands them.
        var (exit, output) = Shell("zsh", "-fc", $$"""
            source '{{path}}'
            compadd() { [[ $1 == -- ]] && shift; print -r -- "add: $*" }
            _describe() { print -r -- "describe: ${(P)4}" }
            _files() { print -r -- "files $*" }
            t() { words=("$@"); CURRENT=$#words; _passthrough }
            t passthrough x
            t passthrough --root '{{_root}}' doctor --slot ''
            t passthrough --root '{{_root}}' restore ''
            t passthrough setup plan --mode ''
            t passthrough rom inspect ''
            t passthrough xml add-gpu --s
            """);

        Assert.That(exit, Is.Zero, output);
        var lines = output.Split('\n');
        Assert.That(lines[0], Does.StartWith("describe: bind:").And.Contain("xml:Edit and check libvirt domain XML"));
        Assert.That(lines[1], Is.EqualTo("add: 0000:03:00"));
        Assert.That(lines[2], Is.EqualTo("add: win11 0b8a2c1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c"));
        Assert.That(lines[3], Is.EqualTo("add: dynamic single-gpu static"));
        Assert.That(lines[4], Is.EqualTo("files "));
        Assert.That(lines[5], Does.StartWith("add: ").And.Contain(" --slot").And.Contain("--rom-bar"));
    }

    [Test]
    public void Fish_completes_verbs_options_and_slots_after_sourcing_the_script()
    {
        RealPart.RequireProgram("/usr/bin/fish", "fish");
        var path = _dir.Combine("passthrough.fish");
        File.WriteAllText(path, Script("fish"));

        var (exit, output) = Shell("fish", "-c", $"""
            source '{path}'
            complete -C 'passthrough x'; echo ==
            complete -C 'passthrough xml add-gpu --s'; echo ==
            complete -C 'passthrough --root {_root} doctor --slot '; echo ==
            complete -C 'passthrough setup plan --mode '
            """);

        Assert.That(exit, Is.Zero, output);
        var parts = output.Split("==\n");
        Assert.That(parts[0], Does.StartWith("xml\t"));
        Assert.That(parts[1], Does.Contain("--slot\t"));
        Assert.That(parts[2], Does.StartWith("0000:03:00\t"), "slots only, no file names");
        Assert.That(parts[3].Split('\n').Where(l => l.Length > 0).Select(l => l.Split('\t')[0]), Is.EquivalentTo(new[] { "static", "dynamic", "single-gpu" }));
    }

    private static string[] Words(string line) => line.EndsWith(' ') ? [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries), string.Empty] : line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string Script(string shell)
    {
        var result = CliRun.Run("completion", shell);
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return result.Stdout;
    }

    /// <summary>Runs a shell with the built program first on PATH, as a user's shell would find it.</summary>
    private static (int Exit, string Output) Shell(string program, string flag, string script)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(flag);
        start.ArgumentList.Add(script);
        start.Environment["PATH"] = AppContext.BaseDirectory + ":" + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}
