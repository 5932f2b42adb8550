using NUnit.Framework;
using Passthrough.Boot;
using Passthrough.Domain;
using Passthrough.Setup;

namespace Passthrough.Tests.Boot;

/// <summary>The Looking Glass part of the setup plan, pure over the host's files.</summary>
public class LookingGlassPlannerTests
{
    /// <summary>The cgroup_device_acl block as libvirt ships it in qemu.conf: commented out, with its defaults.</summary>
    private const string ShippedQemuConf = """
        # Master configuration file for the QEMU driver.
        #user = "qemu"

        # This is the basic set of devices allowed / required by
        # all virtual machines.
        #
        #cgroup_device_acl = [
        #    "/dev/null", "/dev/full", "/dev/zero",
        #    "/dev/random", "/dev/urandom",
        #    "/dev/ptmx", "/dev/kvm",
        #    "/dev/userfaultfd"
        #]
        #
        # RDMA migration requires the following extra files to be added to the list:
        #   "/dev/infiniband/rdma_cm",

        #seccomp_sandbox = 1

        """;

    private static SetupPlan Empty() => new() { Mode = PassthroughMode.Dynamic, Boot = BootloaderDetector.Detect(BootFiles.Empty) };

    [Test]
    public void I_get_a_list_with_libvirts_own_defaults_plus_kvmfr_after_the_commented_block()
    {
        var conf = LookingGlassPlanner.WithAclDevice(ShippedQemuConf, "/dev/kvmfr0");

        Assert.That(conf, Does.StartWith(ShippedQemuConf[..ShippedQemuConf.IndexOf("#]\n", StringComparison.Ordinal)]));
        Assert.That(conf, Does.Contain("#]\n# Added by `passthrough setup` for Looking Glass: libvirt's defaults plus /dev/kvmfr0.\ncgroup_device_acl = [\n    \"/dev/null\",\n    \"/dev/full\","));
        Assert.That(conf, Does.Contain("    \"/dev/userfaultfd\",\n    \"/dev/kvmfr0\"\n]\n#\n# RDMA migration"));
        Assert.That(conf, Does.EndWith("#seccomp_sandbox = 1\n"));
        Assert.That(conf.Replace(conf[conf.IndexOf("# Added by", StringComparison.Ordinal)..(conf.IndexOf("]\n#\n# RDMA", StringComparison.Ordinal) + 2)], string.Empty, StringComparison.Ordinal), Is.EqualTo(ShippedQemuConf), "nothing else changed");
    }

    [Test]
    public void I_get_kvmfr_added_to_a_list_i_set_myself_and_nothing_else_touched()
    {
        var mine = "user = \"qemu\"\ncgroup_device_acl = [\n    \"/dev/null\", \"/dev/kvm\",\n    \"/dev/input/by-id/kbd-event-kbd\"\n]\nsecurity_driver = \"none\"\n";

        var conf = LookingGlassPlanner.WithAclDevice(mine, "/dev/kvmfr0");

        Assert.That(conf, Is.EqualTo("user = \"qemu\"\ncgroup_device_acl = [\n    \"/dev/null\", \"/dev/kvm\",\n    \"/dev/input/by-id/kbd-event-kbd\",\n    \"/dev/kvmfr0\"\n]\nsecurity_driver = \"none\"\n"));
        Assert.That(LookingGlassPlanner.WithAclDevice(conf, "/dev/kvmfr0"), Is.EqualTo(conf), "already there: unchanged");
    }

    [Test]
    public void I_get_libvirts_defaults_when_qemu_conf_has_no_acl_block_at_all()
    {
        var conf = LookingGlassPlanner.WithAclDevice("user = \"qemu\"", "/dev/kvmfr0");

        Assert.That(conf, Does.StartWith("user = \"qemu\"\n# Added by"));
        Assert.That(conf, Does.Contain("\"/dev/kvm\",\n    \"/dev/userfaultfd\",\n    \"/dev/kvmfr0\"\n]\n"));
    }

