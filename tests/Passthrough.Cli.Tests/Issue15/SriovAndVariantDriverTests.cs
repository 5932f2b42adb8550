using System.Text.Json;
using NUnit.Framework;
using Passthrough.Testing;
using Passthrough.Tests.Binding;
using Passthrough.Tests.Xml;

namespace Passthrough.Tests.Issue15;

/// <summary>Issue 15: SR-IOV virtual functions, VFIO variant drivers, laptops' 3D controllers, reset families, keep-on-vfio.</summary>
[NonParallelizable]
public class SriovAndVariantDriverTests
{
    private const string Domain = """
        <domain type='kvm'>
          <name>win11</name>
          <uuid>9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f</uuid>
          <memory unit='GiB'>8</memory>
          <os><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices>
            <controller type='pci' index='0' model='pcie-root'/>
          </devices>
        </domain>

        """;

    private static JsonElement Json(CliResult result)
    {
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    private static string DomainFile(TempDirectory dir)
    {
        var path = dir.Combine("win11.xml");
        File.WriteAllText(path, Domain);
        return path;
    }

    [Test]
    public void I_see_the_igpu_virtual_functions_under_their_physical_function_and_never_as_functions_of_the_gpu()
    {
        using var root = SmallHost.Fixture("igpu-sriov-xe");

        var text = CliRun.Run("--root", root.Path, "list");
        var gpus = Json(CliRun.Run("--root", root.Path, "list", "--json")).GetProperty("gpus");
        var all = Json(CliRun.Run("--root", root.Path, "list", "--all", "--json")).GetProperty("devices");

        Assert.That(text.Stdout, Does.Contain("Virtual functions (2 of 7 SR-IOV virtual functions enabled), each passed on its own:"));
        Assert.That(text.Stdout.IndexOf("0000:00:02.1", StringComparison.Ordinal), Is.GreaterThan(text.Stdout.IndexOf("Virtual functions", StringComparison.Ordinal)));
        Assert.That(gpus.GetArrayLength(), Is.EqualTo(1), "the VFs are no GPUs of their own");
        Assert.That(gpus[0].GetProperty("functions").EnumerateArray().Select(f => f.GetProperty("address").GetString()), Is.EqualTo(new[] { "0000:00:02.0" }));
        Assert.That(gpus[0].GetProperty("virtualFunctions").EnumerateArray().Select(f => f.GetProperty("address").GetString()), Is.EqualTo(new[] { "0000:00:02.1", "0000:00:02.2" }));
        var physical = all.EnumerateArray().ToDictionary(d => d.GetProperty("address").GetString()!, d => d.GetProperty("physicalFunction").GetString());
        Assert.That(physical["0000:00:02.1"], Is.EqualTo("0000:00:02.0"));
        Assert.That(physical["0000:00:02.2"], Is.EqualTo("0000:00:02.0"));
        Assert.That(physical["0000:00:02.0"], Is.Null);
        Assert.That(physical["0000:00:1f.3"], Is.Null);
    }

    [Test]
    public void I_can_pass_one_virtual_function_on_its_own_with_its_variant_driver()
    {
        using var root = SmallHost.Fixture("igpu-sriov-xe");
        using var dir = new TempDirectory();
        var file = DomainFile(dir);

        var result = CliRun.Run("--root", root.Path, "xml", "add-gpu", file, "--slot", "0000:00:02.1", "--driver-model", "xe_vfio_pci");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("<driver model='xe_vfio_pci'/>"));
        Assert.That(result.Stdout, Does.Contain("<address domain='0x0000' bus='0x00' slot='0x02' function='0x1'/>"));
        Assert.That(result.Stdout, Does.Not.Contain("function='0x0'/>\n      </source>"), "the PF 00:02.0 is not passed");
        Assert.That(result.Stdout, Does.Match("<address type='pci' domain='0x0000' bus='0x0[0-9a-f]' slot='0x00' function='0x0'/>"), "the guest sees it as function 0");
        Assert.That(result.Stdout, Does.Not.Contain("multifunction"));
    }

