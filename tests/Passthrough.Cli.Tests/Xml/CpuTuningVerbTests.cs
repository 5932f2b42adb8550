using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>`--pin` and `--hugepages` through `xml set` and `new`, on the CPU fixture hosts, judged by libvirt.</summary>
public class CpuTuningVerbTests
{
    private static string Golden(string name) => Path.Join(RepoPaths.Fixtures, "domains", "golden", name);

    private static string[] NewVm(string slot, int vcpus, params string[] more) =>
        ["new", "--name", "gaming", "--slot", slot, "--memory", "16GiB", "--vcpus", vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "--os", "win11", "--disk", "/var/lib/libvirt/images/gaming.qcow2", .. more];

    private static void AssertBadInput(CliResult result, string what, string remedy)
    {
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stdout, Is.Empty, "nothing written");
        var lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2), result.Stderr);
        Assert.That(lines[0], Does.StartWith("passthrough: ").And.Contain(what));
        Assert.That(lines[1], Does.Contain(remedy));
    }

    [Test]
    public void I_can_make_a_vm_pinned_to_the_stacked_cache_ccd_with_1g_hugepages_and_libvirt_defines_it()
    {
        using var host = SmallHost.Fixture("amd-7950x3d-two-ccd");

        var result = CliRun.Run(["--root", host.Path, .. NewVm("01:00", 12, "--pin", "auto", "--hugepages", "on", "--hugepage-size", "1G")]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(LibvirtCheck.Validate(result.Stdout, "gaming"), Is.Null);
        var verdict = LibvirtCheck.DefineAndDump([("gaming", result.Stdout)])[0];
        Assert.That(verdict.Accepted, verdict.Error);
        Assert.That(verdict.Dump, Does.Contain("<vcpupin vcpu='0' cpuset='1'/>").And.Contain("<vcpupin vcpu='1' cpuset='17'/>").And.Contain("<vcpupin vcpu='11' cpuset='22'/>"));
        Assert.That(verdict.Dump, Does.Contain("<emulatorpin cpuset='0,16'/>"));
        Assert.That(verdict.Dump, Does.Contain("<topology sockets='1' dies='1' clusters='1' cores='6' threads='2'/>").Or.Contain("<topology sockets='1' dies='1' cores='6' threads='2'/>"));
        Assert.That(verdict.Dump, Does.Contain("<page size='1048576' unit='KiB'/>"));
    }

    [Test]
    public void I_can_make_a_vm_on_the_performance_cores_of_an_intel_hybrid()
    {
        using var host = SmallHost.Fixture("intel-13700k-hybrid");

        var result = CliRun.Run(["--root", host.Path, .. NewVm("01:00", 8, "--pin", "auto", "--host-cores", "2")]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var cputune = DomainDocument.Parse(result.Stdout, "gaming.xml").Root.Element("cputune")!;
        Assert.That(cputune.Elements("vcpupin").Select(p => p.Attribute("cpuset")!.Value), Is.EqualTo(new[] { "4", "5", "6", "7", "8", "9", "10", "11" }));
        Assert.That(cputune.Element("emulatorpin")!.Attribute("cpuset")!.Value, Is.EqualTo("0-3"));
    }

    [Test]
    public void I_can_pin_an_existing_domain_and_libvirt_reads_the_pins_back()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");

        var result = CliRun.Run("--root", host.Path, "xml", "set", Golden("set-pin-auto-x3d.in.xml"), "--pin", "auto", "--host-cores", "2");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var verdict = LibvirtCheck.DefineAndDump([("x", result.Stdout)])[0];
        Assert.That(verdict.Accepted, verdict.Error);
        Assert.That(verdict.Dump, Does.Contain("<vcpupin vcpu='0' cpuset='2'/>").And.Contain("<vcpupin vcpu='1' cpuset='10'/>").And.Contain("<vcpupin vcpu='11' cpuset='15'/>"));
        Assert.That(verdict.Dump, Does.Contain("<emulatorpin cpuset='0-1,8-9'/>").And.Contain("<iothreadpin iothread='2' cpuset='0-1,8-9'/>"));
    }

    [Test]
    public void I_can_name_the_cpus_and_split_a_core_only_when_i_say_so()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");
        string[] args = ["--root", host.Path, "xml", "set", Golden("set-pin-list-no-cputune.in.xml"), "--pin", "4-7"];

        AssertBadInput(CliRun.Run(args), "CPU 4 shares core 4,12 with CPU 12", "--allow-split-smt");

        var split = CliRun.Run([.. args, "--allow-split-smt"]);
        Assert.That(split.ExitCode, Is.EqualTo(0), split.ToString());
        Assert.That(split.Stdout, Does.Contain("<topology sockets='1' cores='4' threads='1'/>"));
    }

    [Test]
    public void I_can_add_and_remove_hugepages_keeping_the_shared_memory_of_virtiofs()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.Copy(Golden("set-hugepages-1g-virtiofs.in.xml"), file);

        var on = CliRun.Run("--root", host.Path, "xml", "set", file, "--hugepages", "on", "--hugepage-size", "1G", "--in-place");
        Assert.That(on.ExitCode, Is.EqualTo(0), on.ToString());
        Assert.That(File.ReadAllText(file), Is.EqualTo(File.ReadAllText(Golden("set-hugepages-1g-virtiofs.out.xml"))));

        var off = CliRun.Run("--root", host.Path, "xml", "set", file, "--hugepages", "off", "--in-place");
        Assert.That(off.ExitCode, Is.EqualTo(0), off.ToString());
        Assert.That(File.ReadAllText(file), Is.EqualTo(File.ReadAllText(Golden("set-hugepages-1g-virtiofs.in.xml"))));
    }

    [Test]
    public void A_cpu_the_host_does_not_have_is_bad_input_and_the_file_is_untouched()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        File.Copy(Golden("set-pin-list-no-cputune.in.xml"), file);

        var result = CliRun.Run("--root", host.Path, "xml", "set", file, "--pin", "2-3,10-11,16-17", "--in-place");

        AssertBadInput(result, "this host has no online CPUs 16-17 (its CPUs are 0-15)", "lscpu -e");
        Assert.That(File.ReadAllText(file), Is.EqualTo(File.ReadAllText(Golden("set-pin-list-no-cputune.in.xml"))));
        Assert.That(File.Exists(file + ".bak"), Is.False);
    }

    [Test]
    public void The_hosts_own_core_is_bad_input_in_a_cpu_list()
    {
        using var host = SmallHost.Fixture("amd-7950x3d-two-ccd");

        var result = CliRun.Run(["--root", host.Path, .. NewVm("01:00", 16, "--pin", "0-7,16-23")]);

        AssertBadInput(result, "CPUs 0,16 belong to the 1 core the host keeps", "--pin 1-7,17-23");
    }

    [Test]
    public void More_vcpus_than_fit_are_bad_input()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");

        var result = CliRun.Run(["--root", host.Path, .. NewVm("0b:00", 16, "--pin", "auto")]);

        AssertBadInput(result, "16 vCPUs do not fit", "at most 14");
    }

    [Test]
    public void A_cpu_list_that_disagrees_with_vcpus_is_bad_input()
    {
        using var host = SmallHost.Fixture("amd-5800x-8core");

        var result = CliRun.Run(["--root", host.Path, .. NewVm("0b:00", 8, "--pin", "2-4,10-12")]);

        AssertBadInput(result, "--pin 2-4,10-12 names 6 CPUs, --vcpus is 8", "--vcpus 6");
    }

    [Test]
    public void A_hugepage_size_the_cpu_lacks_is_bad_input()
    {
        using var host = SmallHost.Workstation(b => b.HugepageSizes(2048));

        var result = CliRun.Run("--root", host.Path, "xml", "set", Golden("set-hugepages-default-size.in.xml"), "--hugepages", "on", "--hugepage-size", "1G");

        AssertBadInput(result, "--hugepage-size 1G: this host's CPU has no 1G pages; it offers 2M.", "--hugepage-size 2M");
    }

    [Test]
    public void Pinning_on_a_root_without_cpu_topology_is_an_environment_error()
    {
        using var host = SmallHost.Workstation();

        var result = CliRun.Run("--root", host.Path, "xml", "set", Golden("set-pin-list-no-cputune.in.xml"), "--pin", "auto");

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(result.Stderr, Does.Contain("Cannot read the CPU topology"));
        Assert.That(result.Stdout, Is.Empty);
    }

    [Test]
    public void Host_cores_without_pin_is_bad_input()
    {
        var result = CliRun.Run("xml", "set", Golden("set-pin-list-no-cputune.in.xml"), "--host-cores", "2");

        AssertBadInput(result, "--host-cores goes with --pin", "--pin auto");
    }
}
