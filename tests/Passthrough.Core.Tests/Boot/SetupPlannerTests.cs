using NUnit.Framework;
using Passthrough.Boot;
using Passthrough.Domain;
using Passthrough.Host;
using Passthrough.Pci;
using Passthrough.Setup;

namespace Passthrough.Tests.Boot;

public sealed class SetupPlannerTests
{
    private static readonly HostFacts Amd = new() { CpuVendor = "AuthenticAMD", KernelRelease = "6.19.14-200.fc44.x86_64" };

    private static PciFunction Function(string address, int vendor, int device, int classCode, string? driver) =>
        new() { Address = PciAddress.Parse(address), VendorId = vendor, DeviceId = device, Class = new PciClass(classCode), Driver = driver };

    private static readonly PciFunction[] Navi31 =
    [
        Function("0000:03:00.0", 0x1002, 0x744c, 0x030000, "amdgpu"),
        Function("0000:03:00.1", 0x1002, 0xab30, 0x040300, "snd_hda_intel"),
        Function("0000:03:00.2", 0x1002, 0x7446, 0x0c0330, "xhci_hcd"),
        Function("0000:03:00.3", 0x1002, 0x7444, 0x0c8000, "i2c-designware-pci"),
    ];

    private static BootFiles Grub(string cmdline, params string[] present) =>
        new(new Dictionary<string, string> { ["/etc/default/grub"] = $"GRUB_CMDLINE_LINUX=\"{cmdline}\"\n" }, present);

