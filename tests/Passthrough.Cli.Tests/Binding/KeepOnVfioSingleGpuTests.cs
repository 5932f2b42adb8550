using System.Text.Json;
using NLog;
using NUnit.Framework;
using Passthrough.Testing;
using Passthrough.Tests.Xml;

namespace Passthrough.Tests.Binding;

/// <summary>
/// &lt;passthrough:release keep-on-vfio="yes"/&gt; means nothing in single-gpu mode (the host needs its only GPU back
/// for its display): `xml set` refuses it, lint and doctor warn about it, and the hook says it ignored it.
/// </summary>
[NonParallelizable]
public class KeepOnVfioSingleGpuTests
{
    private static string Vm(string mode, bool keep) => $"""
        <domain type='kvm'>
          <name>win11</name>
          <metadata>
            <passthrough:config xmlns:passthrough="urn:passthrough:1" mode="{mode}">
              <passthrough:display-manager unit="gdm.service"/>{(keep ? "\n      <passthrough:release keep-on-vfio=\"yes\"/>" : string.Empty)}
            </passthrough:config>
          </metadata>
          <memory unit='GiB'>8</memory>
          <os><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices/>
        </domain>

        """;

    private static string WriteVm(TempDirectory dir, string mode, bool keep, string name = "win11.xml")
    {
        var file = dir.Combine(name);
        File.WriteAllText(file, Vm(mode, keep));
        return file;
    }

