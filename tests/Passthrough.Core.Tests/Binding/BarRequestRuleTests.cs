using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Host;
using Passthrough.Pci;
using static Passthrough.Tests.Diagnostics.SeedHosts;

namespace Passthrough.Tests.Binding;

/// <summary>
/// One rule for a VM's &lt;passthrough:bar&gt;: the hook refuses by it (BarResizePlan.Resolve) and `xml lint` and
/// doctor report by it (bar-size); static mode applies none (bar-in-static-mode).
/// </summary>
public class BarRequestRuleTests
{
    private const long MiB = 1L << 20;
    private const long GiB = 1L << 30;

    /// <summary>Seed 003's RX 7900 XTX: BAR 0 at 256 MiB of 1 MiB..8 GiB; its HDMI audio has no resizable BAR.</summary>
    private static readonly PciFunction Gpu = Fn("0000:03:00.0", 0x1002, 0x744c, 0x030000, "amdgpu", 13) with
    {
        ResizableBars = [new ResizableBar(0, 256 * MiB, ResizableBar.SizesOfMask(0x3fff))],
    };

    private static readonly PciFunction Audio = Fn("0000:03:00.1", 0x1002, 0xab30, 0x040300, "snd_hda_intel", 13) with { ResizableBars = [] };

    private static HostInventory Host(params PciFunction[] functions) => MakeHost(Amd("amd_iommu=on", "6.17.7"), null, functions);

    private static DomainDocument Vm(string mode, params string[] bars) => DomainDocument.Parse(
        $"""
        <domain type='kvm'>
          <name>win11</name>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="{mode}">
              {string.Join("\n      ", bars)}
            </passthrough:config>
          </metadata>
          <os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices>
            <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>
            <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>
            <memballoon model='none'/>
          </devices>
        </domain>
        """,
        "win11.xml");

    private static List<Finding> BarFindings(DomainDocument domain, HostInventory? host = null) =>
        [.. DomainLint.Run(domain, new LintInputs { Host = host }).Where(f => f.Id.StartsWith("bar-", StringComparison.Ordinal))];

    [Test]
    public void A_size_the_card_offers_for_the_vms_gpu_passes_and_names_that_bar()
    {
        var check = BarResizePlan.Check(new BarRequest(0, 8 * GiB), [Gpu, Audio], "VM 'win11'");

        Assert.That(check.Problem, Is.Null);
        Assert.That(check.Function!.Address, Is.EqualTo(Gpu.Address), "no device=: the VM's one display function");
        Assert.That(check.Bar!.Current, Is.EqualTo(256 * MiB));
    }

    [TestCase(0, 16L << 30, null, "VM 'win11': 0000:03:00.0 BAR 0 does not offer 16 GiB (it offers 1 MiB, ")]
    [TestCase(2, 256L << 20, null, "VM 'win11': 0000:03:00.0 has no resizable BAR 2 (resizable: BAR 0).")]
    [TestCase(0, 256L << 20, "0000:03:00.1", "VM 'win11': 0000:03:00.1 has no resizable BAR 0 (resizable: none).")]
    [TestCase(0, 256L << 20, "0000:04:00.0", "VM 'win11': <passthrough:bar device=\"0000:04:00.0\"> is not one of the VM's devices.")]
    public void A_bar_the_card_cannot_take_is_refused_with_what_it_offers(int index, long bytes, string? device, string expected)
    {
        var request = new BarRequest(index, bytes, device is null ? null : PciAddress.Parse(device));

        var check = BarResizePlan.Check(request, [Gpu, Audio], "VM 'win11'");

        Assert.That(check.Problem, Does.StartWith(expected));
        Assert.That(check.Remedy, Is.Not.Empty);
        Assert.That(check.Unknown, Is.False);
    }

    [Test]
    public void With_two_gpus_and_no_device_I_am_asked_which_one()
    {
        var second = Gpu with { Address = PciAddress.Parse("0000:04:00.0") };

        var check = BarResizePlan.Check(new BarRequest(0, 8 * GiB), [Gpu, Audio, second], "VM 'win11'");

        Assert.That(check.Problem, Is.EqualTo("VM 'win11': <passthrough:bar> names no device and the VM has 2 display functions."));
        Assert.That(check.Remedy, Does.Contain("device=\"DDDD:BB:SS.F\""));
    }