    [Test]
    public void I_see_pcie_acs_override_flagged_and_never_added()
    {
        var files = new BootFiles(new Dictionary<string, string>
        {
            ["/boot/limine.conf"] = "/Unraid OS\n    protocol: linux\n    cmdline: pcie_acs_override=downstream,multifunction amd_iommu=on iommu.passthrough=1 vfio-pci.ids=10de:2805,10de:22bd video=efifb:off\n",
        });

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Static, Facts = Amd, Files = files });

        Assert.That(plan.Flagged.Select(f => f.Argument), Is.EqualTo(new[] { "pcie_acs_override=downstream,multifunction" }));
        Assert.That(plan.Flagged[0].Where, Is.EqualTo("/boot/limine.conf"));
        Assert.That(plan.Edits.Single().After, Does.Contain("pcie_acs_override=downstream,multifunction"), "kept as the user wrote it");
        Assert.That(plan.ArgumentsAdded, Is.EqualTo(new[] { "iommu=pt" }));
    }

    [Test]
    public void I_get_seed_003s_usb_and_i2c_functions_bound_by_a_boot_unit_and_no_vfio_virqfd_on_6_19()
    {
        var files = new BootFiles(
            new Dictionary<string, string> { ["/etc/default/grub"] = "GRUB_CMDLINE_LINUX=\"rhgb quiet\"\n" },
            ["/usr/bin/dracut", "/usr/sbin/grub2-mkconfig", "/usr/lib/systemd/system/virtqemud.service"]);

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Static, Functions = Navi31, Facts = Amd, Files = files });

        var unit = plan.Edits.Single(e => e.Path == SetupPlanner.BindUnitFile).After;
        Assert.That(unit, Does.Contain("0000:03:00.2/driver_override").And.Contain("0000:03:00.3/driver_override").And.Not.Contain("0000:03:00.0/"));
        Assert.That(plan.UnitsToEnable, Is.EqualTo(new[] { SetupPlanner.BindUnit }));
        Assert.That(plan.Edits.Single(e => e.Path == SetupPlanner.DracutFile).After, Does.Contain("force_drivers+=\" vfio vfio_iommu_type1 vfio_pci \"").And.Not.Contain("virqfd"));
        Assert.That(plan.ArgumentsAdded, Does.Contain("vfio-pci.ids=1002:744c,1002:ab30,1002:7446,1002:7444").And.Contain("rd.driver.pre=vfio-pci"));
        Assert.That(plan.RegenerationCommands.Select(c => c.Display), Is.EqualTo(new[] { "grub2-mkconfig -o /boot/grub2/grub.cfg", "dracut --force --regenerate-all" }));
        Assert.That(plan.RebootNeeded, Is.True);
    }

    [Test]
    public void I_get_vfio_virqfd_in_the_initramfs_only_before_linux_6_2()
    {
        var files = new BootFiles(new Dictionary<string, string>(), ["/usr/bin/dracut"]);
        var old = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Static, Functions = Navi31, Facts = Amd with { KernelRelease = "6.1.0-28-amd64" }, Files = files });
        var current = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Static, Functions = Navi31, Facts = Amd with { KernelRelease = "6.2.0" }, Files = files });

        Assert.That(old.Edits.Single(e => e.Path == SetupPlanner.DracutFile).After, Does.Contain(" vfio_virqfd "));
        Assert.That(current.Edits.Single(e => e.Path == SetupPlanner.DracutFile).After, Does.Not.Contain("vfio_virqfd"));
    }

    [Test]
    public void I_get_intel_iommu_turned_on_where_the_line_had_it_off_and_am_told_about_the_contradiction()
    {
        var plan = SetupPlanner.Plan(new SetupRequest
        {
            Mode = PassthroughMode.Dynamic,
            Facts = new HostFacts { CpuVendor = "GenuineIntel" },
            Files = Grub("intel_iommu=on quiet intel_iommu=off", "/usr/sbin/update-grub"),
        });

        Assert.That(plan.Edits.Single().After, Is.EqualTo("GRUB_CMDLINE_LINUX=\"intel_iommu=on quiet iommu=pt\"\n"));
        Assert.That(plan.Notes, Has.Some.Contains("contradicts itself"));
        Assert.That(plan.RegenerationCommands.Single().Display, Is.EqualTo("update-grub"));
    }

    [Test]
    public void I_get_an_empty_plan_once_everything_is_in_place()
    {
        var files = Grub("quiet iommu=pt", "/usr/sbin/update-grub");

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.SingleGpu, Facts = Amd, Files = files });

        Assert.That(plan.IsEmpty, Is.True);
        Assert.That(plan.RebootNeeded, Is.False);
    }

    [Test]
    public void I_get_rpm_ostree_kargs_and_their_inverse_for_undo()
    {
        var files = new BootFiles(new Dictionary<string, string> { ["/proc/cmdline"] = "rhgb quiet vfio-pci.ids=1002:744c\n" }, ["/run/ostree-booted", "/usr/bin/dracut"]);

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Dynamic, Functions = Navi31, Facts = Amd, Files = files });

        Assert.That(plan.ArgumentCommands.Single().Display, Is.EqualTo("rpm-ostree kargs --append-if-missing=iommu=pt --delete-if-present=vfio-pci.ids=1002:744c"));
        Assert.That(plan.UndoCommands.Single().Display, Is.EqualTo("rpm-ostree kargs --delete-if-present=iommu=pt --append-if-missing=vfio-pci.ids=1002:744c"));
    }

    [Test]
    public void I_get_kernelstub_options_on_pop_os()
    {
        var files = new BootFiles(new Dictionary<string, string> { ["/etc/kernelstub/configuration"] = "{}", ["/proc/cmdline"] = "quiet splash\n" });

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Dynamic, Facts = new HostFacts { CpuVendor = "GenuineIntel" }, Files = files });

        Assert.That(plan.ArgumentCommands.Single().Arguments, Is.EqualTo(new[] { "--add-options", "intel_iommu=on iommu=pt" }));
        Assert.That(plan.CommandTouchedFiles, Is.EqualTo(new[] { "/etc/kernelstub/configuration" }));
    }

    [Test]
    public void I_keep_an_existing_memlock_override_instead_of_adding_another()
    {
        var files = new BootFiles(
            new Dictionary<string, string> { ["/etc/systemd/system/virtqemud.service.d/override.conf"] = "[Service]\nLimitMEMLOCK=infinity\n" },
            ["/usr/lib/systemd/system/virtqemud.service"]);

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Dynamic, Facts = Amd, Files = files });

        Assert.That(plan.Edits.Select(e => e.Path), Has.None.Contains("memlock"));
        Assert.That(plan.Notes, Has.Some.Contains("override.conf already sets LimitMEMLOCK=infinity"));
    }

    private static BootFiles GrubWithVfioConf(string vfioConf) => new(
        new Dictionary<string, string>
        {
            ["/etc/default/grub"] = "GRUB_CMDLINE_LINUX=\"quiet\"\n",
            ["/etc/modprobe.d/vfio.conf"] = vfioConf,
        },
        ["/usr/sbin/update-grub", "/usr/sbin/update-initramfs"]);

    [Test]
    public void In_dynamic_mode_i_get_my_gpu_taken_off_an_old_vfio_pci_ids_line_and_the_other_ids_kept()
    {
        var files = GrubWithVfioConf("# my old setup\noptions vfio-pci ids=1002:744c,1002:ab30,10de:1c82 disable_vga=1\n");

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Dynamic, Functions = Navi31, Facts = Amd, Files = files });

        var edit = plan.Edits.Single(e => e.Path == "/etc/modprobe.d/vfio.conf");
        Assert.That(edit.After.Split('\n'), Does.Contain("options vfio-pci ids=10de:1c82 disable_vga=1"), "another GPU stays on vfio-pci");
        Assert.That(edit.After, Does.Contain("# passthrough setup changed this line (undo restores it): options vfio-pci ids=1002:744c,1002:ab30,10de:1c82 disable_vga=1"));
        Assert.That(edit.Reason, Does.Contain("host keeps the GPU at boot"));
        Assert.That(plan.Edits.Select(e => e.Path), Does.Not.Contain(SetupPlanner.ModprobeFile), "dynamic mode writes no vfio-pci ids of its own");
        Assert.That(plan.RegenerationCommands.Select(c => c.Display), Does.Contain("update-initramfs -u -k all"), "modprobe.d is copied into the initramfs");
        Assert.That(plan.RebootNeeded, Is.True);
    }

    [Test]
    public void In_static_mode_one_file_owns_vfio_pci_ids_and_applying_twice_changes_nothing()
    {
        var files = GrubWithVfioConf("options vfio_iommu_type1 allow_unsafe_interrupts=1\noptions vfio_pci ids=1002:1478,1002:744c\n");

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Static, Functions = Navi31, Facts = Amd, Files = files });

        var ours = plan.Edits.Single(e => e.Path == SetupPlanner.ModprobeFile).After;
        var theirs = plan.Edits.Single(e => e.Path == "/etc/modprobe.d/vfio.conf").After;
        Assert.That(ours, Does.Contain("options vfio-pci ids=1002:744c,1002:ab30,1002:7446,1002:7444,1002:1478\n"));
        Assert.That(theirs.Split('\n').Where(l => !l.StartsWith('#')), Has.None.Contain("ids="), "no second ids= that would silently win");
        Assert.That(plan.Notes, Has.Some.Contain("allow_unsafe_interrupts=1"));

        var applied = plan.Edits.Aggregate(files, (f, e) => f.WithFile(e.Path, e.After));
        var again = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.Static, Functions = Navi31, Facts = Amd, Files = applied });
        Assert.That(again.Edits.Where(e => e.Path.StartsWith("/etc/modprobe.d/", StringComparison.Ordinal)), Is.Empty, "1002:1478 stays, carried by our file's own note");
    }

    [Test]
    public void A_vfio_pci_line_without_my_gpu_is_left_alone()
    {
        var files = GrubWithVfioConf("options vfio-pci ids=10de:1c82\n");

        var plan = SetupPlanner.Plan(new SetupRequest { Mode = PassthroughMode.SingleGpu, Functions = Navi31, Facts = Amd, Files = files });

        Assert.That(plan.Edits.Select(e => e.Path), Does.Not.Contain("/etc/modprobe.d/vfio.conf"));
    }
}