    private static void AssertRefused(CliResult result, string file, string original, string what, string remedy)
    {
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        var lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2), result.Stderr);
        Assert.That(lines[0], Does.StartWith("passthrough: ").And.Contain(what));
        Assert.That(lines[1], Does.Contain(remedy));
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(File.ReadAllText(file), Is.EqualTo(original), "the file is untouched");
        Assert.That(File.Exists(file + ".bak"), Is.False);
    }

    [TearDown]
    public void ResetLogging() => LogManager.Configuration = null;

    [Test]
    public void I_can_keep_a_dynamic_vms_gpu_on_vfio_and_take_that_back_with_xml_set()
    {
        using var dir = new TempDirectory();
        var file = WriteVm(dir, "dynamic", keep: false);
        var original = File.ReadAllText(file);

        var on = CliRun.Run("xml", "set", file, "--keep-on-vfio", "on", "--in-place");
        var kept = File.ReadAllText(file);
        var again = CliRun.Run("xml", "set", file, "--keep-on-vfio", "on", "--in-place", "--json");
        var off = CliRun.Run("xml", "set", file, "--keep-on-vfio", "off", "--in-place");

        Assert.That(on.ExitCode, Is.EqualTo(0), on.ToString());
        Assert.That(kept, Does.Contain("      <passthrough:display-manager unit=\"gdm.service\"/>\n      <passthrough:release keep-on-vfio='yes'/>\n    </passthrough:config>\n"));
        Assert.That(JsonDocument.Parse(again.Stdout).RootElement.GetProperty("changed").GetBoolean(), Is.False, "already kept");
        Assert.That(off.ExitCode, Is.EqualTo(0), off.ToString());
        Assert.That(File.ReadAllText(file), Is.EqualTo(original));
    }

    [Test]
    public void Keep_on_vfio_for_a_single_gpu_vm_is_refused_with_the_reason_and_nothing_changes()
    {
        using var dir = new TempDirectory();
        var file = WriteVm(dir, "single-gpu", keep: false);
        var original = File.ReadAllText(file);

        var result = CliRun.Run("xml", "set", file, "--keep-on-vfio", "on", "--in-place");
        var dynamic = WriteVm(dir, "dynamic", keep: false, "dynamic.xml");
        var withMode = CliRun.Run("xml", "set", dynamic, "--passthrough-mode", "single-gpu", "--keep-on-vfio", "on", "--in-place");

        AssertRefused(result, file, original, "--keep-on-vfio on does nothing for a single-gpu VM: after it stops the host needs its only GPU back for its display", "--passthrough-mode dynamic");
        AssertRefused(withMode, dynamic, Vm("dynamic", keep: false), "single-gpu VM", "Leave --keep-on-vfio out");
    }

    [Test]
    public void Switching_a_kept_vm_to_single_gpu_is_refused_until_i_take_keep_on_vfio_off()
    {
        using var dir = new TempDirectory();
        var file = WriteVm(dir, "dynamic", keep: true);
        var original = File.ReadAllText(file);

        var refused = CliRun.Run("xml", "set", file, "--passthrough-mode", "single-gpu", "--in-place");
        AssertRefused(refused, file, original, "win11.xml:6: <passthrough:release keep-on-vfio=\"yes\"> does nothing for a single-gpu VM", "--keep-on-vfio off");

        var switched = CliRun.Run("xml", "set", file, "--passthrough-mode", "single-gpu", "--keep-on-vfio", "off", "--in-place");

        Assert.That(switched.ExitCode, Is.EqualTo(0), switched.ToString());
        Assert.That(File.ReadAllText(file), Is.EqualTo(Vm("single-gpu", keep: false)));
    }

    [Test]
    public void Lint_and_doctor_warn_that_keep_on_vfio_does_nothing_in_single_gpu_mode()
    {
        using var root = SmallHost.Fixture("rx7600-navi33-dual");
        using var dir = new TempDirectory();
        var single = WriteVm(dir, "single-gpu", keep: true);
        var dynamic = WriteVm(dir, "dynamic", keep: true, "dynamic.xml");

        var lint = CliRun.Run("xml", "lint", single, "--json");
        var text = CliRun.Run("xml", "lint", single);
        var fine = CliRun.Run("xml", "lint", dynamic, "--json");

        // doctor exits 1 when it finds an error elsewhere on the host; the findings are what matter here.
        var doctor = CliRun.Run("--root", root.Path, "doctor", "--xml", single, "--json");
        static JsonElement? Finding(string json) =>
            JsonDocument.Parse(json).RootElement.GetProperty("findings").EnumerateArray()
                .Where(f => f.GetProperty("id").GetString() == "keep-on-vfio-single-gpu").Select(f => (JsonElement?)f.Clone()).FirstOrDefault();

        Assert.That(lint.ExitCode, Is.EqualTo(0), "a warning, not an error: " + lint);
        var finding = Finding(lint.Stdout);
        Assert.That(finding, Is.Not.Null, lint.Stdout);
        Assert.That(finding!.Value.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(finding.Value.GetProperty("message").GetString(), Does.StartWith($"{single}:6: ").And.Contain("does nothing in single-gpu mode"));
        Assert.That(finding.Value.GetProperty("remedy").GetString(), Does.Contain("passthrough xml set FILE --keep-on-vfio off"));
        Assert.That(text.Stdout, Does.Contain("keep-on-vfio-single-gpu"));
        Assert.That(Finding(fine.Stdout), Is.Null, "dynamic mode keeps the card: nothing to say");
        var fromDoctor = Finding(doctor.Stdout);
        Assert.That(fromDoctor, Is.Not.Null, doctor.ToString());
        Assert.That(fromDoctor!.Value.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(fromDoctor.Value.GetProperty("remedy").GetString(), Does.Contain("--keep-on-vfio off"));
    }

    [Test]
    public async Task The_hook_gives_a_single_gpu_vms_gpu_back_and_logs_that_it_ignored_keep_on_vfio()
    {
        using var host = new SimulatedHost().AmdGpu().VtConsole(1, "(M) frame buffer device", bound: true);
        var before = host.Snapshot();
        var systemd = new RecordingSystemdFake(host.Events);
        systemd.Units["sddm.service"] = "active";
        systemd.Aliases["display-manager.service"] = "sddm.service";
        var xml = HookVerbTests.Domain("win11", "single-gpu", "0000:03:00.0", "0000:03:00.1")
            .Replace("mode=\"single-gpu\"/>", "mode=\"single-gpu\"><passthrough:release keep-on-vfio=\"yes\"/></passthrough:config>", StringComparison.Ordinal);

        var prepare = await HookVerbTests.Run(host, host.Kernel, xml, systemd, "hook", "qemu", "win11", "prepare", "begin", "-");
        var release = await HookVerbTests.Run(host, host.Kernel, xml, systemd, "hook", "qemu", "win11", "release", "end", "-");
        var log = File.ReadAllLines(Path.Join(host.Root, "var", "log", "passthrough", "passthrough.log"));

        Assert.That(prepare.ExitCode + release.ExitCode, Is.EqualTo(0), prepare + "\n" + release);
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("amdgpu"), "given back to the host's display");
        Assert.That(host.Events[^1], Is.EqualTo("systemd start sddm.service"));
        Assert.That(host.Snapshot(), Is.EqualTo(before));
        var warning = log.Where(l => l.Contains("keep-on-vfio ignored in single-gpu mode", StringComparison.Ordinal)).ToList();
        Assert.That(warning, Has.Count.EqualTo(1), string.Join("\n", log));
        Assert.That(warning[0], Does.Contain("WARN").IgnoreCase.And.Contain("passthrough xml set --vm win11 --keep-on-vfio off"));
    }
}
