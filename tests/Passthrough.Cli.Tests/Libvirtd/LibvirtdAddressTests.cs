using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Libvirtd;

/// <summary>
/// libvirt's QEMU driver assigns and checks guest PCI addresses when a domain is defined
/// (virDomainPCIAddressReserveAddr: "Attempted double use of PCI Address"); its test driver does not.
/// </summary>
public class LibvirtdAddressTests
{
    [TestCase("q35-disk-on-undeclared-bus.xml", "pc-q35-9.2", "q35", 2, 0, TestName = "The_QEMU_driver_defines_add_gpus_output_for_a_disk_on_a_bus_without_a_declared_controller")]
    [TestCase("i440fx-bus0-full-bridge.xml", "pc-i440fx-9.2", "pc", 1, 2, TestName = "The_QEMU_driver_defines_add_gpus_output_on_a_pci_bridge_when_i440fx_bus_0_is_full")]
    public async Task Add_gpus_output_is_defined_by_the_QEMU_driver_with_the_gpu_on_a_free_address(string corpus, string machine, string installedMachine, int bus, int slot)
    {
        await RealLibvirtd.EnsureRunningAsync();
        var name = $"passthrough-address-{Guid.NewGuid():N}"[..36];
        var xml = File.ReadAllText(Path.Join(RepoPaths.Fixtures, "domains", "corpus", corpus));
        var original = LibvirtCheck.NameOf(xml)!;
        xml = xml.Replace("type='kvm'", "type='qemu'", StringComparison.Ordinal)
            .Replace($"machine='{machine}'", $"machine='{installedMachine}'", StringComparison.Ordinal)
            .Replace($"<name>{original}</name>", $"<name>{name}</name>", StringComparison.Ordinal);

        var edited = CliRun.RunWith(xml, null, "xml", "add-gpu", "-", "--slot", "0000:03:00", "--functions", "0,1", "--allow-i440fx");
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        await File.WriteAllTextAsync(file, edited.Stdout);
        try
        {
            var define = await RealLibvirtd.Virsh("define", file);
            var dump = await RealLibvirtd.Virsh("dumpxml", "--inactive", name);

            Assert.That(edited.ExitCode, Is.EqualTo(0), edited.ToString());
            Assert.That(define.Succeeded, Is.True, define.Stderr);
            Assert.That(dump.Stdout, Does.Contain($"<address type='pci' domain='0x0000' bus='0x{bus:x2}' slot='0x{slot:x2}' function='0x1'/>"), "the GPU's second function, where add-gpu put it");
        }
        finally
        {
            await RealLibvirtd.Virsh("undefine", name);
        }
    }
}
