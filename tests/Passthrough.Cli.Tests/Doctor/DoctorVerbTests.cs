using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Doctor;

public class DoctorVerbTests
{
    private static readonly string[] Severities = ["error", "warning", "info", "ok"];

    private static (CliResult Result, TempDirectory Root) Doctor(HostTreeBuilder host, params string[] args)
    {
        var root = new TempDirectory("doctor");
        DoctorHosts.Expand(host, root.Path);
        return (CliRun.Run(["--root", root.Path, "doctor", .. args]), root);
    }

    private static List<JsonElement> Findings(CliResult result)
    {
        using var doc = JsonDocument.Parse(result.Stdout);
        return [.. doc.RootElement.GetProperty("findings").EnumerateArray().Select(e => e.Clone())];
    }

    private static JsonElement One(List<JsonElement> findings, string id) =>
        findings.Single(f => f.GetProperty("id").GetString() == id);

    [Test]
    public void I_get_exit_1_and_the_1to1_mapping_error_with_its_kernel_line_on_seed_004s_host()
    {
        var (result, root) = Doctor(DoctorHosts.Seed004(), "--json");
        using var _ = root;

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        var finding = One(Findings(result), "firmware-1to1-mapping");
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("error"));
        Assert.That(finding.GetProperty("subject").GetString(), Is.EqualTo("0000:01:00.0"));
        Assert.That(finding.GetProperty("evidence")[0].GetString(), Does.Contain(DoctorHosts.Seed004OneToOne));
        Assert.That(finding.GetProperty("message").GetString(), Does.Contain("BIOS 1.A7, 01/07/2026"));
    }

    [Test]
    public void The_json_has_exactly_the_documented_shape()
    {
        var (result, root) = Doctor(DoctorHosts.Seed004(), "--json");
        using var _ = root;

        using var doc = JsonDocument.Parse(result.Stdout);
        Assert.That(doc.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "findings" }));
        foreach (var f in doc.RootElement.GetProperty("findings").EnumerateArray())
        {
            Assert.That(f.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "id", "severity", "subject", "message", "evidence", "remedy" }));
            Assert.That(Severities, Does.Contain(f.GetProperty("severity").GetString()));
            Assert.That(f.GetProperty("subject").ValueKind, Is.AnyOf(JsonValueKind.String, JsonValueKind.Null));
            Assert.That(f.GetProperty("evidence").ValueKind, Is.EqualTo(JsonValueKind.Array));
            Assert.That(f.GetProperty("remedy").ValueKind, Is.AnyOf(JsonValueKind.String, JsonValueKind.Null));
        }
    }

    [Test]
    public void I_see_seed_004s_limine_boot_the_ignored_syslinux_cfg_and_the_duplicate_binding()
    {
        var (result, root) = Doctor(DoctorHosts.Seed004(), "--json");
        using var _ = root;
        var findings = Findings(result);

        var boot = One(findings, "bootloader");
        Assert.That(boot.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(boot.GetProperty("message").GetString(), Does.Contain("Limine").And.Contain("/boot/syslinux/syslinux.cfg"));
        var duplicate = One(findings, "duplicate-vfio-binding");
        Assert.That(duplicate.GetProperty("evidence").EnumerateArray().Select(e => e.GetString()), Does.Contain("/boot/config/vfio-pci.cfg:1: BIND=0000:01:00.0|10de:2805 0000:01:00.1|10de:22bd"));
        Assert.That(One(findings, "unsafe-interrupts").GetProperty("evidence")[0].GetString(), Is.EqualTo("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts: Y"));
    }

    [Test]
    public void I_get_the_empty_cmdline_error_when_the_edited_bootloader_did_not_boot()
    {
        var (result, root) = Doctor(DoctorHosts.Seed004(cmdline: string.Empty, oneToOne: false), "--json");
        using var _ = root;

        var finding = One(Findings(result), "cmdline-iommu");
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("error"));
        Assert.That(finding.GetProperty("message").GetString(), Does.Contain("/proc/cmdline is empty"));
        Assert.That(result.ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void I_get_exit_0_and_no_error_on_seed_001s_ready_host()
    {
        var (result, root) = Doctor(DoctorHosts.Seed001(), "--json");
        using var _ = root;

        var findings = Findings(result);
        Assert.That(findings.Where(f => f.GetProperty("severity").GetString() == "error").Select(f => f.ToString()), Is.Empty);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(One(findings, "interrupt-remapping").GetProperty("evidence")[0].GetString(), Does.Contain("DMAR-IR: Enabled IRQ remapping in x2apic mode"));
        Assert.That(One(findings, "bootloader").GetProperty("message").GetString(), Does.Contain("GRUB"));
        Assert.That(findings.Where(f => f.GetProperty("subject").GetString() == "0000:00:02").Select(f => f.GetProperty("id").GetString()), Is.Empty, "the host's own boot GPU is not checked as a passthrough target");
    }

    [Test]
    public void I_get_findings_grouped_by_severity_with_one_line_of_remedy_in_text()
    {
        var (result, root) = Doctor(DoctorHosts.Seed004());
        using var _ = root;

        var text = result.Stdout;
        Assert.That(text.IndexOf("Errors (", StringComparison.Ordinal), Is.LessThan(text.IndexOf("Warnings (", StringComparison.Ordinal)));
        Assert.That(text.IndexOf("Warnings (", StringComparison.Ordinal), Is.LessThan(text.IndexOf("OK (", StringComparison.Ordinal)));
        Assert.That(text, Does.Contain("✗ firmware-1to1-mapping 0000:01:00.0:"));
        Assert.That(text, Does.Contain("do: None of these is certain"));
        Assert.That(text, Does.Not.Contain("\u001b["), "no colour when not on a terminal");
        Assert.That(result.Stderr, Is.Empty);
    }

    [Test]
    public void I_can_check_one_gpu_with_slot_and_get_a_clear_error_for_an_empty_slot()
    {
        var (result, root) = Doctor(DoctorHosts.Seed001(), "--slot", "0000:00:02", "--json");
        using var _ = root;
        var missing = CliRun.Run("--root", root.Path, "doctor", "--slot", "0000:09:00");

        Assert.That(Findings(result).Where(f => f.GetProperty("id").GetString() == "reset").Select(f => f.GetProperty("subject").GetString()), Is.EqualTo(new[] { "0000:00:02.0" }));
        Assert.That(missing.ExitCode, Is.EqualTo(2));
        Assert.That(missing.Stderr, Does.Contain("No PCI device at 0000:09:00"));
    }

    [Test]
    public void I_get_the_iommu_off_error_with_the_firmware_toggle_to_change()
    {
        var (result, root) = Doctor(DoctorHosts.Seed001().NoIommu().Cmdline("BOOT_IMAGE=/boot/vmlinuz ro quiet"), "--json");
        using var _ = root;

        var finding = One(Findings(result), "iommu-enabled");
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("error"));
        Assert.That(finding.GetProperty("remedy").GetString(), Does.Contain("VT-d").And.Contain("intel_iommu=on"));
        Assert.That(result.ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void I_am_told_when_the_kernel_log_is_missing_instead_of_being_told_all_is_well()
    {
        var (result, root) = Doctor(DoctorHosts.Seed001().Without("/dev/kmsg"), "--json");
        using var _ = root;

        var finding = One(Findings(result), "interrupt-remapping");
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("info"));
        Assert.That(finding.GetProperty("message").GetString(), Does.Contain("dev/kmsg does not exist"));
    }

    [Test]
    public void I_can_check_a_vm_from_its_xml_and_get_its_missing_rom_and_lint_findings()
    {
        using var root = new TempDirectory("doctor");
        DoctorHosts.Expand(DoctorHosts.Seed001(), root.Path);
        var xml = root.Combine("win11.xml");
        File.WriteAllText(xml, """
            <domain type='kvm'>
              <name>win11</name>
              <memory unit='GiB'>16</memory>
              <os><type arch='x86_64' machine='pc-i440fx-9.2'>hvm</type></os>
              <devices>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
                  <rom file='/usr/share/qemu/AMD.RX7900XTX.24576.221115.rom'/>
                </hostdev>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>
                </hostdev>
              </devices>
            </domain>
            """);

        var result = CliRun.Run("--root", root.Path, "doctor", "--xml", xml, "--json");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        var findings = Findings(result);
        var rom = One(findings, "rom-file");
        Assert.That(rom.GetProperty("severity").GetString(), Is.EqualTo("error"));
        Assert.That(rom.GetProperty("subject").GetString(), Is.EqualTo("/usr/share/qemu/AMD.RX7900XTX.24576.221115.rom"));
        Assert.That(One(findings, "pcie-on-i440fx").GetProperty("severity").GetString(), Is.EqualTo("error"));
        Assert.That(findings.Where(f => f.GetProperty("id").GetString() == "group-isolation").Select(f => f.GetProperty("subject").GetString()), Is.EqualTo(new[] { "0000:01:00" }));
    }

    [Test]
    public void I_get_a_clear_error_for_an_xml_file_that_is_not_a_domain()
    {
        using var root = new TempDirectory("doctor");
        DoctorHosts.Expand(DoctorHosts.Seed001(), root.Path);
        var xml = root.Combine("bad.xml");
        File.WriteAllText(xml, "<domain><name>x</name>\n<devices>\n");

        var result = CliRun.Run("--root", root.Path, "doctor", "--xml", xml);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("bad.xml:").And.Contain("not well-formed"));
        Assert.That(result.Stderr, Does.Not.Contain("   at "));
    }
}
