using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Ansible;

/// <summary>
/// The collection's code checked by Ansible's own tools: `ansible-test sanity` for every test that runs
/// offline (the others install pinned Python packages from PyPI into a venv first), and Debian's
/// pycodestyle and yamllint with ansible-test's settings for what those venv-only tests would check.
/// </summary>
[TestFixture]
public sealed class AnsibleSanityTests
{
    // ansible-test 2.14's sanity tests that need no requirements from PyPI. ansible-doc, import, pep8,
    // pylint, runtime-metadata, validate-modules and yamllint bootstrap pip from the network: the
    // collection tests cover ansible-doc rendering and the documented options, and pep8/yamllint run below.
    private static readonly string[] OfflineSanityTests =
    [
        "action-plugin-docs", "changelog", "compile", "empty-init", "future-import-boilerplate", "ignores",
        "line-endings", "metaclass-boilerplate", "no-assert", "no-basestring", "no-dict-iteritems",
        "no-dict-iterkeys", "no-dict-itervalues", "no-get-exception", "no-illegal-filenames", "no-main-display",
        "no-smart-quotes", "no-unicode-literals", "pslint", "replace-urlopen", "shebang", "shellcheck",
        "symlinks", "use-argspec-type-path", "use-compat-six",
    ];

    [Test]
    public async Task The_collection_passes_ansible_test_sanity_where_it_runs_offline()
    {
        RealPart.RequireProgram("/usr/bin/ansible-test", "ansible-core");
        using var temp = new TempDirectory("passthrough-ansible-sanity");
        // ansible-test runs inside ansible_collections/NAMESPACE/NAME and writes tests/output there: a copy.
        var copy = temp.Combine("ansible_collections", "passthrough", "vfio");
        CopyTree(AnsibleCollection.Source, copy);

        var run = await ProcessRunner.Instance.RunAsync(
            "ansible-test",
            ["sanity", "--python", "3.11", "--python-interpreter", "/usr/bin/python3", "--color", "no", .. OfflineSanityTests.SelectMany(t => new[] { "--test", t })],
            new ProcessOptions { Timeout = TimeSpan.FromMinutes(5), WorkingDirectory = copy, Environment = new Dictionary<string, string> { ["LC_ALL"] = "C.UTF-8", ["LANG"] = "C.UTF-8" } });

        Assert.That(run.ExitCode, Is.Zero, run.Stdout + run.Stderr);
        Assert.That(run.Stdout + run.Stderr, Does.Contain("Running sanity test \"compile\""), "the sanity tests ran");
    }

    [Test]
    public async Task Its_python_follows_ansible_tests_pep8_settings()
    {
        RealPart.RequireProgram("/usr/bin/pycodestyle", "pycodestyle");
        // ansible-test's pep8 test: max-line-length 160, ignoring E402, W503, W504, E741.
        var run = await ProcessRunner.Instance.RunAsync(
            "pycodestyle",
            ["--max-line-length", "160", "--ignore", "E402,W503,W504,E741", Path.Join(AnsibleCollection.Source, "plugins")]);
        Assert.That(run.ExitCode, Is.Zero, run.Stdout + run.Stderr);
    }

    [Test]
    public async Task Its_yaml_and_the_example_playbook_pass_yamllint()
    {
        RealPart.RequireProgram("/usr/bin/yamllint", "yamllint");
        var run = await ProcessRunner.Instance.RunAsync(
            "yamllint",
            ["-s", "-d", "{extends: default, rules: {line-length: {max: 160}}}",
             Path.Join(AnsibleCollection.Source, "galaxy.yml"), Path.Join(AnsibleCollection.Source, "meta", "runtime.yml"),
             Path.Join(RepoPaths.Examples, "ansible", "playbook.yml")]);
        Assert.That(run.ExitCode, Is.Zero, run.Stdout + run.Stderr);
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Join(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
