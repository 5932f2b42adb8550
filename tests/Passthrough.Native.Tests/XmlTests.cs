using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>Every xml verb (and `new`) through the native binary on the example and fixture domains, same as in-process.</summary>
[Parallelizable(ParallelScope.All)]
public class XmlTests
{
    private const string Slot = "0000:01:00"; // the workstation's GPU

    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    /// <summary>examples/domains, tests/fixtures/domains/corpus and the golden inputs, by path relative to the repository.</summary>
    public static IEnumerable<string> Domains() =>
        new[] { Path.Join(RepoPaths.Examples, "domains"), Path.Join(RepoPaths.Fixtures, "domains", "corpus"), Path.Join(RepoPaths.Fixtures, "domains", "golden") }
            .SelectMany(d => Directory.GetFiles(d, "*.xml"))
            .Where(f => !f.EndsWith(".out.xml", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f))
            .Order(StringComparer.Ordinal);

    public static IEnumerable<string> Examples() => Domains().Where(d => d.StartsWith("examples", StringComparison.Ordinal));

    [TestCaseSource(nameof(Domains))]
    public void I_get_the_same_lint_from_the_native_binary(string domain)
    {
        var text = NativeBinary.AssertSameAsInProcess("--root", Session.Workstation, "xml", "lint", Full(domain));
        var json = NativeBinary.AssertSameAsInProcess("--root", Session.Workstation, "xml", "lint", Full(domain), "--json");

        Assert.That(text.ExitCode, Is.AnyOf(0, 1), text.ToString());
        Assert.That(text.Stdout, Does.Contain(Full(domain) + ": "));
        Assert.That(json.Stdout, Does.StartWith("{"));
    }

    [TestCaseSource(nameof(Domains))]
    public void I_get_the_same_add_gpu_from_the_native_binary(string domain)
    {
        var result = NativeBinary.AssertSameAsInProcess("xml", "add-gpu", Full(domain), "--slot", Slot, "--functions", "0,1,2,3");

        Assert.That(result.ExitCode, Is.AnyOf(0, 2), result.ToString());
    }

    [TestCaseSource(nameof(Domains))]
    public void I_get_the_same_remove_gpu_from_the_native_binary(string domain)
    {
        var result = NativeBinary.AssertSameAsInProcess("xml", "remove-gpu", Full(domain), "--slot", "0000:03:00", "--diff");

        Assert.That(result.ExitCode, Is.AnyOf(0, 2), result.ToString());
    }

    [TestCaseSource(nameof(Domains))]
    public void I_get_the_same_set_from_the_native_binary(string domain)
    {
        var result = NativeBinary.AssertSameAsInProcess(
            "xml", "set", Full(domain), "--memballoon", "none", "--kvm-hidden", "on", "--hyperv-vendor-id", "passthrough",
            "--cpu-topology", "1,4,2", "--ioapic", "kvm", "--smm", "on", "--topoext", "on", "--passthrough-mode", "dynamic");

        Assert.That(result.ExitCode, Is.AnyOf(0, 2), result.ToString());
    }

    [TestCaseSource(nameof(Examples))]
    public void I_can_add_every_function_of_the_hosts_gpu_with_a_rom_and_see_the_diff(string domain)
    {
        // The ROM is a host path: QEMU reads it on the host, so it is looked for under --root.
        using var dir = new TempDirectory("passthrough-native-xml");
        var root = Session.ExpandWorkstation(dir.Combine("root"));
        const string rom = "/usr/share/kvm/gpu.rom";
        Directory.CreateDirectory(Path.Join(root, "usr", "share", "kvm"));
        File.WriteAllBytes(root + rom, RomImageBuilder.LegacyAndEfi(0x10de, 0x1e84));

        var result = NativeBinary.AssertSameAsInProcess("--root", root, "xml", "add-gpu", Full(domain), "--slot", Slot, "--rom", rom, "--diff");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.StartWith("--- ").And.Contain($"+      <rom file='{rom}'/>").And.Contain("function='0x3'"));
    }

    [TestCase("add-gpu-seed004-split", "add-gpu", "--slot", "0000:01:00", "--functions", "0,1")]
    [TestCase("set-memballoon-none", "set", "--memballoon", "none")]
    [TestCase("set-topoext", "set", "--topoext", "on")]
    [TestCase("remove-gpu", "remove-gpu", "--slot", "0000:03:00")]
    public void I_get_the_reviewed_golden_output_from_the_native_binary_reading_standard_input(string golden, string verb, params string[] options)
    {
        var input = File.ReadAllText(Golden(golden + ".in.xml"));

        var result = NativeBinary.AssertSameAsInProcessWith(input, ["xml", verb, "-", .. options]);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(File.ReadAllText(Golden(golden + ".out.xml"))));
    }

    [Test]
    public void I_can_edit_in_place_with_the_native_binary_and_keep_a_backup()
    {
        using var dir = new TempDirectory("passthrough-native-xml");
        var original = File.ReadAllText(Golden("set-passthrough-mode.in.xml"));
        var file = dir.Combine("vm.xml");
        File.WriteAllText(file, original);

        var result = NativeBinary.Run("xml", "set", file, "--passthrough-mode", "dynamic", "--in-place");
        var again = NativeBinary.Run("xml", "set", file, "--passthrough-mode", "dynamic", "--in-place");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stderr, Is.EqualTo($"passthrough: wrote {file} (previous version in {file}.bak)\n"));
        Assert.That(File.ReadAllText(file), Is.EqualTo(File.ReadAllText(Golden("set-passthrough-mode.out.xml"))));
        Assert.That(File.ReadAllText(file + ".bak"), Is.EqualTo(original));
        Assert.That(again.Stderr, Is.EqualTo($"passthrough: {file} already up to date\n"));
        Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "vm.xml", "vm.xml.bak" }), "no temp file left");
    }

    [TestCase("win11")]
    [TestCase("linux")]
    public void I_get_the_same_new_domain_from_the_native_binary(string os)
    {
        var result = NativeBinary.AssertSameAsInProcess(
            "--root", Session.Workstation, "new", "--name", "vm-" + os, "--slot", Slot, "--memory", "16GiB", "--vcpus", "8", "--os", os,
            "--disk", "/var/lib/libvirt/images/vm.qcow2,120G", "--no-create");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain($"<name>vm-{os}</name>").And.Contain("bus='0x01'"));
    }

    private static string Full(string relative) => Path.Join(RepoPaths.Root, relative);
}
