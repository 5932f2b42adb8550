using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Passthrough.Capture;
using Passthrough.Errors;

namespace Passthrough.Tests.Capture;

/// <summary>The capture text format on its own: no file is read or written.</summary>
public class CaptureTextTests
{
    [Test]
    public void Any_set_of_entries_comes_back_unchanged_through_the_text_format()
    {
        // Paths are distinct leaves (dir/file/link never nest), content is any bytes: text, multi-line
        // text, binary with long zero runs. Format chooses the directive; Parse must give the same entries.
        var content = Gen.OneOf(
            Gen.Elements("0x10de\n", "\n", "a b\tc\n", "line one\nline two\n\nafter a blank\n", "no newline at the end", "")
                .Select(System.Text.Encoding.UTF8.GetBytes),
            Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i)),
            Gen.Choose(0, 300).Select(n => new byte[n]));
        var entry = Gen.Choose(0, 2).SelectMany(kind => content.SelectMany(bytes => Gen.Elements("../../devices/x", "/dev/dri/card0", "iommu_groups/3").Select(target =>
            (kind, bytes, target))));
        var entries = Gen.ListOf(entry).Select(list => list.Select((e, i) => e.kind switch
        {
            0 => (CaptureEntry)new CaptureDirectory($"sys/d{i}"),
            1 => new CaptureFile($"sys/bus/pci/devices/f{i}", e.bytes),
            _ => new CaptureLink($"sys/l{i}", e.target),
        }).ToList());

        Prop.ForAll(Arb.From(entries), list =>
        {
            var text = CaptureText.Format(list, ["a comment"]);
            var back = CaptureText.Parse(new StringReader(text), "t.host");
            return back.SequenceEqual(list);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true));
    }

    [Test]
    public void A_bad_line_is_named_by_file_and_line_before_anything_is_laid_out()
    {
        var text = CaptureText.Header + "\nfile sys/a = 1\nbytes sys/b\n: 0g\n";
        var e = Assert.Throws<PassthroughException>(() => CaptureText.Parse(new StringReader(text), "host.txt"))!;
        Assert.That(e.Message, Does.StartWith("host.txt:4: \"0g\" is not a hex byte"));
        Assert.That(e.Kind, Is.EqualTo(FailureKind.InvalidInput));
    }
}
