using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

public class NewVerbTests
{
    private static readonly string[] Win11 = ["new", "--name", "win11", "--slot", "0000:03:00", "--memory", "16GiB", "--vcpus", "12", "--os", "win11", "--disk", "/var/lib/libvirt/images/win11.qcow2,120G", "--no-create", "--iso", "/var/lib/libvirt/images/Win11_24H2_English_x64.iso"];

    private static readonly string[] LinuxSingleGpu = ["new", "--name", "fedora", "--slot", "03:00", "--memory", "8192MiB", "--vcpus", "8", "--os", "linux", "--single-gpu"];

    private static CliResult New(string[] args)
    {
        using var host = SmallHost.Workstation();
        return CliRun.Run(["--root", host.Path, .. args]);
    }

    [Test]
    public void I_get_a_windows_11_domain_that_libvirt_validates_and_defines()
    {
        using var host = SmallHost.Workstation();
        var result = CliRun.Run(["--root", host.Path, .. Win11]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(LibvirtCheck.Validate(result.Stdout, "win11"), Is.Null);
        var verdict = LibvirtCheck.DefineAndDump([("win11", result.Stdout)])[0];
        Assert.That(verdict.Accepted, verdict.Error);
        Assert.That(verdict.Dump, Does.Contain("<feature enabled='yes' name='secure-boot'/>"));
        Assert.That(verdict.Dump, Does.Contain("<backend type='emulator' version='2.0'/>"));
        Assert.That(verdict.Dump, Does.Contain("machine='q35'"));
        Assert.That(result.Stderr, Does.Contain($"qemu-img create -f qcow2 {host.Path}/var/lib/libvirt/images/win11.qcow2 120G"));
    }

    [Test]
    public void I_get_a_topology_with_threads_and_topoext_on_an_amd_host_with_smt()
    {
        var domain = DomainDocument.Parse(New(Win11).Stdout, "win11.xml");

        Assert.That(domain.Cpu!.Element("topology")!.Attribute("threads")!.Value, Is.EqualTo("2"));
        Assert.That(domain.Cpu!.Element("topology")!.Attribute("cores")!.Value, Is.EqualTo("6"));
        Assert.That(domain.Cpu!.Elements("feature").Any(f => f.Attribute("name")!.Value == "topoext"));
    }

    [Test]
    public void I_get_every_gpu_function_on_one_guest_slot_and_no_balloon_and_lint_finds_nothing()
    {
        using var host = SmallHost.Workstation();
        using var dir = new TempDirectory();
        var file = dir.Combine("win11.xml");
        File.WriteAllText(file, CliRun.Run(["--root", host.Path, .. Win11]).Stdout);

        var lint = CliRun.Run("--root", host.Path, "xml", "lint", file);

        Assert.That(lint.ExitCode, Is.EqualTo(0), lint.ToString());
        Assert.That(lint.Stdout, Does.Contain("no problems found"));
        var domain = DomainDocument.Parse(File.ReadAllText(file), file);
        Assert.That(domain.PciHostdevs.Select(h => h.Source.ToString()), Is.EqualTo(new[] { "0000:03:00.0", "0000:03:00.1" }));
        Assert.That(domain.PciHostdevs.Select(h => (h.Guest!.Value.Bus, h.Guest.Value.Slot)).Distinct().Count(), Is.EqualTo(1));
    }

    [Test]
    public void I_get_a_single_gpu_domain_handed_to_the_passthrough_hook()
    {
        var result = New(LinuxSingleGpu);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var domain = DomainDocument.Parse(result.Stdout, "fedora.xml");
        Assert.That(domain.PassthroughConfig!.Mode, Is.EqualTo(PassthroughMode.SingleGpu));
        Assert.That(domain.PciHostdevs.All(h => !h.Managed));
        Assert.That(LibvirtCheck.Validate(result.Stdout, "fedora"), Is.Null);
        Assert.That(LibvirtCheck.DefineAndDump([("fedora", result.Stdout)])[0].Accepted);
    }

    [Test]
    public void I_am_told_when_the_slot_has_no_device()
    {
        var result = New(["new", "--name", "x", "--slot", "0000:0a:00", "--memory", "4GiB", "--vcpus", "2", "--os", "linux"]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("0000:0a:00"));
        Assert.That(result.Stdout, Is.Empty);
    }

    [TestCase("win11-passthrough.xml", "win11")]
    [TestCase("linux-single-gpu.xml", "linux")]
    public void The_bundled_templates_are_what_new_writes(string example, string which)
    {
        var output = New(which == "win11" ? Win11 : LinuxSingleGpu).Stdout;
        var path = Path.Join(RepoPaths.Examples, "domains", example);
        if (Environment.GetEnvironmentVariable("PASSTHROUGH_REGENERATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, output);
        }

        Assert.That(output, Is.EqualTo(File.ReadAllText(path)));
    }
}
