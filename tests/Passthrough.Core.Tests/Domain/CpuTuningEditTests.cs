using NUnit.Framework;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Testing;

namespace Passthrough.Tests.Domain;

/// <summary>
/// Golden in/out pairs for `--pin` and `--hugepages` (tests/fixtures/domains/golden/set-pin-*, set-hugepages-*),
/// reviewed; regenerate only on purpose with PASSTHROUGH_REGENERATE_GOLDEN=1. libvirt's verdict on the outputs
/// is LibvirtAcceptsTests (every *.out.xml).
/// </summary>
public class CpuTuningEditTests
{
    public static readonly Dictionary<string, Action<DomainDocument>> Cases = new()
    {
        ["set-pin-auto-x3d"] = d => DomainEdits.Set(d, new DomainSettings { Pin = new CpuPinRequest(CpuFixtureHosts.X3D) }),
        ["set-pin-list-no-cputune"] = d => DomainEdits.Set(d, new DomainSettings { Pin = new CpuPinRequest(CpuFixtureHosts.EightCore).WithCpus(CpuSet.Parse("6-7,14-15", "--pin")) }),
        ["set-hugepages-1g-virtiofs"] = d => DomainEdits.Set(d, new DomainSettings { Hugepages = new HugepagesRequest(true).WithSize(HugepageSize.OneGiB) }),
        ["set-hugepages-off"] = d => DomainEdits.Set(d, new DomainSettings { Hugepages = new HugepagesRequest(false) }),
        ["set-hugepages-default-size"] = d => DomainEdits.Set(d, new DomainSettings { Hugepages = new HugepagesRequest(true) }),
    };

    public static IEnumerable<string> CaseNames => Cases.Keys;

    private static string Apply(string name, string text)
    {
        var domain = DomainDocument.Parse(text, name + ".xml");
        Cases[name](domain);
        return domain.Save();
    }

    private static string In(string name) => File.ReadAllText(Path.Join(DomainEditTests.GoldenDir, name + ".in.xml"));

    [TestCaseSource(nameof(CaseNames))]
    public void I_get_the_reviewed_output_for_each_cpu_or_memory_edit(string name)
    {
        var output = Apply(name, In(name));
        var goldenPath = Path.Join(DomainEditTests.GoldenDir, name + ".out.xml");
        if (Environment.GetEnvironmentVariable("PASSTHROUGH_REGENERATE_GOLDEN") == "1")
        {
            File.WriteAllText(goldenPath, output);
        }

        Assert.That(File.Exists(goldenPath), $"no golden output {goldenPath}; review one made with PASSTHROUGH_REGENERATE_GOLDEN=1");
        Assert.That(output, Is.EqualTo(File.ReadAllText(goldenPath)));
    }

    [TestCaseSource(nameof(CaseNames))]
    public void Applying_a_cpu_or_memory_edit_twice_gives_the_same_document_as_once(string name)
    {
        var once = Apply(name, In(name));

        Assert.That(Apply(name, once), Is.EqualTo(once));
    }

    [Test]
    public void I_keep_the_other_cputune_settings_and_pin_the_io_threads_with_the_emulator()
    {
        var domain = DomainDocument.Parse(In("set-pin-auto-x3d"), "win11.xml");

        DomainEdits.Set(domain, new DomainSettings { Pin = new CpuPinRequest(CpuFixtureHosts.X3D) });

        var cputune = domain.Root.Element("cputune")!;
        Assert.That(cputune.Element("shares")?.Value, Is.EqualTo("2048"));
        Assert.That(cputune.Elements("vcpupin").Select(p => p.Attribute("cpuset")!.Value), Is.EqualTo(new[] { "1", "17", "2", "18", "3", "19", "4", "20", "5", "21", "6", "22" }));
        Assert.That(cputune.Elements("iothreadpin").Select(p => (p.Attribute("iothread")!.Value, p.Attribute("cpuset")!.Value)), Is.EqualTo(new[] { ("1", "0,16"), ("2", "0,16") }));
        Assert.That(domain.Root.Element("vcpu")!.Attribute("placement")!.Value, Is.EqualTo("static"), "emulatorpin is not allowed with placement='auto'");
        Assert.That(domain.Cpu!.Element("topology")!.Attribute("cores")!.Value, Is.EqualTo("6"));
        Assert.That(domain.Cpu!.Element("topology")!.Attribute("threads")!.Value, Is.EqualTo("2"));
    }

