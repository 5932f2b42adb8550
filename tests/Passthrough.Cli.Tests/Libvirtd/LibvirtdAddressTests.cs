using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Tests.Libvirtd;

/// <summary>
/// libvirt's QEMU driver assigns and checks guest PCI addresses when a domain is defined
/// (virDomainPCIAddressReserveAddr: "Attempted double use of PCI Address"); its test driver does not.
/// </summary>
public class LibvirtdAddressTests
{
    [Test]
    public async Task The_QEMU_driver_defines_add_gpus_output_for_a_disk_on_a_bus_without_a_declared_controller()
    {
        await RealLibvirtd.EnsureRunningAsync();
        var name = $"passthrough-undeclared-bus-{Guid.NewGuid():N}"[..40];
        var xml = File.ReadAllText(Path.Join(RepoPaths.Fixtures, "domains", "corpus", "q35-disk-on-undeclared-bus.xml"))
            .Replace("type='kvm'", "type='qemu'", StringComparison.Ordinal)
            .Replace("machine='pc-q35-9.2'", "machine='q35'", StringComparison.Ordinal)
            .Replace("<name>q35-undeclared-bus</name>", $"<name>{name}</name>", StringComparison.Ordinal);

        var edited = CliRun.RunWith(xml, null, "xml", "add-gpu", "-", "--slot", "0000:03:00", "--functions", "0,1");
        using var dir = new TempDirectory();
        var file = dir.Combine("vm.xml");
        await File.WriteAllTextAsync(file, edited.Stdout);
        try
        {
            var define = await RealLibvirtd.Virsh("define", file);

            Assert.That(edited.ExitCode, Is.EqualTo(0), edited.ToString());
            Assert.That(define.Succeeded, Is.True, define.Stderr);
            Assert.That(define.Stderr, Does.Not.Contain("Attempted double use of PCI Address"));
        }
        finally
        {
            await RealLibvirtd.Virsh("undefine", name);
        }
    }
}
