using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>Host trees for the xml verbs, built with the shared <see cref="HostTreeBuilder"/>.</summary>
internal static class SmallHost
{
    /// <summary>An AMD host with SMT: a GPU at 03:00 (VGA + HDMI audio) in group 14 on vfio-pci, a SATA controller in group 15.</summary>
    public static TempDirectory Workstation(Action<HostTreeBuilder>? more = null)
    {
        var root = new TempDirectory("xml-host");
        var builder = new HostTreeBuilder()
            .Amd()
            .RootPort("0000:00:01.1", "1022:14db", group: 2, acs: true, below: b => b
                .Function("0000:03:00.0", "1002:744c", 0x030000, driver: "vfio-pci", group: 14)
                .Function("0000:03:00.1", "1002:ab30", 0x040300, driver: "vfio-pci", group: 14))
            .Function("0000:00:17.0", "1022:43f6", 0x010601, driver: "ahci", group: 15);
        more?.Invoke(builder);
        builder.WriteTo(root.Path);
        return root;
    }

    /// <summary>A committed fixture host (tests/fixtures/hosts/NAME.host) laid out in a temp directory.</summary>
    public static TempDirectory Fixture(string name)
    {
        var root = new TempDirectory("xml-fixture");
        FixtureHosts.Expand(name, root.Path);
        return root;
    }
}

public class XmlVerbTests
{
    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    private static string Corpus(string name) => Path.Join(RepoPaths.Fixtures, "domains", "corpus", name);

