using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>Issue 15 through the native binary on the dual-GPU fixture: a held GPU is refused with nothing changed; a BAR size the card lacks is exit 2.</summary>
public class HoldersAndBarTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("passthrough-native-holders");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string Host()
    {
        var root = _dir.Combine("host");
        var expand = NativeBinary.Run("capture", "expand", FixtureHosts.PathOf("dual-gpu-gnome-rebar"), root);
        Assert.That(expand.ExitCode, Is.Zero, expand.ToString());
        return root;
    }

    [Test]
    public void I_cannot_bind_the_gpu_gnome_shell_holds_and_nothing_changes()
    {
        var root = Host();
        var before = TreeSnapshot.Take(Path.Join(root, "sys"));

        var result = NativeBinary.Run("--root", root, "bind", "0000:03:00");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("gnome-shell (pid 2301) has /dev/dri/card1 open (user alice)"));
        NativeBinary.AssertNoStackTrace(result);
        Assert.That(TreeSnapshot.Take(Path.Join(root, "sys")), Is.EqualTo(before));
        Assert.That(Directory.Exists(Path.Join(root, "run", "passthrough")) ? Directory.GetFiles(Path.Join(root, "run", "passthrough"), "*.json") : [], Is.Empty, "no journal");
    }

    [Test]
    public void A_bar_size_the_card_does_not_offer_is_exit_2_before_anything_changes()
    {
        var root = Host();
        var before = TreeSnapshot.Take(Path.Join(root, "sys"));
        const string domain = "<domain type='kvm'><name>win11</name><uuid>9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f</uuid>"
            + "<metadata><passthrough:config xmlns:passthrough='urn:passthrough:1' mode='dynamic'><passthrough:bar index='0' size='64GiB'/></passthrough:config></metadata>"
            + "<devices><hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>"
            + "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev></devices></domain>";

        var result = NativeBinary.RunWith(domain, "--root", root, "hook", "qemu", "win11", "prepare", "begin", "-");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("0000:03:00.0 BAR 0 does not offer 64 GiB"));
        NativeBinary.AssertNoStackTrace(result);
        Assert.That(TreeSnapshot.Take(Path.Join(root, "sys")), Is.EqualTo(before));
    }

    [Test]
    public void Lint_reports_a_bar_size_the_card_does_not_offer_as_the_in_process_cli_does()
    {
        var root = Host();
        var file = _dir.Combine("win11.xml");
        File.WriteAllText(file, "<domain type='kvm'>\n<name>win11</name>\n"
            + "<metadata><passthrough:config xmlns:passthrough='urn:passthrough:1' mode='dynamic'>\n<passthrough:bar index='0' size='64GiB'/>\n</passthrough:config></metadata>\n"
            + "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>\n<devices><memballoon model='none'/>\n"
            + "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>\n"
            + "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>\n</devices></domain>\n");

        var text = NativeBinary.AssertSameAsInProcess("--root", root, "xml", "lint", file);
        var json = NativeBinary.AssertSameAsInProcess("--root", root, "xml", "lint", file, "--json");

        Assert.That(text.ExitCode, Is.EqualTo(1), text.ToString());
        Assert.That(text.Stdout, Does.Contain($"bar-size: {file}:4: 0000:03:00.0 BAR 0 does not offer 64 GiB (it offers 256 MiB, 512 MiB"));
        Assert.That(json.Stdout, Does.Contain("\"id\": \"bar-size\""));
    }
}