    [Test]
    public void Bars_that_need_root_to_read_are_unknown_not_wrong()
    {
        var check = BarResizePlan.Check(new BarRequest(0, 8 * GiB), [Gpu with { ResizableBars = null }], "VM 'win11'");

        Assert.That(check.Unknown, Is.True);
        Assert.That(check.Problem, Does.Contain("cannot read the resizable BARs of 0000:03:00.0"));
    }

    [Test]
    public void Static_mode_applies_no_bar_and_the_other_modes_do()
    {
        Assert.That(BarResizePlan.AppliesIn(PassthroughMode.Static), Is.False);
        Assert.That(BarResizePlan.AppliesIn(PassthroughMode.Dynamic), Is.True);
        Assert.That(BarResizePlan.AppliesIn(PassthroughMode.SingleGpu), Is.True);
    }

    [Test]
    public void Lint_without_a_host_reports_each_malformed_bar_with_its_line_and_nothing_about_the_card()
    {
        var domain = Vm("dynamic", "<passthrough:bar index=\"7\" size=\"8GiB\"/>", "<passthrough:bar index=\"0\" size=\"3GiB\"/>", "<passthrough:bar index=\"0\" size=\"64GiB\"/>");

        var findings = BarFindings(domain);

        Assert.That(findings.Select(f => (f.Id, f.Severity)), Is.EqualTo(new[] { ("bar-size", Severity.Error), ("bar-size", Severity.Error) }), "64 GiB is well formed: whether the card offers it needs the host");
        Assert.That(findings[0].Message, Is.EqualTo("win11.xml:5: <passthrough:bar index=\"7\"> is not a BAR index (0 to 5)."));
        Assert.That(findings[1].Message, Does.StartWith("win11.xml:6: <passthrough:bar size=\"3GiB\"> is not a BAR size: a power of two"));
        Assert.That(findings[1].Evidence, Is.EqualTo(new[] { "win11.xml:6: <passthrough:bar index=\"0\" size=\"3GiB\" />" }));
        Assert.That(findings.Select(f => f.Remedy), Has.All.Not.Empty);
    }

    [Test]
    public void Lint_with_the_host_says_what_the_hook_would_refuse_in_the_hooks_words()
    {
        var domain = Vm("dynamic", "<passthrough:bar index=\"0\" size=\"16GiB\"/>", "<passthrough:bar index=\"0\" size=\"8GiB\"/>");
        var host = Host(Gpu, Audio);

        var finding = BarFindings(domain, host).Single();
        var hook = BarResizePlan.Check(domain.PassthroughConfig!.Bars[0], [Gpu, Audio], "win11.xml:5");

        Assert.That(finding.Severity, Is.EqualTo(Severity.Error));
        Assert.That(finding.Subject, Is.EqualTo("0000:03:00.0"));
        Assert.That(finding.Message, Is.EqualTo(hook.Problem));
        Assert.That(finding.Remedy, Is.EqualTo(hook.Remedy));
        Assert.That(finding.Evidence, Does.Contain("/sys/bus/pci/devices/0000:03:00.0: BAR 0: 256 MiB now, offers 1 MiB-8 GiB"));
    }

    [Test]
    public void Lint_of_a_static_vm_warns_that_its_bars_are_not_applied_with_and_without_the_host()
    {
        var domain = Vm("static", "<passthrough:bar index=\"0\" size=\"8GiB\"/>");

        foreach (var host in new[] { null, Host(Gpu with { Driver = "vfio-pci" }, Audio with { Driver = "vfio-pci" }) })
        {
            var finding = BarFindings(domain, host).Single();

            Assert.That(finding.Id, Is.EqualTo("bar-in-static-mode"));
            Assert.That(finding.Severity, Is.EqualTo(Severity.Warning));
            Assert.That(finding.Message, Does.StartWith("win11.xml:5: <passthrough:bar> (BAR 0 8 GiB) is not applied in mode=\"static\""));
            Assert.That(finding.Remedy, Does.Contain("mode=\"dynamic\"").And.Contain("at boot"));
            Assert.That(finding.Evidence, Does.Contain("<passthrough:config mode=\"static\">"));
        }
    }

    [Test]
    public void A_vm_without_bars_gets_no_bar_finding()
    {
        Assert.That(BarFindings(Vm("dynamic"), Host(Gpu, Audio)), Is.Empty);
        Assert.That(BarFindings(Vm("static"), Host(Gpu, Audio)), Is.Empty);
    }
}
