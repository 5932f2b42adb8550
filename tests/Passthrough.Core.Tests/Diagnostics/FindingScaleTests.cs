using NUnit.Framework;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Pci;
using Passthrough.Rom;
using Passthrough.Testing;
using static Passthrough.Tests.Diagnostics.SeedHosts;

namespace Passthrough.Tests.Diagnostics;

/// <summary>Doctor, `xml lint` and the ROM parser report one <see cref="Finding"/> on one <see cref="Severity"/> scale.</summary>
public class FindingScaleTests
{
    private const string LegacyRom = "/usr/share/vgabios/legacy.rom";
    private const string GoneRom = "/usr/share/vgabios/gone.rom";

    // Seed 004's card on an i440fx machine with SeaBIOS: a ROM without an EFI image on .0, a missing ROM on .1.
    private const string Domain = $"""
        <domain type='kvm'>
          <name>win11</name>
          <os><type arch='x86_64' machine='pc-i440fx-9.0'>hvm</type></os>
          <devices>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
              <rom file='{LegacyRom}'/>
            </hostdev>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>
              <rom file='{GoneRom}'/>
            </hostdev>
            <memballoon model='none'/>
          </devices>
        </domain>
        """;

    private static readonly VbiosImage Rom = RomParser.Parse(RomImageBuilder.LegacyOnly(0x10de, 0x2805));

    private static IReadOnlyList<Finding> Lint() => DomainLint.Run(
        DomainDocument.Parse(Domain, "win11.xml"),
        new LintInputs { Rom = path => path == LegacyRom ? new RomFileFacts(true, true, Rom.UefiCapable) : new RomFileFacts(false, false, null) });

    private static DoctorReport DoctorWithLint(IReadOnlyList<Finding> lint) => Doctor.Run(Seed004() with
    {
        Vm = new VmFacts("win11", [PciAddress.Parse("0000:01:00.0"), PciAddress.Parse("0000:01:00.1")], [LegacyRom, GoneRom], null) { MissingRomFiles = [GoneRom] },
        TargetSlots = new HashSet<PciSlot> { PciSlot.Parse("0000:01:00") },
        Lint = lint,
    });

    [Test]
    public void I_see_a_vms_lint_findings_in_the_doctor_report_with_the_same_severity_and_a_missing_rom_reported_once()
    {
        var lint = Lint();
        Assert.That(lint.Select(f => f.Id), Does.Contain("pcie-on-i440fx").And.Contain("rom-no-efi").And.Contain("rom-missing"), "the domain trips the rules this test is about");

        var report = DoctorWithLint(lint);

        var fromLint = report.Findings.Where(f => f.Evidence is ["domain XML lint", ..]).ToList();
        Assert.That(fromLint.Select(f => (f.Id, f.Severity, f.Message, f.Remedy)), Is.EquivalentTo(lint.Where(f => f.Id != "rom-missing").Select(f => (f.Id, f.Severity, f.Message, f.Remedy))));
        Assert.That(report.WithId("pcie-on-i440fx").Single().Severity, Is.EqualTo(Severity.Error));
        Assert.That(report.HasErrors, "a lint error is an error of the doctor run");

        // The missing ROM once, from doctor's own check with the <rom> line as evidence.
        Assert.That(report.WithId("rom-missing"), Is.Empty);
        var missing = report.WithId("rom-file").Single(f => f.Subject == GoneRom);
        Assert.That(missing.Severity, Is.EqualTo(Severity.Error));
        Assert.That(missing.Evidence, Is.EqualTo(new[] { $"<rom file='{GoneRom}'/>" }));
    }

    [Test]
    public void I_can_put_a_roms_verdicts_in_the_doctor_report_and_they_sort_on_the_same_scale()
    {
        var noUefi = Rom.Findings.Single(f => f.Id == "no-uefi") with { Subject = LegacyRom };
        Assert.That(noUefi.Severity, Is.EqualTo(Severity.Warning), "the ROM parser's verdict that it will not work with OVMF");

        var report = DoctorReport.From([.. DoctorWithLint(Lint()).Findings, noUefi]);

        var order = report.Findings.Select(f => f.Severity).ToList();
        Assert.That(order, Is.Ordered, "one scale: errors, warnings, notes, ok");
        var warnings = report.Findings.Where(f => f.Severity == Severity.Warning).ToList();
        Assert.That(warnings, Does.Contain(noUefi));
        Assert.That(warnings.Select(f => f.Id), Does.Contain("rom-no-efi").And.Contain("duplicate-vfio-binding"), "the ROM's verdict sits with lint's and doctor's warnings");
        Assert.That(DoctorReport.From(Rom.Findings).HasErrors, Is.False, "a ROM warning alone does not fail a doctor run");
    }
}
