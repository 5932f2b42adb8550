using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Testing;

namespace Passthrough.Tests.Xml;

/// <summary>
/// Property: any sequence of our edits, on any corpus domain, gives XML that the schema of the
/// installed libvirt validates and that libvirt defines. Each property run checks a batch of
/// documents in one virsh session and one xmllint process, so the whole test stays short.
/// </summary>
public class EditPropertyTests
{
    private const int BatchSize = 15;

    private static readonly string[] CorpusFiles =
        [.. Directory.GetFiles(Path.Join(RepoPaths.Fixtures, "domains", "corpus"), "*.xml").Order()];

    private static readonly string[] Vendors = ["off", "randomid", "1234567890ab", "AuthenticAMD"];

    /// <summary>One edit, named so a failing case says what was done.</summary>
    public sealed record Edit(string Name, Action<DomainDocument> Apply)
    {
        public override string ToString() => Name;
    }

    public sealed record Case(string File, IReadOnlyList<Edit> Edits)
    {
        public override string ToString() => $"{Path.GetFileName(File)}: {string.Join("; ", Edits)}";
    }

    private static Gen<Edit> AddGpu =>
        from bus in Gen.Choose(1, 0x30)
        from functions in Gen.SubListOf(new[] { 0, 1, 2, 3 })
        from managed in Gen.Elements<bool?>(null, true, false)
        from rom in Gen.Elements<string?>(null, "/usr/share/vgabios/gpu.rom")
        let list = functions.Count == 0 ? new List<int> { 0 } : functions.ToList()
        select new Edit(
            $"add-gpu {bus:x2}:00 [{string.Join(',', list)}] managed={managed} rom={rom}",
            d => DomainEdits.AddGpu(d, new GpuAttachment(new PciSlot(0, bus, 0), list).WithManaged(managed).WithRom(rom, rom is null ? null : true)));

    private static Gen<Edit> RemoveGpu =>
        Gen.Choose(1, 0x30).Select(bus => new Edit($"remove-gpu {bus:x2}:00", d => DomainEdits.RemoveGpu(d, new PciSlot(0, bus, 0))));

    private static Gen<Edit> Set =>
        from vendor in Gen.Elements<string?>([null, .. Vendors])
        from hidden in Gen.Elements<bool?>(null, true, false)
        from topoext in Gen.Elements<bool?>(null, true, false)
        from sockets in Gen.Choose(0, 2)
        from cores in Gen.Choose(1, 4)
        from threads in Gen.Choose(1, 2)
        from ioapic in Gen.Elements<string?>(null, "qemu", "kvm")
        from smm in Gen.Elements<bool?>(null, true)
        from balloon in Gen.Elements(false, true)
        from mode in Gen.Elements<string?>(null, "static", "dynamic", "single-gpu", "off")
        let settings = new DomainSettings
        {
            HypervVendorId = vendor,
            KvmHidden = hidden,
            Topoext = topoext,
            Topology = sockets == 0 ? null : new CpuTopology(sockets, cores, threads),
            Ioapic = ioapic,
            Smm = smm,
            MemballoonNone = balloon,
            PassthroughMode = PassthroughModes.ParseOrNull(mode),
            PassthroughOff = mode == "off",
        }
        select new Edit($"set {settings}", d => DomainEdits.Set(d, settings));

    private static Gen<Case> Cases =>
        from file in Gen.Elements(CorpusFiles)
        from count in Gen.Choose(1, 6)
        from edits in Gen.ListOf(Gen.OneOf(AddGpu, AddGpu, RemoveGpu, Set), count)
        select new Case(file, [.. edits]);

    [Test]
    public void Random_sequences_of_edits_never_give_xml_libvirt_rejects()
    {
        var property = Prop.ForAll(Arb.From(Gen.ListOf(Cases, BatchSize).Select(l => l.ToArray())), batch => LibvirtAcceptsAll(batch));

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(4).WithStartSize(10), property);
    }

    private static bool LibvirtAcceptsAll(Case[] batch)
    {
        var docs = new List<(string Label, string Xml)>();
        foreach (var c in batch)
        {
            var domain = DomainDocument.Parse(File.ReadAllText(c.File), c.File);
            foreach (var edit in c.Edits)
            {
                try
                {
                    edit.Apply(domain);
                }
                catch (PassthroughException)
                {
                    // A refused edit (e.g. topoext on a host-model CPU) must leave a valid document too.
                }
            }

            docs.Add((c.ToString(), domain.Save()));
        }

        using var temp = new TempDirectory("property");
        var paths = docs.Select((d, i) => temp.Combine($"doc{i}.xml")).ToList();
        for (var i = 0; i < docs.Count; i++)
        {
            File.WriteAllText(paths[i], docs[i].Xml);
        }

        var schema = ProcessRunner.Instance.RunAsync("xmllint", ["--noout", "--relaxng", "/usr/share/libvirt/schemas/domain.rng", .. paths]).GetAwaiter().GetResult();
        if (!schema.Succeeded)
        {
            var bad = paths.Select((p, i) => (p, i)).Where(x => schema.Stderr.Contains(x.p + " fails", StringComparison.Ordinal)).Select(x => docs[x.i].Label);
            throw new AssertionException($"schema rejects: {string.Join(" | ", bad)}\n{schema.Stderr}");
        }

        var rejected = LibvirtCheck.DefineAndDump(docs).Where(v => !v.Accepted).ToList();
        if (rejected.Count > 0)
        {
            throw new AssertionException("libvirt rejects: " + string.Join(" | ", rejected.Select(r => r.Label + " => " + r.Error)));
        }

        return true;
    }
}