    [Test]
    public void An_explicit_list_sets_the_vcpu_count()
    {
        var domain = DomainDocument.Parse(In("set-pin-list-no-cputune"), "linux.xml");

        DomainEdits.Set(domain, new DomainSettings { Pin = new CpuPinRequest(CpuFixtureHosts.EightCore).WithCpus(CpuSet.Parse("4-7,12-15", "--pin")) });

        Assert.That(domain.Root.Element("vcpu")!.Value, Is.EqualTo("8"));
        Assert.That(domain.Root.Element("cputune")!.Elements("vcpupin").Count(), Is.EqualTo(8));
    }

    [Test]
    public void Pin_auto_needs_a_vcpu_count()
    {
        var domain = DomainDocument.Parse("<domain type='kvm'><name>x</name><memory>1048576</memory><os><type>hvm</type></os></domain>", "x.xml");

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.Set(domain, new DomainSettings { Pin = new CpuPinRequest(CpuFixtureHosts.EightCore) }))!;

        Assert.That(e.Message, Does.StartWith("x.xml: --pin auto needs the number of vCPUs"));
    }

    [Test]
    public void Pin_auto_takes_the_count_of_a_cpu_topology_given_with_it_and_refuses_one_that_does_not_match()
    {
        var domain = DomainDocument.Parse(In("set-pin-list-no-cputune"), "linux.xml");
        DomainEdits.Set(domain, new DomainSettings { Topology = new CpuTopology(1, 4, 2), Pin = new CpuPinRequest(CpuFixtureHosts.EightCore) });
        Assert.That(domain.Root.Element("cputune")!.Elements("vcpupin").Count(), Is.EqualTo(8));

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.Set(domain, new DomainSettings { Topology = new CpuTopology(1, 8, 1), Pin = new CpuPinRequest(CpuFixtureHosts.EightCore) }))!;
        Assert.That(e.Message, Does.StartWith("--cpu-topology 1,8,1 does not match the pinned CPUs, which are 1,4,2"));
    }

    [Test]
    public void Hugepages_of_a_size_the_memory_is_no_multiple_of_are_refused()
    {
        var domain = DomainDocument.Parse("<domain type='kvm'><name>x</name><memory unit='MiB'>1536</memory><os><type>hvm</type></os></domain>", "x.xml");

        var e = Assert.Throws<PassthroughException>(() => DomainEdits.Set(domain, new DomainSettings { Hugepages = new HugepagesRequest(true).WithSize(HugepageSize.OneGiB) }))!;

        Assert.That(e.Message, Does.Contain("x.xml:1:").And.Contain("no whole number of 1G pages"));
    }

    [Test]
    public void An_equal_page_size_in_other_units_is_left_as_written()
    {
        var text = In("set-hugepages-off");
        var domain = DomainDocument.Parse(text, "h.xml");

        DomainEdits.Set(domain, new DomainSettings { Hugepages = new HugepagesRequest(true).WithSize(HugepageSize.Parse("1G")) });

        Assert.That(domain.Save(), Is.EqualTo(text));
    }

    [TestCase("2M", 2048)]
    [TestCase("1G", 1048576)]
    [TestCase("2048kB", 2048)]
    [TestCase("1GiB", 1048576)]
    public void A_hugepage_size_reads_as_the_kernel_counts_it(string text, long kib)
    {
        Assert.That(HugepageSize.Parse(text).KiB, Is.EqualTo(kib));
    }

    [Test]
    public void A_hugepage_size_the_cpu_lacks_is_bad_input_naming_the_sizes_it_has()
    {
        var e = Assert.Throws<PassthroughException>(() => HugepageSize.OneGiB.RequireOn([HugepageSize.TwoMiB]))!;

        Assert.That(e.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(e.Message, Is.EqualTo("--hugepage-size 1G: this host's CPU has no 1G pages; it offers 2M."));
        Assert.That(e.Remedy, Does.Contain("--hugepage-size 2M"));
    }
}
