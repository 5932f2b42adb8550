using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Ansible;

/// <summary>
/// The Ansible collection (src/ansible) built, installed and run by Debian's ansible-core on localhost: facts
/// from a captured host, the hook and the host setup on fixture roots (first run changed, second not,
/// check mode writes nothing, diff mode shows the files), and bad parameters failing with our message.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class AnsibleCollectionTests
{
    private AnsibleCollection _ansible = null!;

    [OneTimeSetUp]
    public async Task BuildAndInstall() => _ansible = await AnsibleCollection.BuildAndInstallAsync();

    [OneTimeTearDown]
    public void Remove() => _ansible?.Dispose();

    [Test]
    public void The_collection_is_built_with_the_products_version()
    {
        var props = XDocument.Load(Path.Join(RepoPaths.Root, "Directory.Build.props"));
        var version = props.Descendants("Version").Single().Value;
        Assert.That(Path.GetFileName(_ansible.Tarball), Is.EqualTo($"passthrough-vfio-{version}.tar.gz"));
    }

    [TestCase("passthrough_facts", new[] { "gather", "slot" })]
    [TestCase("passthrough_host", new[] { "slot", "mode", "state" })]
    [TestCase("passthrough_hooks", new[] { "state" })]
    [TestCase("passthrough_domain", new[] { "name", "uri", "gpu_slot", "gpu_state", "hyperv_vendor_id", "kvm_hidden", "topoext", "mode" })]
    public async Task I_can_read_each_modules_documentation_with_ansible_doc(string module, string[] options)
    {
        var text = await _ansible.RunAsync("ansible-doc", "-t", "module", $"passthrough.vfio.{module}");
        Assert.That(text.ExitCode, Is.Zero, text.Stderr);
        Assert.That(text.Stdout, Does.Contain("root").And.Contain("binary"));

        var json = await _ansible.RunAsync("ansible-doc", "--json", "-t", "module", $"passthrough.vfio.{module}");
        var documented = JsonNode.Parse(json.Stdout)![$"passthrough.vfio.{module}"]!["doc"]!["options"]!.AsObject()
            .Select(o => o.Key).Order().ToList();
        Assert.That(documented, Is.EqualTo(options.Append("root").Append("binary").Order().ToList()));
    }

    [Test]
    public async Task I_can_gather_facts_from_a_captured_host()
    {
        using var temp = new TempDirectory();
        var root = await ExpandAsync(Path.Join(RepoPaths.Examples, "hosts", "workstation.host"), temp);

        var run = await _ansible.PlayAsync(Play($"""
            - name: facts
              passthrough.vfio.passthrough_facts:
                root: {root}
                binary: {AnsibleCollection.Binary}
            """));

        Assert.That(run.ExitCode, Is.Zero, run.Output);
        var facts = run["facts"]["ansible_facts"]!["passthrough"]!;
        Assert.Multiple(() =>
        {
            Assert.That(run["facts"].Changed, Is.False);
            Assert.That(facts["gpus"]!.AsArray().Select(g => g!["slot"]!.ToString()), Does.Contain("0000:01:00"));
            Assert.That(facts["devices"]!.AsArray(), Has.Count.GreaterThan(facts["gpus"]!.AsArray().Count));
            Assert.That(facts["groups"]!.AsArray(), Is.Not.Empty);
            Assert.That(facts["findings"]!.AsArray().Select(f => f!["id"]!.ToString()), Does.Contain("driver-binding"));
            Assert.That(run["facts"]["ready"]!.GetValue<bool>(), Is.False, "the workstation has an error finding");
        });
    }

    [Test]
    public async Task I_can_install_the_hook_and_a_second_run_changes_nothing()
    {
        using var temp = new TempDirectory();
        var root = temp.Combine("root");
        Directory.CreateDirectory(root);
        var hook = Path.Join(root, "etc/libvirt/hooks/qemu.d/50-passthrough");
        var task = $"""
              passthrough.vfio.passthrough_hooks:
                state: present
                root: {root}
                binary: {AnsibleCollection.Binary}
            """;

        var check = await _ansible.PlayAsync(Play("- name: hook\n" + task), "--check");
        Assert.That(check.ExitCode, Is.Zero, check.Output);
        Assert.That(check["hook"].Changed, Is.True, "check mode says it would install the hook");
        Assert.That(Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories), Is.Empty, "check mode wrote nothing");

        var run = await _ansible.PlayAsync(Play("- name: first\n" + task + "\n- name: second\n" + task));
        Assert.That(run.ExitCode, Is.Zero, run.Output);
        Assert.Multiple(() =>
        {
            Assert.That(run["first"].Changed, Is.True);
            Assert.That(File.Exists(hook), Is.True);
            Assert.That(run["second"].Changed, Is.False, run["second"].ToString());
        });

        var absent = await _ansible.PlayAsync(Play($"""
            - name: remove
              passthrough.vfio.passthrough_hooks:
                state: absent
                root: {root}
                binary: {AnsibleCollection.Binary}
            """));
        Assert.That(absent["remove"].Changed, Is.True, absent.Output);
        Assert.That(File.Exists(hook), Is.False);
    }

    [Test]
    public async Task I_can_set_up_a_host_see_the_diff_and_undo_it()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var slot = SetupFixtures.SlotOf("debian-grub");
        var before = Files(root);
        string Task(string name, string state) => $"""
            - name: {name}
              passthrough.vfio.passthrough_host:
                slot: "{slot}"
                mode: static
                state: {state}
                root: {root}
                binary: {AnsibleCollection.Binary}
            """;

        var check = await _ansible.PlayAsync(Play(Task("plan", "present")), "--check", "--diff");
        Assert.That(check.ExitCode, Is.Zero, check.Output);
        Assert.Multiple(() =>
        {
            Assert.That(check["plan"].Changed, Is.True);
            Assert.That(Files(root), Is.EqualTo(before), "check mode wrote nothing");
            Assert.That(check["plan"]["diff"]!.AsArray().Select(d => d!["after_header"]!.ToString()), Does.Contain("/etc/default/grub"));
        });

        var apply = await _ansible.PlayAsync(Play(Task("apply", "present") + "\n" + Task("again", "present")), "--diff");
        Assert.That(apply.ExitCode, Is.Zero, apply.Output);
        Assert.Multiple(() =>
        {
            Assert.That(apply["apply"].Changed, Is.True);
            Assert.That(apply["apply"]["reboot_required"]!.GetValue<bool>(), Is.True, "new kernel arguments need a reboot");
            var grub = apply["apply"]["diff"]!.AsArray().Single(d => d!["after_header"]!.ToString() == "/etc/default/grub")!;
            Assert.That(grub["after"]!.ToString(), Does.Contain("vfio-pci.ids="));
            Assert.That(grub["before"]!.ToString(), Does.Not.Contain("vfio-pci.ids="));
            Assert.That(apply["again"].Changed, Is.False, apply["again"].ToString());
            Assert.That(Files(root), Is.Not.EqualTo(before));
        });

        var undo = await _ansible.PlayAsync(Play(Task("undo", "absent") + "\n" + Task("undo again", "absent")));
        Assert.That(undo.ExitCode, Is.Zero, undo.Output);
        Assert.Multiple(() =>
        {
            Assert.That(undo["undo"].Changed, Is.True);
            Assert.That(undo["undo again"].Changed, Is.False);
            Assert.That(ConfigFiles(root), Is.EqualTo(ConfigFiles(before)), "undo put every file back byte for byte");
        });
    }

    [Test]
    public async Task A_bad_slot_fails_the_task_with_our_one_line_error_and_no_traceback()
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create("debian-grub", temp);
        var before = Files(root);

        var run = await _ansible.PlayAsync(Play($"""
            - name: bad slot
              passthrough.vfio.passthrough_host:
                slot: not-a-slot
                root: {root}
                binary: {AnsibleCollection.Binary}
            """));

        var direct = await CliRun.RunAsync(["--root", root, "setup", "apply", "--slot", "not-a-slot", "--json", "--yes"]);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Not.Zero);
            Assert.That(run["bad slot"].Failed, Is.True);
            Assert.That(run["bad slot"].Message, Is.EqualTo(direct.Stderr.Trim()), "the task says what the CLI says");
            Assert.That(run["bad slot"]["rc"]!.GetValue<int>(), Is.EqualTo(2));
            Assert.That(run.Output, Does.Not.Contain("Traceback"));
            Assert.That(Files(root), Is.EqualTo(before));
        });
    }

    [TestCase("state: sideways", "value of state must be one of: present, absent")]
    [TestCase("colour: blue", "Unsupported parameters")]
    [TestCase("binary: /nonexistent/passthrough", "/nonexistent/passthrough is not an executable file")]
    public async Task A_bad_parameter_fails_the_task_without_a_traceback(string parameter, string message)
    {
        var run = await _ansible.PlayAsync(Play($"""
            - name: bad
              passthrough.vfio.passthrough_hooks:
                root: /nonexistent-root
                {parameter}
            """));

        Assert.Multiple(() =>
        {
            Assert.That(run["bad"].Failed, Is.True);
            Assert.That(run["bad"].Message, Does.Contain(message));
            Assert.That(run.Output, Does.Not.Contain("Traceback"));
        });
    }

    [Test]
    public async Task The_example_playbook_passes_ansibles_syntax_check()
    {
        var example = Path.Join(RepoPaths.Examples, "ansible");
        var run = await _ansible.RunAsync("ansible-playbook", "--syntax-check", "-i", Path.Join(example, "inventory.ini"), Path.Join(example, "playbook.yml"));
        Assert.That(run.ExitCode, Is.Zero, run.Stderr + run.Stdout);
    }

    internal static string Play(string tasks) =>
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + string.Join('\n', tasks.Split('\n').Select(l => l.Length == 0 ? l : "    " + l)) + "\n";

    internal static async Task<string> ExpandAsync(string capture, TempDirectory temp)
    {
        var root = temp.Combine("root");
        var run = await ProcessRunner.Instance.RunAsync(AnsibleCollection.Binary, ["capture", "expand", capture, root]);
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        return root;
    }

    // Every regular file under ROOT (sysfs fixtures included; links not followed: sysfs links make cycles)
    // with its SHA-256, to see that nothing was written.
    private static SortedDictionary<string, string> Files(string root) =>
        new(Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))), StringComparer.Ordinal);

    // The host's configuration (under etc/ and boot/), which undo must give back; backups under var/ stay.
    private static SortedDictionary<string, string> ConfigFiles(string root) => ConfigFiles(Files(root));

    private static SortedDictionary<string, string> ConfigFiles(SortedDictionary<string, string> files) =>
        new(files.Where(f => f.Key.StartsWith("etc/", StringComparison.Ordinal) || f.Key.StartsWith("boot/", StringComparison.Ordinal))
            .ToDictionary(f => f.Key, f => f.Value), StringComparer.Ordinal);
}
