using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Testing;

namespace Passthrough.Tests.Domain;

/// <summary>Looking Glass and evdev input edits: reviewed golden pairs, idempotence, sizes from Looking Glass's own table.</summary>
public class LookingGlassAndInputTests
{
    public static readonly Dictionary<string, Action<DomainDocument>> Cases = new()
    {
        ["add-looking-glass-ivshmem"] = d => DomainEdits.AddLookingGlass(d, new LookingGlassDevice(64, LookingGlassStyle.Ivshmem)),
        ["add-looking-glass-kvmfr"] = d => DomainEdits.AddLookingGlass(d, new LookingGlassDevice(128, LookingGlassStyle.Kvmfr)),
        ["add-input-evdev"] = d => DomainEdits.AddEvdevInputs(d, new EvdevInput(
            [EvdevDevice.FromPath("/dev/input/by-id/usb-Logitech_G815-event-kbd"), EvdevDevice.FromPath("/dev/input/by-id/usb-Logitech_G502-event-mouse")], "scrolllock")),
    };

    public static IEnumerable<string> CaseNames => Cases.Keys;

    private static string GoldenDir => Path.Join(RepoPaths.Fixtures, "domains", "golden");

    private static string Apply(string name, string text)
    {
        var domain = DomainDocument.Parse(text, name + ".xml");
        Cases[name](domain);
        return domain.Save();
    }

    private static DomainDocument Load(string name) => DomainDocument.Parse(File.ReadAllText(Path.Join(GoldenDir, name)), name);

    [TestCaseSource(nameof(CaseNames))]
    public void I_get_the_reviewed_output_for_each_edit(string name)
    {
        var output = Apply(name, File.ReadAllText(Path.Join(GoldenDir, name + ".in.xml")));

        Assert.That(output, Is.EqualTo(File.ReadAllText(Path.Join(GoldenDir, name + ".out.xml"))));
    }

    [TestCaseSource(nameof(CaseNames))]
    public void Applying_an_edit_twice_gives_the_same_document_as_once(string name)
    {
        var once = Apply(name, File.ReadAllText(Path.Join(GoldenDir, name + ".in.xml")));

        Assert.That(Apply(name, once), Is.EqualTo(once));
    }

    [TestCase(1920, 1080, 32)]
    [TestCase(1920, 1200, 32)]
    [TestCase(2560, 1440, 64)]
    [TestCase(3840, 2160, 128)]
    [TestCase(5120, 1440, 128)]
    [TestCase(7680, 4320, 512)]
    public void I_get_the_size_looking_glass_documents_for_my_resolution(int width, int height, int mib)
    {
        // doc/install_libvirt.rst "Common Values" (SDR) for the first four; the formula for the rest.
        Assert.That(LookingGlassMemory.SizeMiB(new DisplayResolution(width, height)), Is.EqualTo(mib));
    }

    [Test]
    public void Every_size_is_a_power_of_two_that_holds_two_frames_and_ten_mib()
    {
        foreach (var (w, h) in new[] { (640, 480), (1366, 768), (2048, 1152), (3440, 1440), (4096, 2160), (16384, 16384) })
        {
            var mib = LookingGlassMemory.SizeMiB(new DisplayResolution(w, h));
            var needed = ((long)w * h * 8) + (10L << 20);
            Assert.That(LookingGlassMemory.IsPowerOfTwo(mib), $"{w}x{h}: {mib}");
            Assert.That((long)mib << 20, Is.GreaterThanOrEqualTo(needed), $"{w}x{h}");
            Assert.That((long)mib << 19, Is.LessThan(needed), $"{w}x{h}: the next smaller power of two would do");
        }
    }

    [TestCase("2560x1440", 2560, 1440)]
    [TestCase(" 1920X1080 ", 1920, 1080)]
    public void I_can_give_a_resolution(string text, int width, int height) =>
        Assert.That(DisplayResolution.Parse(text), Is.EqualTo(new DisplayResolution(width, height)));

