using System.Xml.Linq;
using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Domain;

public class RoundTripTests
{
    public static IEnumerable<string> Corpus =>
        Directory.EnumerateFiles(Path.Join(RepoPaths.Fixtures, "domains", "corpus"), "*.xml").Order().Select(Path.GetFileName)!;

    [Test]
    public void The_corpus_has_at_least_twenty_domains() => Assert.That(Corpus.Count(), Is.GreaterThanOrEqualTo(20));

    [TestCaseSource(nameof(Corpus))]
    public void I_get_my_file_back_byte_for_byte_when_nothing_is_edited(string file)
    {
        var bytes = File.ReadAllBytes(Path.Join(RepoPaths.Fixtures, "domains", "corpus", file));
        var (text, encoding) = DomainDocument.Decode(bytes, file);

        var saved = DomainDocument.Parse(text, file, encoding).SaveBytes();

        Assert.That(saved, Is.EqualTo(bytes));
    }

    [TestCaseSource(nameof(Corpus))]
    public void I_keep_comments_processing_instructions_and_foreign_namespaces_through_an_edit(string file)
    {
        var text = File.ReadAllText(Path.Join(RepoPaths.Fixtures, "domains", "corpus", file));
        var before = XDocument.Parse(text);
        var domain = DomainDocument.Parse(text, file);

        DomainEdits.Set(domain, new DomainSettings { MemballoonNone = true, Smm = true });
        var after = XDocument.Parse(domain.Save());

        Assert.That(after.DescendantNodes().OfType<XComment>().Select(c => c.Value), Is.EqualTo(before.DescendantNodes().OfType<XComment>().Select(c => c.Value)));
        Assert.That(after.DescendantNodes().OfType<XProcessingInstruction>().Count(), Is.EqualTo(before.DescendantNodes().OfType<XProcessingInstruction>().Count()));
        var foreign = before.Descendants().Where(e => e.Name.Namespace != XNamespace.None).Select(e => e.ToString(SaveOptions.DisableFormatting));
        var kept = after.Descendants().Where(e => e.Name.Namespace != XNamespace.None).Select(e => e.ToString(SaveOptions.DisableFormatting));
        Assert.That(kept, Is.EqualTo(foreign));
    }
}
