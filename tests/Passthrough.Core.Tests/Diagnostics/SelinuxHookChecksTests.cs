using NUnit.Framework;
using Passthrough.Diagnostics;

namespace Passthrough.Tests.Diagnostics;

public class SelinuxHookChecksTests
{
    private static readonly HookFile Labelled = new("/etc/libvirt/hooks/qemu.d/50-passthrough", true, "system_u:object_r:virt_hook_t:s0");

    [Test]
    public void Enforcing_with_the_boolean_off_warns_that_the_hook_is_confined_and_gives_setsebool()
    {
        var finding = SelinuxHookChecks.Check(true, false, [Labelled]).Single(f => f.Subject is null);

        Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(finding.Remedy, Is.EqualTo("setsebool -P virt_hooks_unconfined on"));
        Assert.That(finding.Evidence, Is.EqualTo(new[] { "/sys/fs/selinux/enforce: 1", "/sys/fs/selinux/booleans/virt_hooks_unconfined: 0" }));
    }

    [TestCase(true, true)]
    [TestCase(false, false)]
    [TestCase(false, null)]
    public void Unconfined_or_permissive_is_fine(bool enforcing, bool? unconfined) =>
        Assert.That(SelinuxHookChecks.Check(enforcing, unconfined, [Labelled]).Select(f => f.Severity), Is.All.EqualTo(Severity.Ok));

    [Test]
    public void A_policy_without_the_boolean_is_reported_as_unknown_not_fine() =>
        Assert.That(SelinuxHookChecks.Check(true, null, []).Single().Severity, Is.EqualTo(Severity.Info));

    [Test]
    public void A_hook_of_another_type_gets_restorecon_and_one_moved_from_home_is_left_to_the_libvirt_hooks_check()
    {
        var findings = SelinuxHookChecks.Check(true, true, [
            Labelled with { SelinuxLabel = "system_u:object_r:etc_t:s0" },
            new HookFile("/etc/libvirt/hooks/qemu", true, "unconfined_u:object_r:user_home_t:s0"),
        ]).Where(f => f.Subject is not null).ToList();

        Assert.That(findings.Select(f => (f.Subject, f.Severity, f.Remedy)), Is.EqualTo(new[] { ("/etc/libvirt/hooks/qemu.d/50-passthrough", Severity.Error, "restorecon -Rv /etc/libvirt/hooks") }));
    }

    [Test]
    public void Without_selinux_nothing_is_checked() =>
        Assert.That(SelinuxHookChecks.Check(null, null, [Labelled with { SelinuxLabel = null }]).Select(f => (f.Severity, f.Subject)), Is.EqualTo(new[] { (Severity.Ok, (string?)null) }));
}
