using NUnit.Framework;
using Passthrough.Testing;
using Passthrough.Tests.Libvirtd;

namespace Passthrough.Tests.Ansible;

/// <summary>
/// passthrough_domain against the real libvirtd (qemu:///system) the libvirtd tests start: the GPU of a
/// captured host passed to a defined VM and its features set, defined once, then no change.
/// </summary>
public sealed class AnsibleDomainTests : MachineChangingFixture
{
    private AnsibleCollection _ansible = null!;

    protected override string Changes => "defines and undefines domains on the machine's libvirtd";

    [OneTimeSetUp]
    public async Task Start()
    {
        _ansible = await AnsibleCollection.BuildAndInstallAsync();
        await RealLibvirtd.EnsureRunningAsync();
    }

    [OneTimeTearDown]
    public void Remove() => _ansible?.Dispose();

    [Test]
    public async Task I_can_pass_a_gpu_to_a_defined_vm_and_a_second_run_changes_nothing()
    {
        using var temp = new TempDirectory();
        var root = await AnsibleCollectionTests.ExpandAsync(Path.Join(RepoPaths.Examples, "hosts", "workstation.host"), temp);
        var name = $"passthrough-ansible-{Guid.NewGuid():N}"[..32];
        await LibvirtdDomains.DefineAsync(name, withMetadata: false);
        string Task(string task) => $"""
            - name: {task}
              passthrough.vfio.passthrough_domain:
                name: {name}
                uri: {RealLibvirtd.Uri}
                gpu_slot: "0000:01:00"
                kvm_hidden: true
                hyperv_vendor_id: passthrough
                mode: dynamic
                root: {root}
                binary: {AnsibleCollection.Binary}
            """;
        try
        {
            var definedBefore = (await RealLibvirtd.Virsh("dumpxml", "--inactive", name)).Stdout;

            var check = await _ansible.PlayAsync(AnsibleCollectionTests.Play(Task("check")), "--check", "--diff");
            Assert.That(check.ExitCode, Is.Zero, check.Output);
            Assert.Multiple(async () =>
            {
                Assert.That(check["check"].Changed, Is.True);
                Assert.That(check["check"]["diff"]!.ToJsonString(), Does.Contain("hostdev"), "diff mode shows the hostdevs that would be added");
                Assert.That((await RealLibvirtd.Virsh("dumpxml", "--inactive", name)).Stdout, Is.EqualTo(definedBefore), "check mode defined nothing");
            });

            var run = await _ansible.PlayAsync(AnsibleCollectionTests.Play(Task("first") + "\n" + Task("second")));
            Assert.That(run.ExitCode, Is.Zero, run.Output);
            var defined = (await RealLibvirtd.Virsh("dumpxml", "--inactive", name)).Stdout;
            Assert.Multiple(() =>
            {
                Assert.That(run["first"].Changed, Is.True);
                Assert.That(run["second"].Changed, Is.False, run["second"].ToString());
                Assert.That(defined, Does.Contain("<hostdev").And.Contain("bus='0x01'"), "the GPU's functions are in the definition");
                Assert.That(defined, Does.Contain("<hidden state='on'/>").And.Contain("value='passthrough'"));
            });
        }
        finally
        {
            await LibvirtdDomains.RemoveAsync(name);
        }
    }
}
