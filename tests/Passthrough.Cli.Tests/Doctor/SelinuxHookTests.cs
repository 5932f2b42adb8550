using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Doctor;

/// <summary>
/// Fedora's SELinux, read from fixture roots (selinuxfs files and the hook files' security.selinux
/// xattr): `doctor` and `hooks status` say when the hook runs confined or carries the wrong type.
/// </summary>
public class SelinuxHookTests
{
    private const string HookType = "system_u:object_r:virt_hook_t:s0";
    private TempDirectory _dir = null!;
    private string _root = null!;

    [SetUp]
    public void MakeRoot()
    {
        _dir = new TempDirectory("passthrough-selinux");
        _root = DoctorHosts.Expand(DoctorHosts.Seed003(), _dir.Combine("host"));
        Directory.CreateDirectory(Path.Join(_root, "etc", "libvirt"));
        Directory.CreateDirectory(Path.Join(_root, "opt", "passthrough"));
        File.WriteAllText(Path.Join(_root, "opt", "passthrough", "passthrough"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Join(_root, "opt", "passthrough", "passthrough"), (UnixFileMode)0b111_101_101);
        var install = CliRun.Run("--root", _root, "hooks", "install", "--binary", "/opt/passthrough/passthrough");
        Assert.That(install.ExitCode, Is.Zero, install.ToString());
    }

    [TearDown]
    public void Remove() => _dir.Dispose();

    private void Selinux(string? enforce, string? unconfined, string label = HookType)
    {
        if (enforce is not null)
        {
            Directory.CreateDirectory(Path.Join(_root, "sys", "fs", "selinux", "booleans"));
            File.WriteAllText(Path.Join(_root, "sys", "fs", "selinux", "enforce"), enforce);
        }

        if (unconfined is not null)
        {
            File.WriteAllText(Path.Join(_root, "sys", "fs", "selinux", "booleans", "virt_hooks_unconfined"), unconfined);
        }

        SelinuxLabels.Set(Path.Join(_root, "etc", "libvirt", "hooks"), "system_u:object_r:virt_hook_t:s0");
        SelinuxLabels.Set(Path.Join(_root, "etc", "libvirt", "hooks", "qemu.d"), "system_u:object_r:virt_hook_t:s0");
        SelinuxLabels.Set(Path.Join(_root, "etc", "libvirt", "hooks", "qemu.d", "50-passthrough"), label);
    }

    /// <summary>The doctor's selinux-hooks findings as (severity, subject, remedy, message).</summary>
    private List<(string Severity, string? Subject, string? Remedy, string Message)> Doctor()
    {
        var result = CliRun.Run("--root", _root, "doctor", "--json");
        Assert.That(result.ExitCode, Is.AnyOf(0, 1), result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var findings = json.RootElement.ValueKind == JsonValueKind.Array ? json.RootElement : json.RootElement.GetProperty("findings");
        return [.. findings.EnumerateArray().Where(f => f.GetProperty("id").GetString() == "selinux-hooks")
            .Select(f => (f.GetProperty("severity").GetString()!, f.GetProperty("subject").GetString(), f.GetProperty("remedy").GetString(), f.GetProperty("message").GetString()!))];
    }

    [Test]
    public void With_selinux_enforcing_and_the_boolean_off_I_am_told_the_hook_runs_confined_and_the_setsebool_that_frees_it()
    {
        Selinux("1", "0 0");

        var findings = Doctor();
        var status = CliRun.Run("--root", _root, "hooks", "status");

        var confined = findings.Single(f => f.Subject is null);
        Assert.That(confined.Severity, Is.EqualTo("warning"));
        Assert.That(confined.Message, Does.Contain("confined in libvirt's domain").And.Contain("sysfs").And.Contain("D-Bus"));
        Assert.That(confined.Remedy, Is.EqualTo("setsebool -P virt_hooks_unconfined on"));
        Assert.That(findings.Where(f => f.Subject is not null).Select(f => f.Severity), Is.All.EqualTo("ok"), "the label is right");
        Assert.That(status.ExitCode, Is.EqualTo(1), status.ToString());
        Assert.That(status.Stdout, Does.Contain("Run: setsebool -P virt_hooks_unconfined on"));
    }

    [Test]
    public void With_selinux_enforcing_and_the_boolean_on_the_hook_is_fine()
    {
        Selinux("1", "1 1");

        var findings = Doctor();
        var status = CliRun.Run("--root", _root, "hooks", "status");

        Assert.That(findings.Select(f => f.Severity), Is.All.EqualTo("ok"));
        Assert.That(findings.Single(f => f.Subject is null).Message, Does.Contain("runs unconfined"));
        Assert.That(status.ExitCode, Is.Zero, status.ToString());
        Assert.That(status.Stdout, Does.Contain("virt_hooks_unconfined is on").And.Not.Contain("setsebool"));
    }

    [Test]
    public void With_selinux_permissive_nothing_is_denied()
    {
        Selinux("0", "0 0");

        var findings = Doctor();
        var status = CliRun.Run("--root", _root, "hooks", "status");

        Assert.That(findings.Single(f => f.Subject is null), Is.EqualTo(("ok", (string?)null, (string?)null, "SELinux is permissive: nothing the hook does is denied (only logged).")));
        Assert.That(status.ExitCode, Is.Zero, status.ToString());
        Assert.That(status.Stdout, Does.Contain("SELinux is permissive"));
    }

    [Test]
    public void Without_selinux_there_is_nothing_to_check()
    {
        var findings = Doctor();
        var status = CliRun.Run("--root", _root, "hooks", "status");

        Assert.That(findings.Select(f => (f.Severity, f.Subject)), Is.EqualTo(new[] { ("ok", (string?)null) }));
        Assert.That(findings.Single().Message, Does.Contain("not in use"));
        Assert.That(status.ExitCode, Is.Zero, status.ToString());
        Assert.That(status.Stdout, Does.Not.Contain("setsebool").And.Not.Contain("restorecon"));
    }

    [Test]
    public void A_hook_without_virt_hook_t_gets_the_restorecon_that_fixes_it()
    {
        Selinux("1", "1 1", label: "system_u:object_r:etc_t:s0");

        var findings = Doctor();
        var status = CliRun.Run("--root", _root, "hooks", "status");

        var label = findings.Single(f => f.Subject == "/etc/libvirt/hooks/qemu.d/50-passthrough");
        Assert.That(label.Severity, Is.EqualTo("error"));
        Assert.That(label.Message, Does.Contain("etc_t").And.Contain("virt_hook_t"));
        Assert.That(label.Remedy, Is.EqualTo("restorecon -Rv /etc/libvirt/hooks"));
        Assert.That(status.ExitCode, Is.EqualTo(1), status.ToString());
        Assert.That(status.Stdout, Does.Contain("etc_t").And.Contain("Run: restorecon -Rv /etc/libvirt/hooks"));
    }
}