    [Test]
    public void I_get_the_documented_kvmfr_files_and_the_selinux_context_where_selinux_is_on()
    {
        var files = new BootFiles(new Dictionary<string, string>
        {
            [LookingGlassPlanner.QemuConf] = ShippedQemuConf,
            [LookingGlassPlanner.SelinuxEnforce] = "1",
        });

        var plan = LookingGlassPlanner.Extend(Empty(), new LookingGlassSetup(LookingGlassStyle.Kvmfr, 64, "alice"), files);

        var edits = plan.Edits.ToDictionary(e => e.Path, e => e.After);
        Assert.That(edits.Keys, Is.EquivalentTo(new[] { LookingGlassPlanner.ModprobeFile, LookingGlassPlanner.ModulesLoadFile, LookingGlassPlanner.UdevRuleFile, LookingGlassPlanner.QemuConf }));
        Assert.That(edits[LookingGlassPlanner.ModprobeFile], Does.EndWith("\noptions kvmfr static_size_mb=64\n"));
        Assert.That(edits[LookingGlassPlanner.ModulesLoadFile], Does.EndWith("\nkvmfr\n"));
        Assert.That(edits[LookingGlassPlanner.UdevRuleFile], Does.EndWith("\nSUBSYSTEM==\"kvmfr\", OWNER=\"alice\", GROUP=\"kvm\", MODE=\"0660\"\n"));
        Assert.That(plan.ArgumentCommands.Select(c => c.Display), Is.EqualTo(new[] { "semanage fcontext -a -t svirt_tmpfs_t /dev/kvmfr0" }));
        Assert.That(plan.UndoCommands.Select(c => c.Display), Is.EqualTo(new[] { "semanage fcontext -d /dev/kvmfr0" }));
        Assert.That(plan.Notes, Has.Some.Contain("Restart virtqemud"));
    }

    [Test]
    public void A_plan_made_after_applying_it_has_no_looking_glass_step()
    {
        var files = new BootFiles(new Dictionary<string, string>
        {
            [LookingGlassPlanner.QemuConf] = ShippedQemuConf,
            [LookingGlassPlanner.SelinuxEnforce] = "1",
            [LookingGlassPlanner.AppArmorAbstraction] = "# libvirt's profile\n",
        });
        var setup = new LookingGlassSetup(LookingGlassStyle.Kvmfr, 128, "alice");
        var first = LookingGlassPlanner.Extend(Empty(), setup, files);
        var applied = new BootFiles(first.Edits.ToDictionary(e => e.Path, e => e.After).Concat(files.Files.Where(f => first.Edits.All(e => e.Path != f.Key)))
            .Append(new(LookingGlassPlanner.SelinuxLocalContexts, "/dev/kvmfr0    system_u:object_r:svirt_tmpfs_t:s0\n")).ToDictionary());

        var second = LookingGlassPlanner.Extend(Empty(), setup, applied);

        Assert.That(first.Edits.Select(e => e.Path), Does.Contain(LookingGlassPlanner.AppArmorLocal));
        Assert.That(second.Edits, Is.Empty);
        Assert.That(second.ArgumentCommands, Is.Empty);
    }

    [Test]
    public void Without_kvmfr_i_get_the_tmpfiles_rule_looking_glass_documents()
    {
        var plan = LookingGlassPlanner.Extend(Empty(), new LookingGlassSetup(LookingGlassStyle.Ivshmem, 32, "bob"), BootFiles.Empty);

        Assert.That(plan.Edits.Select(e => e.Path), Is.EqualTo(new[] { LookingGlassPlanner.TmpfilesFile }));
        Assert.That(plan.Edits[0].After, Does.EndWith("\nf /dev/shm/looking-glass 0660 bob kvm -\n"));
        Assert.That(plan.ArgumentCommands, Is.Empty);
    }

    [TestCase("alice")]
    [TestCase("svc_lg-2")]
    public void I_can_name_a_user(string user) => Assert.That(LookingGlassSetup.CheckUser(user), Is.EqualTo(user));

    [TestCase("Alice Smith")]
    [TestCase("bob\"")]
    [TestCase("")]
    public void A_user_name_that_would_break_the_rule_is_bad_input(string user) =>
        Assert.That(() => LookingGlassSetup.CheckUser(user), Throws.TypeOf<Passthrough.Errors.PassthroughException>().With.Message.Contain("--looking-glass-user"));
}
