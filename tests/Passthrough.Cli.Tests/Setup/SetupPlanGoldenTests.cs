using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Setup;

/// <summary>
/// `setup plan` on each fixture host against a reviewed golden file. To regenerate after a reviewed
/// change: PASSTHROUGH_UPDATE_GOLDEN=1 dotnet test --filter SetupPlanGoldenTests, then read the diff.
/// </summary>
public sealed class SetupPlanGoldenTests
{
    private static IEnumerable<string> Fixtures => SetupFixtures.Names;

    [TestCaseSource(nameof(Fixtures))]
    public void I_get_the_reviewed_plan_for_each_kind_of_host(string name)
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create(name, temp);

        var result = CliRun.Run("--root", root, "setup", "plan", "--slot", SetupFixtures.SlotOf(name));

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        var text = result.Stdout.Replace(root, "ROOT", StringComparison.Ordinal);
        var golden = Path.Join(SetupFixtures.Directory(name), "plan.golden.txt");
        if (Environment.GetEnvironmentVariable("PASSTHROUGH_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(golden, text);
        }

        Assert.That(text, Is.EqualTo(File.ReadAllText(golden)), $"plan for {name} differs from {golden}");
    }

    /// <summary>`setup plan --json` on a fixture host.</summary>
    private static JsonDocument JsonPlan(string fixture, string slot)
    {
        using var temp = new TempDirectory();
        var root = SetupFixtures.Create(fixture, temp);

        var result = CliRun.Run("--root", root, "setup", "plan", "--slot", slot, "--json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return JsonDocument.Parse(result.Stdout);
    }

    [Test]
    public void I_get_the_plan_as_json_with_hashes_and_diffs()
    {
        using var doc = JsonPlan("unraid-limine", "01:00");
        var plan = doc.RootElement;
        Assert.That(plan.GetProperty("bootloader").GetProperty("name").GetString(), Is.EqualTo("limine"));
        Assert.That(plan.GetProperty("bootloader").GetProperty("ignored")[0].GetString(), Is.EqualTo("/boot/syslinux/syslinux.cfg"));
        var limine = plan.GetProperty("edits").EnumerateArray().Single(e => e.GetProperty("path").GetString() == "/boot/limine.conf");
        Assert.That(limine.GetProperty("beforeSha256").GetString(), Has.Length.EqualTo(64));
        Assert.That(limine.GetProperty("diff").GetString(), Does.Contain("+    cmdline: iommu=pt vfio-pci.ids=10de:2805,10de:22bd"));
        Assert.That(plan.GetProperty("rebootNeeded").GetBoolean(), Is.True);
    }

    [Test]
    public void I_get_the_unified_kernel_image_builder_and_images_in_the_json_plan()
    {
        using var doc = JsonPlan("fedora-uki", "0b:00");
        var boot = doc.RootElement.GetProperty("bootloader");
        Assert.That(boot.GetProperty("name").GetString(), Is.EqualTo("uki"));
        Assert.That(boot.GetProperty("ukiBuilder").GetString(), Is.EqualTo("kernel-install"));
        Assert.That(boot.GetProperty("unifiedKernelImages").GetArrayLength(), Is.EqualTo(2));
        var commands = doc.RootElement.GetProperty("commands").EnumerateArray().Select(c => c.GetProperty("display").GetString()).ToList();
        Assert.That(commands, Is.EqualTo(new[] { "kernel-install add 6.19.14-200.fc44.x86_64 /usr/lib/modules/6.19.14-200.fc44.x86_64/vmlinuz" }));
    }
}
