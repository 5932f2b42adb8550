using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Libvirtd;

/// <summary>`xml VERB --vm NAME` on the real libvirtd: define only what changed, --check changes nothing.</summary>
public class LibvirtdEditVmTests
{
    private static string NewName() => $"passthrough-edit-{Guid.NewGuid():N}"[..34];

    private static JsonElement Report(CliResult result)
    {
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.Clone();
    }

    [Test]
    public async Task I_can_add_a_gpu_to_a_defined_vm_and_the_second_run_changes_nothing()
    {
        await RealLibvirtd.EnsureRunningAsync();
        var name = NewName();
        await LibvirtdDomains.DefineAsync(name, withMetadata: true);
        using var dir = new TempDirectory();
        var backups = dir.Combine("backups");
        try
        {
            string[] addGpu = ["xml", "add-gpu", "--vm", name, "--connect", RealLibvirtd.Uri, "--slot", "0000:03:00", "--functions", "0,1", "--backup-dir", backups, "--json"];
            var first = Report(CliRun.Run(addGpu));
            var afterFirst = (await RealLibvirtd.Virsh("dumpxml", "--inactive", name)).Stdout;
            var second = Report(CliRun.Run(addGpu));

            Assert.That(first.GetProperty("changed").GetBoolean(), Is.True);
            Assert.That(first.GetProperty("actions")[0].GetString(), Does.StartWith($"define {name} on {RealLibvirtd.Uri} (previous definition saved in {backups}/"));
            var diff = first.GetProperty("diffs")[0];
            Assert.That(diff.GetProperty("path").GetString(), Is.EqualTo("domain:" + name));
            Assert.That(diff.GetProperty("before").GetString(), Does.Not.Contain("<hostdev"));
            Assert.That(diff.GetProperty("after").GetString(), Does.Contain("<address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/>"));
            Assert.That(afterFirst, Does.Contain("<address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/>"), "libvirt holds the edit");
            Assert.That(afterFirst, Does.Contain("managed='no'"), "our hook binds it (the VM has our metadata)");
            Assert.That(second.GetProperty("changed").GetBoolean(), Is.False, second.ToString());
            Assert.That(second.GetProperty("actions").GetArrayLength(), Is.Zero);
            Assert.That(second.GetProperty("diffs").GetArrayLength(), Is.Zero);
            Assert.That(Directory.GetFiles(backups), Has.Length.EqualTo(1), "the second run defined nothing, so it saved nothing");
        }
        finally
        {
            await LibvirtdDomains.RemoveAsync(name);
        }
    }

    [Test]
    public async Task I_can_set_and_remove_on_a_defined_vm_twice_and_only_the_first_run_changes_it()
    {
        await RealLibvirtd.EnsureRunningAsync();
        var name = NewName();
        await LibvirtdDomains.DefineAsync(name, withMetadata: false);
        using var dir = new TempDirectory();
        try
        {
            string[] common = ["--vm", name, "--connect", RealLibvirtd.Uri, "--backup-dir", dir.Path, "--json"];
            string[] set = ["xml", "set", "--memballoon", "none", "--passthrough-mode", "dynamic", .. common];
            string[] add = ["xml", "add-gpu", "--slot", "0000:03:00", "--functions", "0", .. common];
            string[] remove = ["xml", "remove-gpu", "--slot", "0000:03:00", .. common];

            var changes = new[] { set, set, add, remove, remove }.Select(args => Report(CliRun.Run(args)).GetProperty("changed").GetBoolean()).ToList();
            var dump = (await RealLibvirtd.Virsh("dumpxml", "--inactive", name)).Stdout;

            Assert.That(changes, Is.EqualTo(new[] { true, false, true, true, false }));
            Assert.That(dump, Does.Contain("<memballoon model='none'/>").And.Contain("mode=\"dynamic\"").And.Not.Contain("<hostdev"));
        }
        finally
        {
            await LibvirtdDomains.RemoveAsync(name);
        }
    }

    [Test]
    public async Task I_can_check_an_edit_of_a_defined_vm_and_nothing_is_defined()
    {
        await RealLibvirtd.EnsureRunningAsync();
        var name = NewName();
        await LibvirtdDomains.DefineAsync(name, withMetadata: true);
        using var dir = new TempDirectory();
        try
        {
            var before = (await RealLibvirtd.Virsh("dumpxml", "--inactive", name)).Stdout;
            var check = Report(CliRun.Run("xml", "add-gpu", "--vm", name, "--connect", RealLibvirtd.Uri, "--slot", "0000:03:00", "--functions", "0,1", "--backup-dir", dir.Path, "--check", "--json"));
            var diff = CliRun.Run("xml", "set", "--vm", name, "--connect", RealLibvirtd.Uri, "--kvm-hidden", "on", "--backup-dir", dir.Path, "--check", "--diff");
            var after = (await RealLibvirtd.Virsh("dumpxml", "--inactive", name)).Stdout;

            Assert.That(check.GetProperty("changed").GetBoolean(), Is.True, "it says what would change");
            Assert.That(check.GetProperty("actions")[0].GetString(), Is.EqualTo($"define {name} on {RealLibvirtd.Uri}"));
            Assert.That(check.GetProperty("diffs")[0].GetProperty("after").GetString(), Does.Contain("<hostdev"));
            Assert.That(diff.ExitCode, Is.Zero, diff.ToString());
            Assert.That(diff.Stdout, Does.StartWith($"--- domain:{name}\n").And.Contain("\n+      <hidden state='on'/>\n"));
            Assert.That(diff.Stderr, Is.EqualTo($"passthrough: --check: would define {name} on {RealLibvirtd.Uri}\n"));
            Assert.That(after, Is.EqualTo(before), "nothing was defined");
            Assert.That(Directory.GetFiles(dir.Path), Is.Empty, "nothing was saved");
        }
        finally
        {
            await LibvirtdDomains.RemoveAsync(name);
        }
    }
}
