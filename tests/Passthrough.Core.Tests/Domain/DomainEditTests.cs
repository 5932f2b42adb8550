using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Domain;

/// <summary>
/// Golden in/out pairs per edit (tests/fixtures/domains/golden/NAME.in.xml and NAME.out.xml). The
/// outputs are reviewed; regenerate them only on purpose with PASSTHROUGH_REGENERATE_GOLDEN=1.
/// </summary>
public class DomainEditTests
{
    public static readonly Dictionary<string, Action<DomainDocument>> Cases = new()
    {
        ["add-gpu-free-root-port"] = d => DomainEdits.AddGpu(d, new GpuAttachment(PciSlot.Parse("0000:0b:00"), [0, 1])),
        ["add-gpu-hand-written"] = d => DomainEdits.AddGpu(d, new GpuAttachment(PciSlot.Parse("0000:0a:00"), [0, 1])),
        ["add-gpu-seed004-split"] = d => DomainEdits.AddGpu(d, new GpuAttachment(PciSlot.Parse("0000:01:00"), [0, 1])),
        ["add-gpu-one-line"] = d => DomainEdits.AddGpu(d, new GpuAttachment(PciSlot.Parse("0000:03:00"), [0, 1])),
        ["add-gpu-rom"] = d => DomainEdits.AddGpu(d, new GpuAttachment(PciSlot.Parse("0000:03:00"), [0, 1, 2, 3]).WithRom("/usr/share/vgabios/navi31.rom", true)),
        ["add-gpu-i440fx"] = d => DomainEdits.AddGpu(d, new GpuAttachment(PciSlot.Parse("0000:02:00"), [0, 1]).WithAllowI440fx(true)),
        ["add-gpu-tabs"] = d => DomainEdits.AddGpu(d, new GpuAttachment(PciSlot.Parse("0000:65:00"), [0, 1, 2]).WithManaged(false)),
        ["remove-gpu"] = d => DomainEdits.RemoveGpu(d, PciSlot.Parse("0000:03:00")),
        ["set-windows-features"] = d => DomainEdits.Set(d, new DomainSettings { HypervVendorId = "1234567890ab", KvmHidden = true, Smm = true, Ioapic = "kvm", MemballoonNone = true, Topology = new CpuTopology(1, 8, 2) }),
        ["set-memballoon-none"] = d => DomainEdits.Set(d, new DomainSettings { MemballoonNone = true }),
        ["set-topoext"] = d => DomainEdits.Set(d, new DomainSettings { Topoext = true }),
        ["set-passthrough-mode"] = d => DomainEdits.Set(d, new DomainSettings { PassthroughMode = PassthroughMode.Dynamic }),
        ["set-passthrough-off"] = d => DomainEdits.Set(d, new DomainSettings { PassthroughOff = true }),
        ["set-crlf"] = d => DomainEdits.Set(d, new DomainSettings { Smm = true, KvmHidden = true }),
        ["set-double-quotes"] = d => DomainEdits.Set(d, new DomainSettings { KvmHidden = true, HypervVendorId = "passthru" }),
        ["set-topology-minimal"] = d => DomainEdits.Set(d, new DomainSettings { Topology = new CpuTopology(1, 2, 2), Topoext = true, AddHostPassthroughCpu = true }),
        ["set-vendor-off"] = d => DomainEdits.Set(d, new DomainSettings { HypervVendorId = "off", KvmHidden = false }),
    };

    public static IEnumerable<string> CaseNames => Cases.Keys;

    public static string GoldenDir => Path.Join(RepoPaths.Fixtures, "domains", "golden");

    public static string Apply(string name, string text)
    {
        var domain = DomainDocument.Parse(text, name + ".xml");
        Cases[name](domain);
        return domain.Save();
    }

    [TestCaseSource(nameof(CaseNames))]
    public void I_get_the_reviewed_output_for_each_edit(string name)
    {
        var input = File.ReadAllText(Path.Join(GoldenDir, name + ".in.xml"));
        var output = Apply(name, input);
        var goldenPath = Path.Join(GoldenDir, name + ".out.xml");
        if (Environment.GetEnvironmentVariable("PASSTHROUGH_REGENERATE_GOLDEN") == "1")
        {
            File.WriteAllText(goldenPath, output);
        }

        Assert.That(File.Exists(goldenPath), $"no golden output {goldenPath}; review one made with PASSTHROUGH_REGENERATE_GOLDEN=1");
        Assert.That(output, Is.EqualTo(File.ReadAllText(goldenPath)));
    }

    [TestCaseSource(nameof(CaseNames))]
    public void Applying_an_edit_twice_gives_the_same_document_as_once(string name)
    {
        var input = File.ReadAllText(Path.Join(GoldenDir, name + ".in.xml"));
        var once = Apply(name, input);
        Assert.That(Apply(name, once), Is.EqualTo(once));
    }

