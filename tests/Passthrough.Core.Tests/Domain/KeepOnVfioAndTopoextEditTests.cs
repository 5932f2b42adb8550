using NUnit.Framework;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Testing;

namespace Passthrough.Tests.Domain;

/// <summary>The pure rules behind `xml set --keep-on-vfio`, lint's keep-on-vfio-single-gpu and --pin's topoext on AMD.</summary>
public class KeepOnVfioAndTopoextEditTests
{
    private static DomainDocument Vm(string mode, string config = "", string cpu = "<cpu mode='host-passthrough'/>") => DomainDocument.Parse(
        $"""
        <domain type='kvm'>
          <name>vm</name>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="{mode}">{config}</passthrough:config>
          </metadata>
          <vcpu>4</vcpu>
          <os><type arch='x86_64' machine='q35'>hvm</type></os>
          {cpu}
          <devices/>
        </domain>
        """,
        "vm.xml");

    [Test]
    public void Keep_on_vfio_goes_before_the_bars_and_identities_and_off_removes_the_element()
    {
        var domain = Vm("dynamic", "<passthrough:timeouts unit-stop=\"30\"/><passthrough:bar index=\"0\" size=\"8GiB\"/>");

        DomainEdits.Set(domain, new DomainSettings { KeepOnVfio = true });
        var names = domain.PassthroughConfig!.Element.Elements().Select(e => e.Name.LocalName);

        Assert.That(names, Is.EqualTo(new[] { "timeouts", "release", "bar" }));
        Assert.That(domain.PassthroughConfig.KeepOnVfio, Is.True);
        DomainEdits.Set(domain, new DomainSettings { KeepOnVfio = false });
        Assert.That(domain.PassthroughConfig!.Element.Elements().Select(e => e.Name.LocalName), Is.EqualTo(new[] { "timeouts", "bar" }));
    }

    [Test]
    public void Keep_on_vfio_needs_our_config()
    {
        var domain = DomainDocument.Parse("<domain type='kvm'><name>vm</name><devices/></domain>", "plain.xml");

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.Set(domain, new DomainSettings { KeepOnVfio = true }))!;

        Assert.That(e.Message, Does.Contain("has no <passthrough:config>"));
        Assert.That(e.Remedy, Does.Contain("--passthrough-mode dynamic"));
    }

    [Test]
    public void Lint_warns_only_for_keep_on_vfio_in_single_gpu_mode()
    {
        static Finding? Rule(DomainDocument d) => DomainLint.Run(d).FirstOrDefault(f => f.Id == "keep-on-vfio-single-gpu");

        var single = Rule(Vm("single-gpu", "<passthrough:release keep-on-vfio=\"yes\"/>"));

        Assert.That(single?.Severity, Is.EqualTo(Severity.Warning));
        Assert.That(single!.Message, Does.StartWith("vm.xml:4: "));
        Assert.That(Rule(Vm("dynamic", "<passthrough:release keep-on-vfio=\"yes\"/>")), Is.Null);
        Assert.That(Rule(Vm("single-gpu", "<passthrough:release keep-on-vfio=\"no\"/>")), Is.Null);
    }

    [TestCase("AuthenticAMD", true)]
    [TestCase("HygonGenuine", true)]
    [TestCase("GenuineIntel", false)]
    [TestCase(null, false)]
    public void Pinning_smt_pairs_requires_topoext_on_amd_hosts_only(string? vendor, bool expected)
    {
        var domain = Vm("dynamic");

        var outcome = DomainEdits.Set(domain, new DomainSettings { Pin = new CpuPinRequest(CpuFixtureHosts.EightCore).WithHostCpuVendor(vendor) });

        Assert.That(domain.Cpu!.Element("topology")!.Attribute("threads")!.Value, Is.EqualTo("2"));
        Assert.That(domain.Cpu.Elements("feature").Any(f => f.Attribute("name")?.Value == "topoext"), Is.EqualTo(expected));
        Assert.That(outcome.Actions, expected ? Has.One.StartsWith("require topoext") : Is.Empty);
    }

    [Test]
    public void An_explicit_topoext_off_or_a_disabled_topoext_is_left_as_the_user_wants()
    {
        var pin = new CpuPinRequest(CpuFixtureHosts.EightCore).WithHostCpuVendor("AuthenticAMD");
        var off = Vm("dynamic");
        var disabled = Vm("dynamic", cpu: "<cpu mode='host-passthrough'><feature policy='disable' name='topoext'/></cpu>");

        var offOutcome = DomainEdits.Set(off, new DomainSettings { Pin = pin, Topoext = false });
        var disabledOutcome = DomainEdits.Set(disabled, new DomainSettings { Pin = pin });

        Assert.That(off.Cpu!.Elements("feature"), Is.Empty);
        Assert.That(offOutcome.Actions, Is.Empty);
        Assert.That(disabled.Cpu!.Elements("feature").Single().Attribute("policy")!.Value, Is.EqualTo("disable"));
        Assert.That(disabledOutcome.Actions, Is.Empty);
    }
}
