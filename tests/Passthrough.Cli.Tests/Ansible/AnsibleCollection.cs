using System.Text.Json.Nodes;
using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Ansible;

/// <summary>
/// The collection under src/ansible as a user gets it: built with `ansible-galaxy collection build`,
/// installed with `ansible-galaxy collection install` into a private collections path, run by Debian's
/// ansible-playbook on localhost against the native binary `make build` leaves (artifacts/bin/passthrough).
/// </summary>
internal sealed class AnsibleCollection : IDisposable
{
    private static readonly ProcessRunner Runner = ProcessRunner.Instance;

    private readonly TempDirectory _home = new("passthrough-ansible");

    private AnsibleCollection(string tarball)
    {
        Tarball = tarball;
    }

    public static string Source { get; } = Path.Join(RepoPaths.Root, "src", "ansible", "ansible_collections", "passthrough", "vfio");

    /// <summary>The native binary the modules run (`binary:` in every task).</summary>
    public static string Binary { get; } = Path.Join(RepoPaths.Root, "artifacts", "bin", "passthrough");

    public string Tarball { get; }

    public string CollectionsPath => _home.Combine("collections");

    /// <summary>Builds and installs the collection; fails (ignores outside CI) without ansible-core or the binary.</summary>
    public static async Task<AnsibleCollection> BuildAndInstallAsync()
    {
        RealPart.RequireProgram("/usr/bin/ansible-playbook", "ansible-core");
        RealPart.Require(File.Exists(Binary), $"{Binary} is missing", "run `make build` first (`make test` does)");
        var output = new TempDirectory("passthrough-ansible-build");
        var build = await Runner.RunAsync("ansible-galaxy", ["collection", "build", Source, "--output-path", output.Path], new ProcessOptions { Environment = Utf8Locale });
        Assert.That(build.ExitCode, Is.Zero, build.Stderr + build.Stdout);
        var tarball = Directory.GetFiles(output.Path, "*.tar.gz").Single();
        var collection = new AnsibleCollection(tarball);
        var install = await Runner.RunAsync("ansible-galaxy", ["collection", "install", "-p", collection.CollectionsPath, tarball], collection.Options());
        Assert.That(install.ExitCode, Is.Zero, install.Stderr + install.Stdout);
        return collection;
    }

    /// <summary>Runs PLAYBOOK (YAML text) on localhost with the json callback; returns the exit code and results.</summary>
    public async Task<PlaybookRun> PlayAsync(string playbook, params string[] options)
    {
        var file = _home.Combine($"play-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(file, playbook);
        var result = await Runner.RunAsync(
            "ansible-playbook",
            ["-i", "localhost,", "-c", "local", .. options, file],
            Options());
        return PlaybookRun.Parse(result);
    }

    /// <summary>ansible-doc or another ansible program, seeing the installed collection.</summary>
    public Task<ProcessResult> RunAsync(string program, params string[] arguments) => Runner.RunAsync(program, arguments, Options());

    public void Dispose() => _home.Dispose();

    // Ansible refuses to run without a UTF-8 locale; the runner's default (C) has none.
    private static readonly Dictionary<string, string> Utf8Locale = new() { ["LC_ALL"] = "C.UTF-8", ["LANG"] = "C.UTF-8" };

    private ProcessOptions Options() => new()
    {
        Timeout = TimeSpan.FromMinutes(3),
        Environment = new Dictionary<string, string>
        {
            ["LC_ALL"] = "C.UTF-8",
            ["LANG"] = "C.UTF-8",
            ["ANSIBLE_COLLECTIONS_PATH"] = CollectionsPath,
            ["ANSIBLE_STDOUT_CALLBACK"] = "task_results",
            ["ANSIBLE_CALLBACK_PLUGINS"] = Path.Join(RepoPaths.Root, "tests", "Passthrough.Cli.Tests", "Ansible", "callback_plugins"),
            ["ANSIBLE_LOCALHOST_WARNING"] = "False",
            ["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "False",
            ["ANSIBLE_PYTHON_INTERPRETER"] = "/usr/bin/python3",
            ["ANSIBLE_LOCAL_TEMP"] = _home.Combine("tmp"),
            ["ANSIBLE_REMOTE_TEMP"] = _home.Combine("remote-tmp"),
            ["ANSIBLE_NOCOLOR"] = "1",
            ["ANSIBLE_GALAXY_SERVER"] = "http://127.0.0.1:9", // never the network
        },
    };
}

/// <summary>One ansible-playbook run: its exit code and each task's result on localhost, in order.</summary>
internal sealed record PlaybookRun(int ExitCode, IReadOnlyList<TaskResult> Tasks, string Output)
{
    public TaskResult this[string name] => Tasks.Single(t => t.Name == name);

    public static PlaybookRun Parse(ProcessResult result)
    {
        var json = result.Stdout;
        var start = json.LastIndexOf("{\"tasks\"", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"ansible-playbook printed no JSON:\n{result.Stdout}\n{result.Stderr}");
        var root = JsonNode.Parse(json[start..])!;
        var tasks = root["tasks"]!.AsArray()
            .Select(t => new TaskResult(t!["task"]!.GetValue<string>(), t["result"]!.AsObject()))
            .ToList();
        return new PlaybookRun(result.ExitCode, tasks, result.Stdout + result.Stderr);
    }
}

/// <summary>What a task returned on localhost (the module's JSON plus Ansible's own keys).</summary>
internal sealed record TaskResult(string Name, JsonObject Result)
{
    public bool Changed => Result["changed"]?.GetValue<bool>() ?? false;

    public bool Failed => Result["failed"]?.GetValue<bool>() ?? false;

    public bool Skipped => Result["skipped"]?.GetValue<bool>() ?? false;

    public string Message => Result["msg"]?.ToString() ?? "";

    public JsonNode? this[string key] => Result[key];

    public override string ToString() => $"{Name}: {Result.ToJsonString()}";
}