    [Test]
    public void A_virtual_function_named_among_the_slots_functions_is_refused_and_nothing_is_written()
    {
        using var root = SmallHost.Fixture("igpu-sriov-xe");
        using var dir = new TempDirectory();
        var file = DomainFile(dir);

        var result = CliRun.Run("--root", root.Path, "xml", "add-gpu", file, "--slot", "0000:00:02", "--functions", "0,1", "--in-place");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.StartWith("passthrough: 0000:00:02.1 is an SR-IOV virtual function of 0000:00:02.0"));
        Assert.That(result.Stderr, Does.Contain("--slot 0000:00:02.1"));
        Assert.That(File.ReadAllText(file), Is.EqualTo(Domain));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "no backup or temp file");
    }

    [Test]
    public void A_slot_holding_only_virtual_functions_is_refused_with_one_of_them_to_give_instead()
    {
        using var root = new TempDirectory();
        new HostTreeBuilder().Intel()
            .RootPort("0000:00:1c.0", "8086:a338", group: 9, acs: true, below: b => b
                .Function("0000:03:00.0", "8086:1521", 0x020000, driver: "igb", group: 13, flr: true, sriovTotalVfs: 8, sriovNumVfs: 2)
                .Function("0000:03:10.0", "8086:1520", 0x020000, driver: "igbvf", group: 14, flr: true, physfn: "0000:03:00.0")
                .Function("0000:03:10.4", "8086:1520", 0x020000, driver: "igbvf", group: 15, flr: true, physfn: "0000:03:00.0"))
            .WriteTo(root.Path);
        var before = TreeSnapshot.Take(Path.Join(root.Path, "sys"));

        var result = CliRun.Run("--root", root.Path, "bind", "0000:03:10");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("0000:03:10 holds only SR-IOV virtual functions (of 0000:03:00.0)").And.Contain("e.g. 0000:03:10.0"));
        Assert.That(TreeSnapshot.Take(Path.Join(root.Path, "sys")), Is.EqualTo(before));
    }

    [Test]
    public void A_driver_model_that_is_not_a_vfio_variant_here_is_refused_and_nothing_is_written()
    {
        using var root = SmallHost.Fixture("igpu-sriov-xe");
        using var dir = new TempDirectory();
        var file = DomainFile(dir);

        var xe = CliRun.Run("--root", root.Path, "xml", "add-gpu", file, "--slot", "0000:00:02.1", "--driver-model", "xe", "--in-place");
        var unknown = CliRun.Run("--root", root.Path, "xml", "add-gpu", file, "--slot", "0000:00:02.1", "--driver-model", "mlx5_vfio_pci", "--in-place");

        Assert.That(xe.ExitCode, Is.EqualTo(2), xe.ToString());
        Assert.That(xe.Stderr, Does.StartWith("passthrough: --driver-model xe is not a VFIO variant driver on this host"));
        Assert.That(unknown.ExitCode, Is.EqualTo(2), unknown.ToString());
        Assert.That(File.ReadAllText(file), Is.EqualTo(Domain));
    }

    [Test]
    public void An_installed_variant_driver_that_is_not_loaded_is_known_from_modules_dep()
    {
        using var root = new TempDirectory();
        FixtureHosts.IgpuSriovXe()
            .File("/lib/modules/6.19.2-arch1-1/modules.dep", "kernel/drivers/vfio/pci/mlx5/mlx5-vfio-pci.ko.zst: kernel/drivers/vfio/pci/vfio-pci-core.ko.zst kernel/drivers/vfio/vfio.ko.zst\nkernel/drivers/gpu/drm/xe/xe.ko.zst: kernel/drivers/gpu/drm/drm.ko.zst\n")
            .WriteTo(root.Path);
        using var dir = new TempDirectory();
        var file = DomainFile(dir);

        var result = CliRun.Run("--root", root.Path, "xml", "add-gpu", file, "--slot", "0000:00:02.2", "--driver-model", "mlx5_vfio_pci");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("<driver model='mlx5_vfio_pci'/>"));
    }

    [Test]
    public void Binding_the_igpu_slot_with_virtual_functions_enabled_is_refused_before_anything_changes()
    {
        using var root = SmallHost.Fixture("igpu-sriov-xe");
        var sys = Path.Join(root.Path, "sys");
        var before = TreeSnapshot.Take(sys);

        var result = CliRun.Run("--root", root.Path, "bind", "0000:00:02");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("0000:00:02.0 has 2 SR-IOV virtual function(s) enabled (0000:00:02.1, 0000:00:02.2); unbinding its driver xe would remove them."));
        Assert.That(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(2), "one error line and one remedy line");
        Assert.That(TreeSnapshot.Take(sys), Is.EqualTo(before));
        Assert.That(Directory.Exists(Path.Join(root.Path, "run", "passthrough")) ? Directory.GetFiles(Path.Join(root.Path, "run", "passthrough"), "*.json") : [], Is.Empty, "no journal");
    }

    [Test]
    public void A_virtual_function_on_a_variant_driver_counts_as_assigned_and_its_group_is_viable_alone()
    {
        using var root = SmallHost.Fixture("igpu-sriov-xe");

        var groups = Json(CliRun.Run("--root", root.Path, "groups", "--json")).GetProperty("groups").EnumerateArray()
            .ToDictionary(g => g.GetProperty("id").GetInt32(), g => (Viable: g.GetProperty("viable").GetBoolean(), Reason: g.GetProperty("reason").GetString()));
        var bind = CliRun.Run("--root", root.Path, "bind", "0000:00:02.1");

        Assert.That(groups[17].Viable, Is.True);
        Assert.That(groups[17].Reason, Does.Contain("0000:00:02"));
        Assert.That(bind.ExitCode, Is.EqualTo(0), bind.ToString());
        Assert.That(bind.Stdout, Does.Contain("0000:00:02.1: already on vfio-pci."), "xe_vfio_pci is a vfio driver: nothing to do");
    }

    [Test]
    public void Doctor_counts_the_enabled_virtual_functions_and_checks_each_one_on_its_own()
    {
        using var root = SmallHost.Fixture("igpu-sriov-xe");

        var findings = Json(CliRun.Run("--root", root.Path, "doctor", "--json")).GetProperty("findings").EnumerateArray()
            .Where(f => f.GetProperty("id").GetString() == "sriov")
            .ToDictionary(f => f.GetProperty("subject").GetString()!, f => f.GetProperty("message").GetString()!);

        Assert.That(findings["0000:00:02.0"], Does.StartWith("2 of 7 SR-IOV virtual functions enabled"));
        Assert.That(findings["0000:00:02.1"], Does.Contain("the VFIO variant driver xe_vfio_pci (its module uses vfio_pci_core)").And.Contain("IOMMU group 17"));
        Assert.That(findings["0000:00:02.2"], Does.Contain("vfio-pci").And.Contain("IOMMU group 18"));
    }

    [Test]
    public void On_a_laptop_the_3d_controller_is_a_gpu_and_doctor_says_it_has_no_outputs_and_where_its_vbios_is()
    {
        using var root = SmallHost.Fixture("laptop-rtx4060-3d");

        var gpus = Json(CliRun.Run("--root", root.Path, "list", "--json")).GetProperty("gpus").EnumerateArray().Select(g => g.GetProperty("slot").GetString());
        var outputs = Json(CliRun.Run("--root", root.Path, "doctor", "--json")).GetProperty("findings").EnumerateArray()
            .Where(f => f.GetProperty("id").GetString() == "gpu-outputs").Select(f => f.GetProperty("message").GetString()!).ToList();

        Assert.That(gpus, Is.EqualTo(new[] { "0000:00:02", "0000:01:00" }));
        Assert.That(outputs, Has.Some.Contains("is a 3D controller with no display outputs"));
        Assert.That(outputs, Has.Some.Contains("ACPI _ROM").And.Some.Contains("not from the card"));
    }

    [Test]
    public void Doctor_names_an_rdna3_cards_family_and_suggests_keep_on_vfio_until_the_vm_has_it()
    {
        using var root = SmallHost.Fixture("rx7600-navi33-dual");
        using var dir = new TempDirectory();
        var plain = dir.Combine("plain.xml");
        var kept = dir.Combine("kept.xml");
        const string hostdev = "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>";
        File.WriteAllText(plain, $"<domain type='kvm'><name>vm</name><metadata><passthrough:config xmlns:passthrough='urn:passthrough:1' mode='dynamic'/></metadata><devices>{hostdev}</devices></domain>");
        File.WriteAllText(kept, $"<domain type='kvm'><name>vm</name><metadata><passthrough:config xmlns:passthrough='urn:passthrough:1' mode='dynamic'><passthrough:release keep-on-vfio='yes'/></passthrough:config></metadata><devices>{hostdev}</devices></domain>");

        // doctor exits 1 when it finds an error elsewhere on the host; the findings are what matter here.
        JsonElement Reset(string file) => Json(CliRun.Run("--root", root.Path, "doctor", "--xml", file, "--json") with { ExitCode = 0 })
            .GetProperty("findings").EnumerateArray().First(f => f.GetProperty("id").GetString() == "reset" && f.GetProperty("subject").GetString() == "0000:03:00.0");

        var before = Reset(plain);
        var after = Reset(kept);

        Assert.That(before.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(before.GetProperty("message").GetString(), Does.Contain("AMD Navi 33 (RDNA3)").And.Contain("vendor-reset does not cover it"));
        Assert.That(before.GetProperty("remedy").GetString(), Does.Contain("<passthrough:release keep-on-vfio=\"yes\"/>"));
        Assert.That(after.GetProperty("remedy").GetString(), Does.Not.Contain("keep-on-vfio"), "the VM already has it");
        Assert.That(after.GetProperty("message").GetString(), Does.Contain("AMD Navi 33 (RDNA3)").And.Contain("the VM keeps it on vfio-pci (keep-on-vfio)"));
    }

    [Test]
    public async Task With_keep_on_vfio_the_gpu_stays_on_vfio_after_the_vm_stops_until_i_restore_it()
    {
        using var host = new SimulatedHost().AmdGpu();
        var before = host.Snapshot();
        var xml = HookVerbTests.Domain("win11", "dynamic", "0000:03:00.0", "0000:03:00.1")
            .Replace("mode=\"dynamic\"/>", "mode=\"dynamic\"><passthrough:release keep-on-vfio=\"yes\"/></passthrough:config>", StringComparison.Ordinal);

        var start = await HookVerbTests.Run(host, host.Kernel, xml, null, "hook", "qemu", "win11", "prepare", "begin", "-");
        var writesAfterStart = host.Kernel.Writes;
        var stop = await HookVerbTests.Run(host, host.Kernel, xml, null, "hook", "qemu", "win11", "release", "end", "-");
        var status = await HookVerbTests.Run(host, host.Kernel, null, null, "status", "--json");

        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        Assert.That(stop.ExitCode, Is.EqualTo(0), stop.ToString());
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("vfio-pci"), "kept on vfio-pci after the stop");
        Assert.That(host.Kernel.Writes, Is.EqualTo(writesAfterStart), "the stop wrote nothing to sysfs");
        Assert.That(File.ReadAllText(Path.Join(host.Root, "var", "log", "passthrough", "passthrough.log")), Does.Contain("kept 0000:03:00.0, 0000:03:00.1 on vfio-pci (keep-on-vfio)"));
        using (var json = JsonDocument.Parse(status.Stdout))
        {
            var vm = json.RootElement.GetProperty("vms")[0];
            Assert.That(vm.GetProperty("state").GetString(), Is.EqualTo("kept"));
            Assert.That(vm.GetProperty("devices")[0].GetProperty("hostDriver").GetString(), Is.EqualTo("amdgpu"));
            Assert.That(json.RootElement.GetProperty("healthy").GetBoolean(), Is.True);
        }

        var again = await HookVerbTests.Run(host, host.Kernel, xml, null, "hook", "qemu", "win11", "prepare", "begin", "-");
        Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
        Assert.That(host.Kernel.Writes, Is.EqualTo(writesAfterStart), "the next start found it on vfio-pci: never rebound to amdgpu in between");
        await HookVerbTests.Run(host, host.Kernel, xml, null, "hook", "qemu", "win11", "release", "end", "-");

        var unbind = await HookVerbTests.Run(host, host.Kernel, null, null, "unbind", "0000:03:00");

        Assert.That(unbind.ExitCode, Is.EqualTo(0), unbind.ToString());
        Assert.That(unbind.Stdout, Does.Contain("0000:03:00.0: back on amdgpu."), "the recorded host driver survived the second start");
        Assert.That(host.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public async Task The_hook_binds_the_variant_driver_the_vms_hostdev_asks_for_and_gives_the_function_back_after()
    {
        using var host = new SimulatedHost().Function("0000:03:00.0", 0x8086, 0xa780, 0x030000, "xe", 20);
        host.Kernel.RegisterDriver("pci", "xe_vfio_pci");
        Directory.CreateDirectory(host.Sys("module/vfio_pci_core/holders"));
        File.CreateSymbolicLink(host.Sys("module/vfio_pci_core/holders/xe_vfio_pci"), "../../xe_vfio_pci");
        var xml = HookVerbTests.Domain("vf", "dynamic", "0000:03:00.0").Replace("<source>", "<driver model='xe_vfio_pci'/><source>", StringComparison.Ordinal);

        var start = await HookVerbTests.Run(host, host.Kernel, xml, null, "hook", "qemu", "vf", "prepare", "begin", "-");
        var status = await HookVerbTests.Run(host, host.Kernel, null, null, "status", "--json");

        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("xe_vfio_pci"));
        Assert.That(host.Read("sys/bus/pci/devices/0000:03:00.0/driver_override"), Is.EqualTo("xe_vfio_pci"));
        using (var json = JsonDocument.Parse(status.Stdout))
        {
            Assert.That(json.RootElement.GetProperty("healthy").GetBoolean(), Is.True, "a variant driver counts as vfio in status");
            Assert.That(json.RootElement.GetProperty("vms")[0].GetProperty("devices")[0].GetProperty("current").GetString(), Is.EqualTo("xe_vfio_pci"));
        }

        var stop = await HookVerbTests.Run(host, host.Kernel, xml, null, "hook", "qemu", "vf", "release", "end", "-");

        Assert.That(stop.ExitCode, Is.EqualTo(0), stop.ToString());
        Assert.That(host.DriverOf("0000:03:00.0"), Is.EqualTo("xe"));
    }

    [Test]
    public void Doctor_for_a_vm_that_passes_one_virtual_function_checks_that_vf_and_leaves_the_hosts_igpu_alone()
    {
        using var root = SmallHost.Fixture("igpu-sriov-xe");
        using var dir = new TempDirectory();
        var file = dir.Combine("vf.xml");
        File.WriteAllText(file, "<domain type='kvm'><name>vf</name><metadata><passthrough:config xmlns:passthrough='urn:passthrough:1' mode='dynamic'/></metadata><devices><hostdev mode='subsystem' type='pci' managed='no'><driver model='xe_vfio_pci'/><source><address domain='0x0000' bus='0x00' slot='0x02' function='0x1'/></source></hostdev></devices></domain>");

        var findings = Json(CliRun.Run("--root", root.Path, "doctor", "--xml", file, "--json") with { ExitCode = 0 }).GetProperty("findings").EnumerateArray().ToList();
        string?[] Subjects(string id) => [.. findings.Where(f => f.GetProperty("id").GetString() == id).Select(f => f.GetProperty("subject").GetString())];

        Assert.That(Subjects("reset"), Is.EqualTo(new[] { "0000:00:02.1" }), "the VF is checked on its own");
        Assert.That(findings.Where(f => f.GetProperty("id").GetString() == "driver-binding").Select(f => f.GetProperty("message").GetString()), Has.None.Contains("0000:00:02.0"), "the host's PF is not asked to give up xe");
    }
}
