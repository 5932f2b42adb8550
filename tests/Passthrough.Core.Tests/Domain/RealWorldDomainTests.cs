using System.Text;
using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Domain;

/// <summary>Domain XMLs as they come from the wild (issue 18): entities, encodings, crowded buses, other architectures and hypervisors.</summary>
public class RealWorldDomainTests
{
    private static string CorpusFile(string name) => Path.Join(RepoPaths.Fixtures, "domains", "corpus", name);

    private static DomainDocument Corpus(string name)
    {
        var (text, encoding) = DomainDocument.Decode(File.ReadAllBytes(CorpusFile(name)), name);
        return DomainDocument.Parse(text, name, encoding);
    }

    private static string Domain(string arch, string type = "kvm", string machine = "virt", string extra = "") => $"""
        <domain type='{type}'>
          <name>other</name>
          <memory unit='KiB'>1048576</memory>
          <os>
            <type arch='{arch}' machine='{machine}'>hvm</type>
          </os>
          {extra}
          <devices>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source>
                <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
              </source>
            </hostdev>
          </devices>
        </domain>
        """;

    [Test]
    public void I_keep_apostrophes_quotes_character_references_and_entities_as_written_through_an_edit()
    {
        var text = File.ReadAllText(CorpusFile("entities-in-text.xml"));
        var domain = DomainDocument.Parse(text, "entities-in-text.xml");

        DomainEdits.Set(domain, new DomainSettings { KvmHidden = true });
        var saved = domain.Save();

        var expected = text.Replace("    <apic/>\n", "    <apic/>\n    <kvm>\n      <hidden state='on'/>\n    </kvm>\n", StringComparison.Ordinal);
        Assert.That(saved, Is.EqualTo(expected), "only the <kvm> lines are new; &apos; &quot; &#65; &#x42; &#10; and &gt; in the attribute stay as written");
    }

    [Test]
    public void I_keep_internal_DTD_entities_and_the_DOCTYPE_as_written_through_an_edit()
    {
        var text = File.ReadAllText(CorpusFile("dtd-internal-entity.xml"));
        var domain = DomainDocument.Parse(text, "dtd-internal-entity.xml");

        DomainEdits.Set(domain, new DomainSettings { MemballoonNone = true });
        var saved = domain.Save();

        Assert.That(saved, Does.StartWith(text[..text.IndexOf("<domain", StringComparison.Ordinal)]));
        Assert.That(saved, Does.Contain("<description>Owned by &owner;; disks live in &imgdir;.</description>"));
        Assert.That(saved, Does.Contain("<source file='&imgdir;/dtd.qcow2'/>"));
        Assert.That(saved.Replace("    <memballoon model='none'/>\n", string.Empty, StringComparison.Ordinal), Is.EqualTo(text));
    }

    [Test]
    public void A_literal_greater_than_sign_in_text_stays_literal_through_an_edit()
    {
        var domain = DomainDocument.Parse("<domain type='kvm'><name>gt</name><description>3 > 2, \"quoted\"</description><memory>1</memory></domain>", "t.xml");

        DomainEdits.Set(domain, new DomainSettings { Smm = true });

        Assert.That(domain.Save(), Does.Contain("<description>3 > 2, \"quoted\"</description>"));
    }

    [Test]
    public void An_edited_value_is_written_fresh_and_its_neighbours_keep_their_spelling()
    {
        var domain = DomainDocument.Parse("<domain type='kvm'><name>a&apos;b</name><title>x&#65;</title><memory>1</memory></domain>", "t.xml");

        domain.Root.Element("title")!.Value = "changed";

        Assert.That(domain.Save(), Is.EqualTo("<domain type='kvm'><name>a&apos;b</name><title>changed</title><memory>1</memory></domain>"));
    }

