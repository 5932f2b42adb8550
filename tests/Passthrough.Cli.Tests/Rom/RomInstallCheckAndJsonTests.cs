using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Rom;

/// <summary>`rom install --json` and `--check`.</summary>
public class RomInstallCheckAndJsonTests
{
    private TempDirectory _dir = null!;

    private string Root => _dir.Combine("root");

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory("rom-install-json");
        Directory.CreateDirectory(Path.Join(Root, "etc"));
        File.WriteAllText(Path.Join(Root, "etc/os-release"), "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=44\n");
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public void I_can_check_what_rom_install_would_do_without_changing_anything_and_a_second_install_reports_changed_false()
    {
        var rom = Write("rx7900xtx.rom", RomImageBuilder.LegacyAndEfi());
        var before = TreeSnapshot.Take(Root);

        var check = CliRun.Run("--root", Root, "rom", "install", rom, "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(TreeSnapshot.Take(Root), Is.EqualTo(before), "no file, no directory");
        using (var json = JsonDocument.Parse(check.Stdout))
        {
            var report = json.RootElement;
            Assert.That(report.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "changed", "actions", "rebootRequired", "warnings", "diffs", "path", "romLine", "uefiCapable" }));
            Assert.That(report.GetProperty("changed").GetBoolean(), Is.True);
            Assert.That(report.GetProperty("actions")[0].GetString(), Does.StartWith("write /usr/share/qemu/rx7900xtx.rom (mode 0644, "));
            Assert.That(report.GetProperty("diffs").GetArrayLength(), Is.Zero, "a ROM is binary: an action, not a diff");
            Assert.That(report.GetProperty("romLine").GetString(), Is.EqualTo("<rom file='/usr/share/qemu/rx7900xtx.rom'/>"));
        }

        var install = CliRun.Run("--root", Root, "rom", "install", rom, "--json");
        var again = CliRun.Run("--root", Root, "rom", "install", rom, "--json");

        Assert.That(File.ReadAllBytes(Path.Join(Root, "usr/share/qemu/rx7900xtx.rom")), Is.EqualTo(RomImageBuilder.LegacyAndEfi()));
        using var one = JsonDocument.Parse(install.Stdout);
        using var two = JsonDocument.Parse(again.Stdout);
        Assert.That(one.RootElement.GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(two.RootElement.GetProperty("changed").GetBoolean(), Is.False);
        Assert.That(two.RootElement.GetProperty("actions").GetArrayLength(), Is.Zero);
        Assert.That(again.ExitCode, Is.Zero);
    }

    [Test]
    public void I_get_the_same_refusal_from_check_as_from_install_for_a_different_rom_of_that_name()
    {
        CliRun.Run("--root", Root, "rom", "install", Write("a/gpu.rom", RomImageBuilder.LegacyAndEfi()));
        var other = Write("b/gpu.rom", RomImageBuilder.LegacyAndEfi(0x10de, 0x2204));
        var before = TreeSnapshot.Take(Root);

        var check = CliRun.Run("--root", Root, "rom", "install", other, "--check", "--json");
        var install = CliRun.Run("--root", Root, "rom", "install", other, "--json");

        Assert.That(check.ExitCode, Is.EqualTo(2), check.ToString());
        Assert.That((check.ExitCode, check.Stderr), Is.EqualTo((install.ExitCode, install.Stderr)));
        Assert.That(TreeSnapshot.Take(Root), Is.EqualTo(before));

        var forced = CliRun.Run("--root", Root, "rom", "install", other, "--force", "--check", "--json");

        using var json = JsonDocument.Parse(forced.Stdout);
        Assert.That(json.RootElement.GetProperty("actions")[0].GetString(), Does.EndWith("keeping the different file there as /usr/share/qemu/gpu.rom.bak"));
        Assert.That(TreeSnapshot.Take(Root), Is.EqualTo(before));
    }

    [Test]
    public void I_see_the_restorecon_a_root_cannot_run_as_a_warning_and_json_alone_on_stdout()
    {
        Directory.CreateDirectory(Path.Join(Root, "sys/fs/selinux"));
        File.WriteAllText(Path.Join(Root, "sys/fs/selinux/enforce"), "1");

        var install = CliRun.Run("--root", Root, "rom", "install", Write("gpu.rom", RomImageBuilder.LegacyAndEfi()), "--json");

        Assert.That(install.ExitCode, Is.Zero, install.ToString());
        using var json = JsonDocument.Parse(install.Stdout);
        Assert.That(json.RootElement.GetProperty("warnings")[0].GetString(), Does.EndWith("run: restorecon -v /usr/share/qemu/gpu.rom"));
    }

    private string Write(string name, byte[] bytes)
    {
        var path = _dir.Combine("files", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
