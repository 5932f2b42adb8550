using System.Text;
using System.Xml.Linq;
using NUnit.Framework;

namespace Passthrough.Tests.Libvirtd;

/// <summary>Minimal QEMU (TCG) domains on the real libvirtd: 64 MiB, q35, no disk; with or without our metadata.</summary>
internal static class LibvirtdDomains
{
    public static async Task ExpectAsync(Task<Passthrough.Adapters.Processes.ProcessResult> run)
    {
        var result = await run;
        Assert.That(result.Succeeded, Is.True, $"{result.Command}: {result.Stderr}");
    }

    public static async Task DefineAsync(string name, bool withMetadata)
    {
        XNamespace ns = "urn:passthrough:1";
        var domain = new XElement(
            "domain",
            new XAttribute("type", "qemu"),
            new XElement("name", name),
            new XElement("memory", new XAttribute("unit", "MiB"), 64),
            new XElement("vcpu", 1),
            new XElement("os", new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "q35"), "hvm")),
            withMetadata
                ? new XElement("metadata", new XElement(ns + "config", new XAttribute(XNamespace.Xmlns + "passthrough", ns), new XAttribute("mode", "dynamic")))
                : null,
            new XElement("devices", new XElement("emulator", "/usr/bin/qemu-system-x86_64")));
        var file = Path.Join(Path.GetTempPath(), $"passthrough-domain-{Guid.NewGuid():N}.xml");
        await File.WriteAllTextAsync(file, domain.ToString(), Encoding.UTF8);
        try
        {
            await ExpectAsync(RealLibvirtd.Virsh("define", file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    public static async Task RemoveAsync(params string[] names)
    {
        foreach (var name in names)
        {
            await RealLibvirtd.Virsh("destroy", name);
            await RealLibvirtd.Virsh("undefine", name);
        }
    }
}
