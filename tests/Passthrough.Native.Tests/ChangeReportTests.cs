using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>
/// `--check --json` of every mutating verb but xml through the native binary: the same JSON as in-process (its
/// serializers are generated, no reflection), nothing written, and a second real run reports changed:false.
/// </summary>
[NonParallelizable]
public class ChangeReportTests
{
    private static readonly string[] Common = ["changed", "actions", "rebootRequired", "warnings", "diffs"];

    [Test]
    public void I_get_the_same_setup_apply_and_undo_check_json_from_the_native_binary_and_nothing_is_written()
    {
        using var temp = new TempDirectory("passthrough-native-setup-check");
        var root = SetupFixtures.Create("debian-grub", temp);
        var before = TreeSnapshot.Take(root);

        var check = NativeBinary.AssertSameAsInProcess("--root", root, "setup", "apply", "--slot", "01:00", "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(TreeSnapshot.Take(root), Is.EqualTo(before));
        Assert.That(Report(check).GetProperty("changed").GetBoolean(), Is.True);

        var apply = NativeBinary.Run("--root", root, "setup", "apply", "--slot", "01:00", "--yes", "--json");
        Assert.That(Report(apply).GetProperty("backup").GetString(), Is.Not.Null, apply.ToString());
        var applied = TreeSnapshot.Take(root);

        var again = NativeBinary.AssertSameAsInProcess("--root", root, "setup", "apply", "--slot", "01:00", "--yes", "--json");
        var undoCheck = NativeBinary.AssertSameAsInProcess("--root", root, "setup", "undo", "--check", "--json");

        Assert.That(Report(again).GetProperty("changed").GetBoolean(), Is.False, again.ToString());
        Assert.That(Report(undoCheck).GetProperty("changed").GetBoolean(), Is.True, undoCheck.ToString());
        Assert.That(TreeSnapshot.Take(root), Is.EqualTo(applied));
    }

    [Test]
    public void I_get_the_same_hooks_check_json_from_the_native_binary_and_a_second_install_reports_changed_false()
    {
        using var temp = new TempDirectory("passthrough-native-hooks-check");
        var root = temp.Combine("root");
        Directory.CreateDirectory(Path.Join(root, "etc", "libvirt"));
        var before = TreeSnapshot.Take(root);

        var check = NativeBinary.AssertSameAsInProcess("--root", root, "hooks", "install", "--binary", NativeBinary.Path, "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(TreeSnapshot.Take(root), Is.EqualTo(before));
        Assert.That(Report(check).GetProperty("changed").GetBoolean(), Is.True);

        NativeBinary.Run("--root", root, "hooks", "install", "--binary", NativeBinary.Path, "--json");
        var second = NativeBinary.Run("--root", root, "hooks", "install", "--binary", NativeBinary.Path, "--json");
        var uninstallCheck = NativeBinary.AssertSameAsInProcess("--root", root, "hooks", "uninstall", "--check", "--json");

        Assert.That(Report(second).GetProperty("changed").GetBoolean(), Is.False, second.ToString());
        Assert.That(Report(uninstallCheck).GetProperty("changed").GetBoolean(), Is.True, uninstallCheck.ToString());
        Assert.That(File.Exists(Path.Join(root, "etc", "libvirt", "hooks", "qemu.d", "50-passthrough")), Is.True, "the check removed nothing");
    }

    [Test]
    public void I_get_the_same_bind_unbind_and_restore_check_json_from_the_native_binary()
    {
        using var host = new SimulatedHost()
            .Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "vfio-pci", 14, native: "amdgpu")
            .Function("0000:05:00.0", 0x10de, 0x2684, 0x030000, "nouveau", 20);
        var before = TreeSnapshot.Take(host.Root);

        // On vfio-pci since boot: nothing to do, so the tree without a kernel is no obstacle.
        var bound = NativeBinary.AssertSameAsInProcess("--root", host.Root, "bind", "0000:03:00.0", "--check", "--json");
        // A bind that would write: the tree has no kernel, and the check says so as the bind would.
        var refused = NativeBinary.AssertSameAsInProcess("--root", host.Root, "bind", "0000:05:00.0", "--check", "--json");
        var unbind = NativeBinary.AssertSameAsInProcess("--root", host.Root, "unbind", "0000:05:00.0", "--check", "--json");
        var restore = NativeBinary.AssertSameAsInProcess("--root", host.Root, "restore", "--all", "--check", "--json");

        Assert.That(bound.ExitCode, Is.Zero, bound.ToString());
        Assert.That(Report(bound).GetProperty("changed").GetBoolean(), Is.False);
        Assert.That(refused.ExitCode, Is.EqualTo(3), refused.ToString());
        Assert.That(unbind.ExitCode, Is.Zero, unbind.ToString());
        Assert.That(Report(unbind).GetProperty("changed").GetBoolean(), Is.False, "nouveau is not vfio-pci: nothing to give back");
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(Report(restore).GetProperty("changed").GetBoolean(), Is.False);
        Assert.That(TreeSnapshot.Take(host.Root), Is.EqualTo(before));
    }

    [Test]
    public void I_get_the_same_rom_install_check_json_from_the_native_binary()
    {
        using var temp = new TempDirectory("passthrough-native-rom-check");
        var root = temp.Combine("root");
        Directory.CreateDirectory(Path.Join(root, "etc"));
        File.WriteAllText(Path.Join(root, "etc", "os-release"), "ID=fedora\n");
        var rom = temp.Combine("gpu.rom");
        File.WriteAllBytes(rom, RomImageBuilder.LegacyAndEfi());
        var before = TreeSnapshot.Take(root);

        var check = NativeBinary.AssertSameAsInProcess("--root", root, "rom", "install", rom, "--check", "--json");

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(Report(check).GetProperty("changed").GetBoolean(), Is.True);
        Assert.That(TreeSnapshot.Take(root), Is.EqualTo(before));
    }

    private static JsonElement Report(CliResult result)
    {
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement.Clone();
        Assert.That(root.EnumerateObject().Select(p => p.Name).Take(5), Is.EqualTo(Common), result.Stdout);
        return root;
    }
}
