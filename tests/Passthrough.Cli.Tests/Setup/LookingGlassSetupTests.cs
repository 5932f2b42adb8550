using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Setup;

/// <summary>`setup plan|apply|undo --looking-glass` on a fixture host with libvirt's qemu.conf and SELinux on.</summary>
public sealed class LookingGlassSetupTests
{
    private const string QemuConf = "#user = \"qemu\"\n#cgroup_device_acl = [\n#    \"/dev/null\", \"/dev/full\", \"/dev/zero\",\n#    \"/dev/random\", \"/dev/urandom\",\n#    \"/dev/ptmx\", \"/dev/kvm\"\n#]\n#seccomp_sandbox = 1\n";

    private static string Host(TempDirectory temp)
    {
        var root = SetupFixtures.Create("fedora-bls", temp);
        Directory.CreateDirectory(Path.Join(root, "etc", "libvirt"));
        File.WriteAllText(Path.Join(root, "etc", "libvirt", "qemu.conf"), QemuConf);
        Directory.CreateDirectory(Path.Join(root, "sys", "fs", "selinux"));
        File.WriteAllText(Path.Join(root, "sys", "fs", "selinux", "enforce"), "1");
        DesktopTree.Typical().WriteTo(root);
        return root;
    }

    [Test]
    public void I_can_plan_kvmfr_for_my_user_and_see_every_file_and_command()
    {
        using var temp = new TempDirectory();
        var root = Host(temp);

        var plan = CliRun.RunAsync(["--root", root, "setup", "plan", "--looking-glass", "--kvmfr"], environment: new Dictionary<string, string> { ["SUDO_USER"] = "alice", ["USER"] = "root" }).GetAwaiter().GetResult();

        Assert.That(plan.ExitCode, Is.Zero, plan.ToString());
        Assert.That(plan.Stdout, Does.Contain("+options kvmfr static_size_mb=128\n"), "3840x2160 is the largest mode of the fixture's monitors");
        Assert.That(plan.Stdout, Does.Contain("+SUBSYSTEM==\"kvmfr\", OWNER=\"alice\", GROUP=\"kvm\", MODE=\"0660\"\n"));
        Assert.That(plan.Stdout, Does.Contain("# /etc/libvirt/qemu.conf: libvirt's device cgroup lets QEMU open /dev/kvmfr0"));
        Assert.That(plan.Stdout, Does.Contain("+    \"/dev/kvmfr0\"\n"));
        Assert.That(plan.Stdout, Does.Contain("semanage fcontext -a -t svirt_tmpfs_t /dev/kvmfr0"));
        Assert.That(plan.Stdout, Does.Contain("Note: Looking Glass: 128 MiB for 3840x2160"));
    }

    [Test]
    public void I_can_apply_looking_glass_then_undo_and_get_every_file_back_byte_for_byte()
    {
        using var temp = new TempDirectory();
        var root = Host(temp);
        var before = SetupFixtures.Snapshot(root);

        var apply = CliRun.Run("--root", root, "setup", "apply", "--looking-glass", "--kvmfr", "--looking-glass-user", "alice", "--resolution", "2560x1440", "--yes");
        var conf = File.ReadAllText(Path.Join(root, "etc", "libvirt", "qemu.conf"));
        var again = CliRun.Run("--root", root, "setup", "plan", "--looking-glass", "--kvmfr", "--looking-glass-user", "alice", "--resolution", "2560x1440");
        var undo = CliRun.Run("--root", root, "setup", "undo", "--yes");

        Assert.That(apply.ExitCode, Is.Zero, apply.ToString());
        Assert.That(File.Exists(Path.Join(root, "etc", "modprobe.d", "kvmfr.conf")), Is.False, "undone");
        Assert.That(conf, Does.StartWith(QemuConf[..QemuConf.IndexOf("#seccomp", StringComparison.Ordinal)]).And.EndWith("#seccomp_sandbox = 1\n"));
        Assert.That(again.Stdout, Does.Not.Contain("kvmfr.conf:").And.Not.Contain("qemu.conf:").And.Not.Contain("99-kvmfr.rules:"));
        Assert.That(undo.ExitCode, Is.Zero, undo.ToString());
        Assert.That(undo.Stdout, Does.Contain("semanage fcontext -d /dev/kvmfr0"), "listed for the host: --root runs nothing");
        var after = SetupFixtures.Snapshot(root);
        Assert.That(after.Keys, Is.EqualTo(before.Keys));
        foreach (var (path, bytes) in before)
        {
            Assert.That(after[path], Is.EqualTo(bytes), path);
        }
    }

    [Test]
    public void I_get_the_tmpfiles_rule_without_kvmfr()
    {
        using var temp = new TempDirectory();
        var root = Host(temp);

        var plan = CliRun.Run("--root", root, "setup", "plan", "--looking-glass", "--looking-glass-user", "bob");

        Assert.That(plan.ExitCode, Is.Zero, plan.ToString());
        Assert.That(plan.Stdout, Does.Contain("+f /dev/shm/looking-glass 0660 bob kvm -\n"));
        Assert.That(plan.Stdout, Does.Not.Contain("kvmfr"));
    }

    [TestCase(new[] { "--looking-glass", "--looking-glass-user", "root user" }, "--looking-glass-user root user: not a user name")]
    [TestCase(new[] { "--looking-glass", "--looking-glass-user", "alice", "--looking-glass-size", "100" }, "not a power of two")]
    [TestCase(new[] { "--looking-glass", "--looking-glass-user", "alice", "--resolution", "wide" }, "--resolution wide")]
    [TestCase(new[] { "--kvmfr" }, "--kvmfr belongs to --looking-glass")]
    public void Bad_looking_glass_setup_input_is_exit_2_and_nothing_written(string[] options, string expected)
    {
        using var temp = new TempDirectory();
        var root = Host(temp);
        var before = SetupFixtures.Snapshot(root);

        var result = CliRun.Run(["--root", root, "setup", "apply", "--yes", .. options]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain(expected));
        Assert.That(SetupFixtures.Snapshot(root), Is.EqualTo(before));
    }

    [Test]
    public void I_am_asked_for_the_user_when_running_as_root_without_sudo()
    {
        using var temp = new TempDirectory();
        var root = Host(temp);

        var result = CliRun.RunAsync(["--root", root, "setup", "plan", "--looking-glass"], environment: new Dictionary<string, string> { ["USER"] = "root" }).GetAwaiter().GetResult();

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("--looking-glass-user NAME"));
    }
}