    [TestCaseSource(nameof(CaseNames))]
    public void I_keep_every_comment_of_the_input(string name)
    {
        var input = File.ReadAllText(Path.Join(GoldenDir, name + ".in.xml"));
        var comments = System.Xml.Linq.XDocument.Parse(input).DescendantNodes().OfType<System.Xml.Linq.XComment>().Select(c => c.Value);
        var output = Apply(name, input);
        foreach (var comment in comments)
        {
            Assert.That(output, Does.Contain(comment));
        }
    }

    [Test]
    public void I_get_every_gpu_function_on_one_guest_slot_with_multifunction_on_function_0()
    {
        var domain = DomainDocument.Parse(File.ReadAllText(Path.Join(GoldenDir, "add-gpu-seed004-split.in.xml")), "a.xml");

        DomainEdits.AddGpu(domain, new GpuAttachment(PciSlot.Parse("0000:01:00"), [0, 1]));

        var guests = domain.PciHostdevs.Select(h => h.Guest!.Value).ToList();
        Assert.That(guests.Select(g => (g.Bus, g.Slot)).Distinct().Count(), Is.EqualTo(1));
        Assert.That(guests.Select(g => g.Function), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(guests[0].Multifunction, Is.True);
        Assert.That(guests[1].Multifunction, Is.False);
    }

    [Test]
    public void I_get_a_new_pcie_root_port_when_none_is_free()
    {
        var domain = DomainDocument.Parse(File.ReadAllText(Path.Join(GoldenDir, "add-gpu-free-root-port.in.xml")), "a.xml");
        DomainEdits.AddGpu(domain, new GpuAttachment(PciSlot.Parse("0000:0b:00"), [0, 1]));
        var before = domain.Devices!.Elements("controller").Count();

        DomainEdits.AddGpu(domain, new GpuAttachment(PciSlot.Parse("0000:0c:00"), [0]));

        Assert.That(domain.Devices!.Elements("controller").Count(), Is.EqualTo(before + 1));
        var card = domain.PciHostdevs.Single(h => h.Source.Slot == PciSlot.Parse("0000:0c:00"));
        Assert.That(card.Guest!.Value.Bus, Is.EqualTo(6));
    }

    [Test]
    public void I_get_the_file_line_and_column_of_malformed_xml()
    {
        var e = Assert.Throws<PassthroughException>(() => DomainDocument.Parse("<domain>\n  <name>x</nam>\n</domain>", "vm.xml"));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.StartWith("vm.xml:2:"));
    }

    [Test]
    public void I_am_told_when_the_document_is_not_a_domain()
    {
        var e = Assert.Throws<PassthroughException>(() => DomainDocument.Parse("<network><name>default</name></network>", "net.xml"));

        Assert.That(e!.Message, Does.Contain("net.xml").And.Contain("not a libvirt <domain>"));
    }

    [Test]
    public void I_can_not_require_topoext_on_a_host_model_cpu()
    {
        var domain = DomainDocument.Parse(File.ReadAllText(Path.Join(GoldenDir, "set-vendor-off.in.xml")), "win10.xml");

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.Set(domain, new DomainSettings { Topoext = true }));

        Assert.That(e!.Message, Does.Contain("host-passthrough").And.Contain("win10.xml:"));
    }

    [Test]
    public void I_can_read_our_passthrough_config_from_metadata()
    {
        var domain = DomainDocument.Parse(File.ReadAllText(Path.Join(GoldenDir, "remove-gpu.in.xml")), "a.xml");

        var config = domain.PassthroughConfig!;

        Assert.That(config.Mode, Is.EqualTo(PassthroughMode.SingleGpu));
        Assert.That(config.DisplayManagerUnit, Is.EqualTo("sddm.service"));
        Assert.That(config.Modules, Is.EqualTo(new[] { "amdgpu" }));
        Assert.That(config.Timeout("unit-stop"), Is.EqualTo(TimeSpan.FromSeconds(30)));
    }

    [Test]
    public void Setting_a_passthrough_mode_hands_the_hostdevs_to_the_hook_and_off_gives_them_back()
    {
        var domain = DomainDocument.Parse(File.ReadAllText(Path.Join(GoldenDir, "set-passthrough-mode.in.xml")), "a.xml");

        DomainEdits.SetPassthroughMode(domain, PassthroughMode.Static);
        Assert.That(domain.PassthroughConfig!.Mode, Is.EqualTo(PassthroughMode.Static));
        Assert.That(domain.PciHostdevs.All(h => !h.Managed));

        DomainEdits.SetPassthroughOff(domain);
        Assert.That(domain.PassthroughConfig, Is.Null);
        Assert.That(domain.PciHostdevs.All(h => h.Managed));
    }
}
