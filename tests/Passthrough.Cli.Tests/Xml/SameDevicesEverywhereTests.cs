using System.Xml.Linq;
using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Binding;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>
/// Every reader of a domain's PCI hostdevs (the hook, doctor, setup --vm, xml lint, remove-gpu and
/// add-gpu) goes through one model, so bus='10', bus='0x0a' and bus='012' (octal, as C's strtoul
/// reads it) are the same card 0000:0a:00 everywhere, and libvirt itself agrees.
/// </summary>
public class SameDevicesEverywhereTests
{
    private static readonly string[] Expected = ["0000:0a:00.0", "0000:0a:00.1"];

    private static string Domain(string bus) => $"""
        <domain type='kvm'>
          <name>win11</name>
          <uuid>9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f</uuid>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="dynamic"/>
          </metadata>
          <memory unit='GiB'>8</memory>
          <os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address domain='0x0000' bus='{bus}' slot='0x00' function='0x0'/></source>
            </hostdev>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address domain='0' bus='{bus}' slot='0' function='1'/></source>
            </hostdev>
          </devices>
        </domain>
        """;

    private static string HostWithCardOnBus10(TempDirectory temp)
    {
        var root = SetupFixtures.Create("debian-grub", temp);
        SetupFixtures.AddFunction(root, "0000:0a:00.0", "1002", "744c", "0x030000", "amdgpu", 30, bootVga: false);
        SetupFixtures.AddFunction(root, "0000:0a:00.1", "1002", "ab30", "0x040300", "snd_hda_intel", 30, bootVga: false);
        return root;
    }

    [TestCase("10")]
    [TestCase("0x0a")]
    [TestCase("0xA")]
    [TestCase("012")]
    public void I_get_the_same_devices_from_every_reader_however_the_bus_is_written(string bus)
    {
        using var temp = new TempDirectory();
        var root = HostWithCardOnBus10(temp);
        var xml = Domain(bus);
        var file = temp.Combine("win11.xml");
        File.WriteAllText(file, xml);

        // The hook's reading, and the doctor's.
        Assert.That(VmPassthroughConfig.FromXml(xml, "stdin")!.Devices.Select(d => d.ToString()), Is.EqualTo(Expected), "hook");
        Assert.That(VmDefinition.Parse(xml, "win11.xml").HostDevices.Select(d => d.ToString()), Is.EqualTo(Expected), "doctor's VM reading");

        // doctor --xml and xml lint name both functions in the managed='yes' warning.
        var doctor = CliRun.Run("--root", root, "doctor", "--xml", file, "--json");
        var lint = CliRun.Run("--root", root, "xml", "lint", file);
        foreach (var device in Expected)
        {
            Assert.That(doctor.Stdout, Does.Contain($"{device} is managed="), "doctor --xml: " + doctor);
            Assert.That(lint.Stdout, Does.Contain($"{device} is managed='yes'"), "xml lint: " + lint);
        }

        // setup --vm plans for the host's functions at 0a:00.
        var runner = new RecordingProcessRunner((program, _) => program == "virsh" ? new ProcessResult("virsh dumpxml win11", 0, xml, string.Empty, false, TimeSpan.Zero) : null);
        var setup = CliRun.RunWith(null, runner, "--root", root, "setup", "plan", "--vm", "win11");
        Assert.That(setup.ExitCode, Is.Zero, setup.ToString());
        Assert.That(setup.Stdout, Does.Contain("0000:0a:00.0 [1002:744c]").And.Contain("0000:0a:00.1 [1002:ab30]"), "setup --vm");

        // remove-gpu finds both; add-gpu sees both already there and adds none.
        var removed = CliRun.RunWith(xml, null, "xml", "remove-gpu", "-", "--slot", "0000:0a:00");
        Assert.That(removed.ExitCode, Is.Zero, removed.ToString());
        Assert.That(XDocument.Parse(removed.Stdout).Descendants("hostdev"), Is.Empty, "remove-gpu");

        var added = CliRun.RunWith(xml, null, "xml", "add-gpu", "-", "--slot", "0000:0a:00", "--functions", "0,1");
        Assert.That(added.ExitCode, Is.Zero, added.ToString());
        var sources = XDocument.Parse(added.Stdout).Descendants("hostdev").Select(h => (string?)h.Element("source")!.Element("address")!.Attribute("bus")).ToList();
        Assert.That(sources, Is.EqualTo(new[] { bus, bus }), "add-gpu keeps the two hostdevs it found and adds none");
    }

    [Test]
    public void Libvirt_reads_decimal_hex_and_octal_addresses_as_we_do_and_writes_them_as_we_do()
    {
        var written = new[] { "10", "0x0a", "012", "0x1f", "31", "037" };
        var documents = written.Select((bus, i) => ($"bus={bus}", Domain(bus)
            .Replace("<name>win11</name>", $"<name>vm{i}</name>", StringComparison.Ordinal)
            .Replace("9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f", $"9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e{i:x2}", StringComparison.Ordinal))).ToList();

        var verdicts = LibvirtCheck.DefineAndDump(documents);

        Assert.Multiple(() =>
        {
            for (var i = 0; i < documents.Count; i++)
            {
                Assert.That(verdicts[i].Accepted, verdicts[i].Label + ": " + verdicts[i].Error);
                var ours = DomainDocument.Parse(documents[i].Item2, documents[i].Item1).PciHostdevs;
                var theirs = DomainDocument.Parse(verdicts[i].Dump!, "libvirt's dump").PciHostdevs;
                Assert.That(theirs.Select(h => h.Source), Is.EqualTo(ours.Select(h => h.Source)), documents[i].Item1);

                // Writing our reading back gives libvirt's normalised attributes, byte for byte.
                foreach (var h in ours)
                {
                    h.Source = h.Source;
                }

                Assert.That(
                    ours.Select(h => h.Element.Element("source")!.Element("address")!.ToString()),
                    Is.EqualTo(theirs.Select(h => h.Element.Element("source")!.Element("address")!.ToString())),
                    documents[i].Item1);
            }
        });
    }
}