    [Test]
    public void I_get_an_ISO_8859_1_file_back_in_ISO_8859_1_after_an_edit()
    {
        var bytes = File.ReadAllBytes(CorpusFile("latin1-declared.xml"));
        var (text, encoding) = DomainDocument.Decode(bytes, "latin1-declared.xml");
        var domain = DomainDocument.Parse(text, "latin1-declared.xml", encoding);

        DomainEdits.Set(domain, new DomainSettings { MemballoonNone = true });
        var saved = domain.SaveBytes();

        Assert.That(domain.Root.Element("title")!.Value, Is.EqualTo("René's VM"));
        Assert.That(saved, Does.Contain((byte)0xE9), "é stays one ISO-8859-1 byte");
        Assert.That(Encoding.Latin1.GetString(saved), Does.Not.Contain("\uFFFD").And.Contain("<title>René's VM</title>"));
        Assert.That(Encoding.Latin1.GetString(saved).Replace("    <memballoon model='none'/>\n", string.Empty, StringComparison.Ordinal), Is.EqualTo(Encoding.Latin1.GetString(bytes)));
    }

    [Test]
    public void I_keep_a_UTF8_byte_order_mark()
    {
        var bytes = File.ReadAllBytes(CorpusFile("utf8-bom.xml"));
        var (text, encoding) = DomainDocument.Decode(bytes, "utf8-bom.xml");
        var domain = DomainDocument.Parse(text, "utf8-bom.xml", encoding);

        DomainEdits.Set(domain, new DomainSettings { Smm = true });

        Assert.That(domain.SaveBytes().Take(3), Is.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }));
        Assert.That(text, Does.Not.StartWith("\uFEFF"));
    }

    [Test]
    public void A_byte_that_is_not_UTF8_is_bad_input_naming_the_line_and_offset()
    {
        var bytes = Encoding.ASCII.GetBytes("<domain type='kvm'>\n  <name>x</name>\n  <title>Ren?</title>\n</domain>\n");
        var offset = Array.IndexOf(bytes, (byte)'?');
        bytes[offset] = 0xE9;

        var e = Assert.Throws<PassthroughException>(() => DomainDocument.Decode(bytes, "win.xml"));

        Assert.That(e!.Message, Does.Contain("win.xml:3:").And.Contain("Input is not proper UTF-8").And.Contain($"offset {offset}").And.Contain("0xE9"));
        Assert.That(e.Remedy, Does.Contain("iconv"));
    }

    [Test]
    public void I_do_not_put_the_gpu_on_a_disk_whose_bus_has_no_declared_controller()
    {
        var domain = Corpus("q35-disk-on-undeclared-bus.xml");

        DomainEdits.AddGpu(domain, new GpuAttachment(PciSlot.Parse("0000:03:00"), [0, 1]));

        var gpu = domain.PciHostdevs.Select(h => h.Guest!.Value).ToList();
        Assert.That(gpu.Select(g => g.Bus).Distinct().Single(), Is.EqualTo(2), "bus 1 is the disk's (libvirt adds its root port itself)");
        var port = domain.Devices!.Elements("controller").Single(c => c.Attribute("model")?.Value == "pcie-root-port");
        Assert.That(port.Attribute("index")!.Value, Is.EqualTo("2"));
    }

    [Test]
    public void On_i440fx_with_bus_0_full_the_gpu_goes_to_a_free_slot_of_the_pci_bridge_on_one_multifunction_slot()
    {
        var domain = Corpus("i440fx-bus0-full-bridge.xml");

        DomainEdits.AddGpu(domain, new GpuAttachment(PciSlot.Parse("0000:03:00"), [0, 1]).WithAllowI440fx(true));

        var guests = domain.PciHostdevs.Select(h => h.Guest!.Value).ToList();
        Assert.That(guests.Select(g => (g.Bus, g.Slot)).Distinct().Single(), Is.EqualTo((1, 2)), "bridge 1: slot 0 is not usable, slot 1 has a NIC");
        Assert.That(guests.Select(g => g.Function), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(guests[0].Multifunction, Is.True);
    }

    [Test]
    public void On_i440fx_with_bus_0_and_every_bridge_full_I_am_told_so()
    {
        var text = File.ReadAllText(CorpusFile("i440fx-bus0-full-bridge.xml")).Replace("model='pci-bridge'", "model='pci-expander-bus'", StringComparison.Ordinal);
        var domain = DomainDocument.Parse(text, "full.xml");

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.AddGpu(domain, new GpuAttachment(PciSlot.Parse("0000:03:00"), [0, 1]).WithAllowI440fx(true)));

        Assert.That(e!.Message, Does.Contain("bus 0 and of its pci-bridges is in use"));
    }

    [Test]
    public void Add_gpu_on_i440fx_refuses_with_the_reason_lint_gives()
    {
        var domain = DomainDocument.Parse(File.ReadAllText(Path.Join(RepoPaths.Fixtures, "domains", "golden", "add-gpu-i440fx.in.xml")), "pc.xml");
        var before = domain.Save();
        DomainEdits.RemoveGpu(domain, PciSlot.Parse("0000:02:00"));
        var bare = domain.Save();

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.AddGpu(domain, new GpuAttachment(PciSlot.Parse("0000:02:00"), [0, 1])));
        var linted = DomainDocument.Parse(before, "pc.xml");
        var finding = DomainLint.Run(linted).Single(f => f.Id == "pcie-on-i440fx");

        Assert.That(e!.Message, Does.Contain("an i440fx machine with no PCIe bus").And.Contain("pcie-on-i440fx"));
        Assert.That(e.Remedy, Does.StartWith(finding.Remedy!));
        Assert.That(domain.Save(), Is.EqualTo(bare), "nothing changed");
    }

    [TestCase("bhyve")]
    [TestCase("lxc")]
    [TestCase("xen")]
    [TestCase("vz")]
    public void Lint_has_no_i440fx_rule_for_hypervisors_without_QEMU_machines(string type)
    {
        var domain = DomainDocument.Parse(Domain("x86_64", type, "pc"), "other.xml");

        Assert.That(DomainLint.Run(domain).Select(f => f.Id), Does.Not.Contain("pcie-on-i440fx"));
        Assert.That(DomainLint.Run(DomainDocument.Parse(Domain("x86_64", "kvm", "pc"), "kvm.xml")).Select(f => f.Id), Does.Contain("pcie-on-i440fx"), "the same domain under KVM is an i440fx machine");
    }

    [TestCase("s390x", "s390-ccw-virtio")]
    [TestCase("ppc64", "pseries")]
    [TestCase("riscv64", "virt")]
    [TestCase("aarch64", "virt")]
    public void X86_only_settings_are_refused_on_other_architectures(string arch, string machine)
    {
        var cpu = "<cpu mode='host-passthrough'/>";
        DomainSettings[] settings = [new() { HypervVendorId = "randomid" }, new() { Topoext = true }, new() { KvmHidden = true }];
        foreach (var setting in settings)
        {
            var domain = DomainDocument.Parse(Domain(arch, machine: machine, extra: cpu), "other.xml");
            var before = domain.Save();

            var e = Assert.Throws<PassthroughException>(() => DomainEdits.Set(domain, setting));

            Assert.That(e!.Message, Does.Contain($"arch='{arch}'").And.Contain("x86 guests only"));
            Assert.That(domain.Save(), Is.EqualTo(before));
        }
    }

    [Test]
    public void Topoext_on_a_domain_without_cpu_says_so_and_adds_it_when_asked()
    {
        var text = File.ReadAllText(CorpusFile("minimal.xml"));

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.Set(DomainDocument.Parse(text, "minimal.xml"), new DomainSettings { Topoext = true }));
        var domain = DomainDocument.Parse(text, "minimal.xml");
        DomainEdits.Set(domain, new DomainSettings { Topoext = true, AddHostPassthroughCpu = true });

        Assert.That(e!.Message, Does.Contain("has no <cpu> element").And.Not.Contain("mode=''"));
        Assert.That(e.Remedy, Does.Contain("--cpu host-passthrough").And.Contain("<cpu mode='host-passthrough'"));
        Assert.That(domain.Cpu!.Attribute("mode")!.Value, Is.EqualTo("host-passthrough"));
        Assert.That(domain.Cpu.Elements("feature").Single().Attribute("name")!.Value, Is.EqualTo("topoext"));
    }
}
