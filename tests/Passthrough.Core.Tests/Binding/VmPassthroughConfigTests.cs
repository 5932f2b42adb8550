using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Tests.Binding;

public class VmPassthroughConfigTests
{
    private const string Full = """
        <domain type='kvm'>
          <name>win11</name>
          <uuid>9A1C6E52-0D5E-4C47-9F1E-1B2F3C4D5E6F</uuid>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="single-gpu">
              <passthrough:display-manager unit="gdm.service"/>
              <passthrough:module name="nvidia_drm"/>
              <passthrough:module name="nvidia"/>
              <passthrough:device address="0000:00:14.0"/>
              <passthrough:timeouts sysfs-write="5" unit-stop="45"/>
            </passthrough:config>
          </metadata>
          <devices>
            <hostdev mode='subsystem' type='pci' managed='no'>
              <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>
            </hostdev>
            <hostdev mode='subsystem' type='pci' managed='no'>
              <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
            </hostdev>
            <hostdev mode='subsystem' type='usb'><source><vendor id='0x046d'/><product id='0xc52b'/></source></hostdev>
          </devices>
        </domain>
        """;

    [Test]
    public void I_can_read_everything_a_vm_asks_of_the_hook_from_its_domain_xml()
    {
        var config = VmPassthroughConfig.FromXml(Full, "win11.xml")!;

        Assert.That(config.DomainName, Is.EqualTo("win11"));
        Assert.That(config.DomainUuid, Is.EqualTo("9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f"));
        Assert.That(config.Mode, Is.EqualTo(PassthroughMode.SingleGpu));
        Assert.That(config.DisplayManagerUnit, Is.EqualTo("gdm.service"));
        Assert.That(config.Modules, Is.EqualTo(new[] { "nvidia_drm", "nvidia" }));
        Assert.That(config.Devices.Select(d => d.ToString()), Is.EqualTo(new[] { "0000:00:14.0", "0000:01:00.0", "0000:01:00.1" }));
        Assert.That(config.Timeouts.SysfsWrite, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(config.Timeouts.UnitStop, Is.EqualTo(TimeSpan.FromSeconds(45)));
        Assert.That(config.Timeouts.UnitStart, Is.EqualTo(TimeSpan.FromSeconds(30)), "default");
    }

    [Test]
    public void I_can_tell_whether_add_gpu_recorded_what_identifies_the_functions()
    {
        var recorded = Full.Replace(
            "<passthrough:timeouts",
            "<passthrough:identity address=\"0000:01:00.0\" ids=\"10de:2684\" path=\"00:01.0/00.0\"/>\n      <passthrough:timeouts",
            StringComparison.Ordinal);

        Assert.That(VmPassthroughConfig.FromXml(recorded, "win11.xml")!.RecordsIdentities, Is.True, "the hook checks the functions did not move");
        Assert.That(VmPassthroughConfig.FromXml(Full, "win11.xml")!.RecordsIdentities, Is.False, "nothing to check: the hook skips the second parse");
    }

    [Test]
    public void I_get_no_configuration_for_a_vm_without_our_metadata()
    {
        Assert.That(VmPassthroughConfig.FromXml("<domain><name>plain</name><metadata><x:y xmlns:x='urn:other'/></metadata></domain>", "plain.xml"), Is.Null);
    }

    [TestCase("mode=\"single-gpu\"", "mode=\"singlegpu\"", "<passthrough:config mode=\"singlegpu\"> is not a mode")]
    [TestCase("address=\"0000:00:14.0\"", "address=\"00:14\"", "<passthrough:device address=\"00:14\"> is not a PCI address")]
    [TestCase("sysfs-write=\"5\"", "sysfs-write=\"soon\"", "<passthrough:timeouts sysfs-write=\"soon\"> is not a number of seconds")]
    [TestCase("bus='0x01' slot='0x00' function='0x1'", "bus='zz' slot='0x00' function='0x1'", "hostdev address bus='zz' is not a number")]
    public void I_get_the_file_line_and_a_fix_for_a_bad_setting(string good, string bad, string message)
    {
        var error = Assert.Throws<PassthroughException>(() => VmPassthroughConfig.FromXml(Full.Replace(good, bad, StringComparison.Ordinal), "win11.xml"));

        Assert.That(error!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Does.StartWith("win11.xml:").And.Contain(message));
        Assert.That(error.Remedy, Is.Not.Empty);
    }

    [Test]
    public void I_get_the_line_of_broken_xml()
    {
        var error = Assert.Throws<PassthroughException>(() => VmPassthroughConfig.FromXml("<domain>\n<name>x</nam>\n</domain>", "stdin"));

        Assert.That(error!.Message, Does.StartWith("stdin: line 2, column 10: the domain XML is not well-formed"));
    }

    [Test]
    public void I_get_the_plan_steps_in_the_kernels_order_and_nothing_for_a_function_already_on_vfio_pci()
    {
        var address = PciAddress.Parse("0000:03:00.0");

        Assert.That(BindingPlan.StepsFor(address, "amdgpu").Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "set driver_override of 0000:03:00.0 to vfio-pci",
            "unbind 0000:03:00.0 from amdgpu",
            "probe drivers for 0000:03:00.0",
            "check that 0000:03:00.0 is on vfio-pci",
        }));
        Assert.That(BindingPlan.StepsFor(address, null).Select(s => s.Kind), Does.Not.Contain(StepKind.Unbind));
        Assert.That(BindingPlan.StepsFor(address, "vfio-pci"), Is.Empty);
    }

    [Test]
    public void I_get_a_restore_that_only_redoes_what_is_still_missing()
    {
        var original = new FunctionState(PciAddress.Parse("0000:03:00.0"), "amdgpu", null);

        Assert.That(RestorePlan.Release(original, original with { Driver = "vfio-pci", Override = "vfio-pci" }).Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "unbind 0000:03:00.0 from vfio-pci",
            "clear driver_override of 0000:03:00.0",
        }));
        Assert.That(RestorePlan.Rebind(original, original with { Driver = null }).Select(s => s.ToString()), Is.EqualTo(new[]
        {
            "bind 0000:03:00.0 to amdgpu",
            "check that 0000:03:00.0 is on amdgpu",
        }));
        Assert.That(RestorePlan.Release(original, original), Is.Empty);
        Assert.That(RestorePlan.Rebind(original, original), Is.Empty);
    }
}
