using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>
/// libvirt itself judges our output: virt-xml-validate (the installed schema) and define + dumpxml
/// on test:///default, all documents in one virsh session.
/// </summary>
public class LibvirtAcceptsTests
{
    private static string CorpusDir => Path.Join(RepoPaths.Fixtures, "domains", "corpus");

    private static string GoldenDir => Path.Join(RepoPaths.Fixtures, "domains", "golden");

    [Test]
    public void Libvirt_reads_every_corpus_domain_the_same_after_we_parse_and_save_it()
    {
        var files = Directory.GetFiles(CorpusDir, "*.xml").Order().ToList();
        var docs = new List<(string, string)>();
        foreach (var file in files)
        {
            // In the file's own encoding; virsh hands libvirt UTF-8 text (libvirt reads nothing else).
            var (text, encoding) = DomainDocument.Decode(File.ReadAllBytes(file), file);
            docs.Add((Path.GetFileName(file), text));
            docs.Add((Path.GetFileName(file) + " (saved)", DomainDocument.Parse(text, file, encoding).Save()));
        }

        var verdicts = LibvirtCheck.DefineAndDump(docs);

        Assert.Multiple(() =>
        {
            for (var i = 0; i < verdicts.Count; i += 2)
            {
                Assert.That(verdicts[i].Accepted, verdicts[i].Label + ": " + verdicts[i].Error);
                Assert.That(verdicts[i + 1].Dump, Is.EqualTo(verdicts[i].Dump), verdicts[i + 1].Label);
            }
        });
    }

    [Test]
    public void Every_corpus_domain_is_valid_against_the_installed_schema()
    {
        Assert.Multiple(() =>
        {
            foreach (var file in Directory.GetFiles(CorpusDir, "*.xml").Order())
            {
                Assert.That(LibvirtCheck.Validate(DomainDocument.Decode(File.ReadAllBytes(file), file).Text, Path.GetFileName(file)), Is.Null);
            }
        });
    }

    [Test]
    public void Every_golden_output_is_valid_and_libvirt_defines_it()
    {
        var outputs = Directory.GetFiles(GoldenDir, "*.out.xml").Order().Select(f => (Path.GetFileName(f), File.ReadAllText(f))).ToList();
        Assert.That(outputs, Is.Not.Empty);

        var verdicts = LibvirtCheck.DefineAndDump(outputs);

        Assert.Multiple(() =>
        {
            foreach (var (name, text) in outputs)
            {
                Assert.That(LibvirtCheck.Validate(text, name), Is.Null);
            }

            foreach (var v in verdicts)
            {
                Assert.That(v.Accepted, v.Label + ": " + v.Error);
            }
        });
    }

    [Test]
    public void Libvirt_keeps_the_gpu_on_one_multifunction_guest_slot_after_add_gpu()
    {
        var text = File.ReadAllText(Path.Join(GoldenDir, "add-gpu-seed004-split.out.xml"));

        var dump = LibvirtCheck.DefineAndDump([("seed004", text)])[0].Dump!;

        Assert.That(dump, Does.Contain("bus='0x01' slot='0x00' function='0x0' multifunction='on'"));
        Assert.That(dump, Does.Contain("bus='0x01' slot='0x00' function='0x1'/>"));
    }

    [Test]
    public void The_oracle_reports_what_libvirt_rejects()
    {
        var good = File.ReadAllText(Path.Join(CorpusDir, "minimal.xml"));
        var bad = good.Replace("<memory>1048576</memory>", "<memory>lots</memory>", StringComparison.Ordinal);

        var verdicts = LibvirtCheck.DefineAndDump([("good", good), ("bad", bad), ("good again", good)]);

        Assert.That(verdicts.Select(v => v.Accepted), Is.EqualTo(new[] { true, false, true }));
        Assert.That(verdicts[1].Error, Does.Contain("memory"));
    }
}