    [Test]
    public void I_can_add_a_gpu_and_get_the_edited_xml_on_stdout()
    {
        var result = CliRun.Run("xml", "add-gpu", Golden("add-gpu-seed004-split.in.xml"), "--slot", "0000:01:00", "--functions", "0,1");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(File.ReadAllText(Golden("add-gpu-seed004-split.out.xml"))));
    }

    [Test]
    public void I_can_pipe_a_domain_through_standard_input()
    {
        var result = CliRun.RunWith(File.ReadAllText(Golden("set-memballoon-none.in.xml")), null, "xml", "set", "-", "--memballoon", "none");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(File.ReadAllText(Golden("set-memballoon-none.out.xml"))));
    }

    [Test]
    public void I_can_see_the_change_as_a_unified_diff()
    {
        var result = CliRun.Run("xml", "set", Golden("set-topoext.in.xml"), "--topoext", "on", "--diff");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.StartWith("--- "));
        Assert.That(result.Stdout, Does.Contain("\n@@ -"));
        Assert.That(result.Stdout, Does.Contain("\n+    <feature policy='require' name='topoext'/>\n"));
        Assert.That(result.Stdout.Split('\n').Count(l => l.StartsWith('+') || l.StartsWith('-')), Is.EqualTo(3), "one added line plus the two file headers");
    }

    [Test]
    public void I_can_edit_in_place_and_keep_a_backup()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        var original = File.ReadAllText(Golden("set-passthrough-mode.in.xml"));
        File.WriteAllText(file, original);

        var result = CliRun.Run("xml", "set", file, "--passthrough-mode", "dynamic", "--in-place");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(File.ReadAllText(file), Is.EqualTo(File.ReadAllText(Golden("set-passthrough-mode.out.xml"))));
        Assert.That(File.ReadAllText(file + ".bak"), Is.EqualTo(original));
        Assert.That(result.Stdout, Is.Empty);
    }

    [Test]
    public void I_get_file_line_and_column_for_malformed_xml_and_nothing_is_written()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("broken.xml");
        File.WriteAllText(file, "<domain type='kvm'>\n  <name>x</name>\n  <devices>\n</domain>\n");

        var result = CliRun.Run("xml", "set", file, "--smm", "on", "--in-place");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.StartWith($"passthrough: {file}:4:3: "));
        Assert.That(result.Stderr, Does.Not.Contain("   at "));
        Assert.That(File.Exists(file + ".bak"), Is.False);
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1));
    }

    [Test]
    public void I_am_told_when_the_slot_is_not_on_this_host()
    {
        using var host = SmallHost.Workstation();

        var result = CliRun.Run("--root", host.Path, "xml", "add-gpu", Corpus("minimal.xml"), "--slot", "0000:09:00");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("0000:09:00").And.Contain("passthrough list"));
    }

    [Test]
    public void I_get_every_function_of_the_slot_from_the_host_when_i_do_not_list_them()
    {
        using var host = SmallHost.Workstation();

        var result = CliRun.Run("--root", host.Path, "xml", "add-gpu", Golden("add-gpu-seed004-split.in.xml"), "--slot", "03:00");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("bus='0x03' slot='0x00' function='0x0'").And.Contain("bus='0x03' slot='0x00' function='0x1'"));
    }

    [Test]
    public void I_am_told_when_the_rom_file_does_not_exist()
    {
        var result = CliRun.Run("xml", "add-gpu", Corpus("minimal.xml"), "--slot", "03:00", "--functions", "0", "--rom", "/no/such.rom");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("/no/such.rom"));
    }

    [Test]
    public void I_am_told_when_the_file_is_not_a_domain()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("net.xml");
        File.WriteAllText(file, "<network>\n  <name>default</name>\n</network>\n");

        var result = CliRun.Run("xml", "lint", file);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("not a libvirt <domain>"));
    }

    [Test]
    public void I_can_define_the_edit_and_the_previous_definition_is_saved_first()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("test.xml");
        // test:///default starts with a domain named "test" (this UUID): edit a definition of it.
        File.WriteAllText(file, File.ReadAllText(Corpus("minimal.xml")).Replace("<name>minimal</name>", "<name>test</name>\n  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>", StringComparison.Ordinal));
        var backups = dir.Combine("backups");

        var result = CliRun.Run("xml", "set", file, "--memballoon", "none", "--define", "--connect", "test:///default", "--backup-dir", backups);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stderr, Does.Contain("defined test on test:///default"));
        var saved = Directory.GetFiles(backups);
        Assert.That(saved, Has.Length.EqualTo(1));
        Assert.That(File.ReadAllText(saved[0]), Does.Contain("<name>test</name>"));
    }

    [Test]
    public void I_get_libvirts_reason_when_it_rejects_the_definition()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("bad.xml");
        File.WriteAllText(file, "<domain type='kvm'>\n  <name>bad</name>\n  <memory>1024</memory>\n  <os>\n    <type>hvm</type>\n  </os>\n  <devices>\n    <hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source><address type='pci' domain='0x0000' bus='0x00' slot='0x40' function='0x0'/></hostdev>\n  </devices>\n</domain>\n");

        var result = CliRun.Run("xml", "set", file, "--smm", "on", "--define", "--connect", "test:///default", "--backup-dir", dir.Combine("b"));

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("rejected the edited domain bad"));
    }

    [Test]
    public void Lint_finds_the_seed_004_mistakes()
    {
        var result = CliRun.Run("xml", "lint", Corpus("seed004-i440fx.xml"), "--json");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var findings = json.RootElement.GetProperty("findings").EnumerateArray().ToList();
        Assert.That(findings.Select(f => f.GetProperty("id").GetString()), Does.Contain("pcie-on-i440fx"));
        var first = findings.First(f => f.GetProperty("id").GetString() == "pcie-on-i440fx");
        Assert.That(first.GetProperty("severity").GetString(), Is.EqualTo("error"));
        Assert.That(first.GetProperty("remedy").GetString(), Does.Contain("q35"));
        Assert.That(first.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "id", "severity", "message", "remedy" }));
    }

    [TestCase("seed004-config-a.xml", "split-functions")]
    [TestCase("seed004-config-b.xml", "multifunction")]
    [TestCase("linux-fedora-virtio.xml", null)]
    public void Lint_tells_which_layout_of_seed_004_is_wrong(string file, string? id)
    {
        var result = CliRun.Run("xml", "lint", Corpus(file), "--json");

        using var json = JsonDocument.Parse(result.Stdout);
        var ids = json.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("id").GetString()).ToList();
        if (id is null)
        {
            Assert.That(ids, Is.Empty);
            Assert.That(result.ExitCode, Is.EqualTo(0));
        }
        else
        {
            Assert.That(ids, Does.Contain(id));
            Assert.That(ids, Does.Not.Contain("pcie-on-i440fx"));
        }
    }

    [Test]
    public void Lint_says_the_group_is_not_viable_until_every_function_of_the_card_is_passed()
    {
        // Seed 003: the RX 7900 XTX's xHCI (.2) and UCSI (.3) share group 13 and are held by host drivers.
        using var host = SmallHost.Fixture("seed-003-fedora-rx7900xtx");
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.WriteAllText(file, File.ReadAllText(Golden("add-gpu-seed004-split.in.xml")).Replace("bus='0x01' slot='0x00' function", "bus='0x03' slot='0x00' function", StringComparison.Ordinal));

        var before = CliRun.Run("--root", host.Path, "xml", "lint", file);
        var fixedUp = CliRun.Run("--root", host.Path, "xml", "add-gpu", file, "--slot", "03:00", "--in-place");
        var after = CliRun.Run("--root", host.Path, "xml", "lint", file);

        Assert.That(before.ExitCode, Is.EqualTo(1), before.ToString());
        Assert.That(before.Stdout, Does.Contain("group-not-viable").And.Contain("0000:03:00.2").And.Contain("xhci_hcd"));
        Assert.That(before.Stdout, Does.Contain("amd-smt-topoext"));
        Assert.That(fixedUp.ExitCode, Is.EqualTo(0), fixedUp.ToString());
        Assert.That(after.Stdout, Does.Not.Contain("group-not-viable"));
        Assert.That(after.Stdout, Does.Not.Contain("split-functions"));
    }

    [Test]
    public void Lint_on_the_seed_004_host_blames_the_i440fx_machine_not_the_group()
    {
        using var host = SmallHost.Fixture("seed-004-x870e-rtx4060ti");

        var result = CliRun.Run("--root", host.Path, "xml", "lint", Corpus("seed004-i440fx.xml"));

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stdout, Does.Contain("pcie-on-i440fx"));
        Assert.That(result.Stdout, Does.Not.Contain("group-not-viable").And.Not.Contain("device-missing"));
    }

    [Test]
    public void Lint_passes_a_viable_group_and_checks_the_rom_for_an_efi_image()
    {
        using var host = SmallHost.Workstation();
        Directory.CreateDirectory(Path.Join(host.Path, "roms"));
        File.WriteAllBytes(Path.Join(host.Path, "roms", "legacy.rom"), RomImageBuilder.LegacyOnly());
        File.WriteAllBytes(Path.Join(host.Path, "roms", "efi.rom"), RomImageBuilder.LegacyAndEfi());
        File.WriteAllBytes(Path.Join(host.Path, "roms", "arm.rom"), new RomImageBuilder().Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi with { EfiMachine = 0xAA64 }).Build());
        using var dir = new TempDirectory();
        var text = File.ReadAllText(Corpus("single-gpu-passthrough.xml"));

        string Lint(string rom)
        {
            var file = dir.Combine("vm.xml");
            File.WriteAllText(file, text.Replace("/usr/share/vgabios/rx6800.rom", rom, StringComparison.Ordinal).Replace("function='0x2'", "function='0x0'", StringComparison.Ordinal));
            return CliRun.Run("--root", host.Path, "xml", "lint", file).Stdout;
        }

        var missing = Lint("/roms/none.rom");
        var legacy = Lint("/roms/legacy.rom");
        var efi = Lint("/roms/efi.rom");
        var arm = Lint("/roms/arm.rom");

        Assert.That(missing, Does.Contain("rom-missing"));
        Assert.That(legacy, Does.Contain("rom-no-efi"));
        Assert.That(arm, Does.Contain("rom-no-efi").And.Contain("AArch64 (0xAA64)"), "an EFI image OVMF will not load is no EFI image to OVMF, and the reason is named");
        Assert.That(efi, Does.Not.Contain("rom-"));
        Assert.That(efi, Does.Not.Contain("group-not-viable"));
    }

    [Test]
    public void Lint_warns_when_libvirt_manages_a_device_our_hook_binds()
    {
        var text = File.ReadAllText(Corpus("single-gpu-passthrough.xml")).Replace("managed='no'", "managed='yes'", StringComparison.Ordinal);
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.WriteAllText(file, text);

        var result = CliRun.Run("xml", "lint", file);

        Assert.That(result.Stdout, Does.Contain("managed-while-hook-binds"));
        Assert.That(result.Stdout, Does.Contain("--passthrough-mode single-gpu"));
    }
}
