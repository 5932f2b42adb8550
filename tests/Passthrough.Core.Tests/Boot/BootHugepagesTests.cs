using NUnit.Framework;
using Passthrough.Boot;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Setup;

namespace Passthrough.Tests.Boot;

public class BootHugepagesTests
{
    private static readonly HostFacts Amd = new() { CpuVendor = "AuthenticAMD" };

    [Test]
    public void I_can_have_setup_reserve_1g_hugepages_at_boot()
    {
        var files = new BootFiles(new Dictionary<string, string> { ["/etc/default/grub"] = "GRUB_CMDLINE_LINUX=\"quiet\"\n" }, ["/usr/sbin/update-grub"]);

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Dynamic, Facts = Amd, Files = files }.WithHugepages(BootHugepages.Parse(16, "1G")));

        Assert.That(plan.ArgumentsAdded, Does.Contain("default_hugepagesz=1G").And.Contain("hugepagesz=1G").And.Contain("hugepages=16"));
        Assert.That(plan.Edits.Single(e => e.Path == "/etc/default/grub").After, Does.Contain("default_hugepagesz=1G hugepagesz=1G hugepages=16"));
        Assert.That(plan.RebootNeeded, Is.True);
    }

    [TestCase(0, "2M", "--hugepages 0: expected a number of pages above 0")]
    [TestCase(8, "4M", "--hugepage-size 4M: x86 hugepages are 2M or 1G")]
    public void I_get_one_error_for_a_page_count_or_size_that_cannot_be(int count, string size, string expected)
    {
        var error = Assert.Throws<PassthroughException>(() => BootHugepages.Parse(count, size));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.StartWith(expected));
    }
}