    [TestCase("2560")]
    [TestCase("2560x")]
    [TestCase("x1440")]
    [TestCase("2560*1440")]
    [TestCase("-2560x1440")]
    [TestCase("0x1080")]
    [TestCase("99999x1080")]
    [TestCase("1440p")]
    public void A_resolution_that_does_not_parse_is_bad_input_naming_it(string text)
    {
        var e = Assert.Throws<PassthroughException>(() => DisplayResolution.Parse(text));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("--resolution " + text).And.Contain("WIDTHxHEIGHT"));
    }

    [Test]
    public void I_get_the_largest_mode_and_interlaced_modes_count_by_their_size() =>
        Assert.That(DisplayResolution.Largest(["1920x1080", "3840x2160i", "2560x1440", "garbage", string.Empty]), Is.EqualTo(new DisplayResolution(3840, 2160)));

    [TestCase("64", 64)]
    [TestCase("64M", 64)]
    [TestCase("128MiB", 128)]
    [TestCase("1G", 1024)]
    public void I_can_give_a_size_larger_than_needed(string text, int mib) =>
        Assert.That(LookingGlassMemory.ParseSize(text, 32, DisplayResolution.FullHd), Is.EqualTo(mib));

    [TestCase("48", "not a power of two")]
    [TestCase("16", "too small for 1920x1080")]
    [TestCase("lots", "not a size")]
    [TestCase("64K", "not a size")]
    public void A_size_too_small_or_not_a_power_of_two_is_bad_input(string text, string why)
    {
        var e = Assert.Throws<PassthroughException>(() => LookingGlassMemory.ParseSize(text, 32, DisplayResolution.FullHd));

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Does.Contain("--size " + text).And.Contain(why));
        Assert.That(e.Remedy, Does.Contain("32"));
    }

    [Test]
    public void Adding_looking_glass_again_changes_the_size_not_the_device_count()
    {
        var domain = Load("add-looking-glass-ivshmem.in.xml");

        DomainEdits.AddLookingGlass(domain, new LookingGlassDevice(32, LookingGlassStyle.Ivshmem));
        DomainEdits.AddLookingGlass(domain, new LookingGlassDevice(128, LookingGlassStyle.Ivshmem));

        var shmem = domain.Devices!.Elements("shmem").ToList();
        Assert.That(shmem, Has.Count.EqualTo(1));
        Assert.That(shmem[0].Element("size")!.Value, Is.EqualTo("128"));
        Assert.That(DomainEdits.FindLookingGlass(domain)!.SizeMiB, Is.EqualTo(128));
    }

    [Test]
    public void Switching_to_kvmfr_and_back_leaves_one_device_of_the_style_asked_for()
    {
        var domain = Load("add-looking-glass-ivshmem.in.xml");

        DomainEdits.AddLookingGlass(domain, new LookingGlassDevice(64, LookingGlassStyle.Ivshmem));
        DomainEdits.AddLookingGlass(domain, new LookingGlassDevice(64, LookingGlassStyle.Kvmfr));

        Assert.That(domain.Devices!.Elements("shmem"), Is.Empty);
        Assert.That(DomainEdits.FindLookingGlass(domain)!.Style, Is.EqualTo(LookingGlassStyle.Kvmfr));
        Assert.That(domain.Save(), Does.Contain("xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"));

        DomainEdits.AddLookingGlass(domain, new LookingGlassDevice(64, LookingGlassStyle.Ivshmem));

        Assert.That(domain.Root.Elements(DomainEdits.QemuNs + "commandline"), Is.Empty, "the arguments were the only content");
        Assert.That(DomainEdits.FindLookingGlass(domain)!.Style, Is.EqualTo(LookingGlassStyle.Ivshmem));
    }

    [Test]
    public void I_keep_the_legacy_qemu_syntax_i_wrote_and_get_its_size_updated()
    {
        var domain = Load("add-looking-glass-kvmfr.in.xml");
        var commandline = domain.Root.Element(DomainEdits.QemuNs + "commandline")!;
        commandline.Add(
            new System.Xml.Linq.XElement(DomainEdits.QemuNs + "arg", new System.Xml.Linq.XAttribute("value", "-object")),
            new System.Xml.Linq.XElement(DomainEdits.QemuNs + "arg", new System.Xml.Linq.XAttribute("value", "memory-backend-file,id=looking-glass,mem-path=/dev/kvmfr0,size=32M,share=yes")));

        DomainEdits.AddLookingGlass(domain, new LookingGlassDevice(64, LookingGlassStyle.Kvmfr));

        var values = commandline.Elements(DomainEdits.QemuNs + "arg").Select(a => (string)a.Attribute("value")!).ToList();
        Assert.That(values, Has.Exactly(1).EqualTo("memory-backend-file,id=looking-glass,mem-path=/dev/kvmfr0,size=64M,share=yes"));
        Assert.That(values.Count(v => v == "-object"), Is.EqualTo(1));
        Assert.That(DomainEdits.FindLookingGlass(domain)!.SizeMiB, Is.EqualTo(64));
    }

    [Test]
    public void I_am_told_to_disable_the_memory_balloon_only_when_it_is_on()
    {
        var ballooned = Load("add-looking-glass-ivshmem.in.xml");
        var without = Load("add-looking-glass-kvmfr.in.xml");

        var notes = DomainEdits.AddLookingGlass(ballooned, new LookingGlassDevice(64, LookingGlassStyle.Ivshmem));
        var none = DomainEdits.AddLookingGlass(without, new LookingGlassDevice(64, LookingGlassStyle.Ivshmem));

        Assert.That(notes, Has.Count.EqualTo(1));
        Assert.That(notes[0], Does.Contain("model='virtio'").And.Contain("--memballoon none"));
        Assert.That(none, Is.Empty);
    }

    [Test]
    public void Adding_inputs_again_keeps_one_input_per_device_and_one_grab()
    {
        var domain = Load("add-input-evdev.in.xml");
        var kbd = EvdevDevice.FromPath("/dev/input/by-id/usb-A-event-kbd");
        var kbd2 = EvdevDevice.FromPath("/dev/input/by-id/usb-B-event-kbd");
        var mouse = EvdevDevice.FromPath("/dev/input/by-id/usb-A-event-mouse");

        DomainEdits.AddEvdevInputs(domain, new EvdevInput([kbd, mouse], "ctrl-ctrl"));
        DomainEdits.AddEvdevInputs(domain, new EvdevInput([kbd2, kbd, mouse], "alt-alt"));

        var sources = domain.Devices!.Elements("input").Where(i => (string?)i.Attribute("type") == "evdev").Select(i => i.Element("source")!).ToList();
        Assert.That(sources.Select(s => (string)s.Attribute("dev")!), Is.EqualTo(new[] { kbd.Path, mouse.Path, kbd2.Path }));
        Assert.That(sources.Where(s => (string?)s.Attribute("grab") == "all").Select(s => (string)s.Attribute("dev")!), Is.EqualTo(new[] { kbd.Path }), "the grab stays where it was");
        Assert.That((string?)sources[0].Attribute("grabToggle"), Is.EqualTo("alt-alt"));
        Assert.That((string?)sources[2].Attribute("repeat"), Is.EqualTo("on"));
        Assert.That(sources[1].Attributes().Select(a => a.Name.LocalName), Is.EqualTo(new[] { "dev" }), "a mouse gets a plain source");
        Assert.That(DomainEdits.EvdevSources(domain).Select(s => s.Path), Is.EqualTo(new[] { kbd.Path, mouse.Path, kbd2.Path }));
    }

    [Test]
    public void A_grab_toggle_libvirt_does_not_know_is_bad_input()
    {
        var domain = Load("add-input-evdev.in.xml");

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.AddEvdevInputs(domain, new EvdevInput([EvdevDevice.FromPath("/dev/input/by-id/k-event-kbd")], "ctrl-alt-del")));

        Assert.That(e!.Message, Does.Contain("ctrl-alt-del"));
        Assert.That(e.Remedy, Does.Contain("ctrl-ctrl").And.Contain("scrolllock"));
    }
}
