using Passthrough.Adapters;
using Passthrough.Adapters.Sysfs;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Shell;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// The hook's step before any binding plan: every function whose identity add-gpu recorded must be
/// at its recorded address. When bus numbers moved, the hostdev names another device or none, and
/// QEMU would get what the XML says (the hook cannot change the XML), so prepare refuses and names
/// the fix rather than binding whatever now sits at the old address.
/// </summary>
internal static class RecordedDevices
{
    public static void Verify(HostRoot root, string xml, string domainName)
    {
        var domain = DomainDocument.Parse(xml, $"domain XML of '{domainName}'");
        if (domain.PassthroughConfig is not { } config || config.Identities.Count == 0)
        {
            return;
        }

        var host = new SysfsHostReader(root, names: false).Read();
        var vm = ShellWords.QuoteIfNeeded(domainName);
        if (DomainEdits.LocateRecorded(domain, host).FirstOrDefault(l => l.Whereabouts != DeviceWhereabouts.InPlace) is { } wrong)
        {
            throw PassthroughException.Input(
                $"'{domainName}': {wrong.Describe()}; nothing was bound.",
                wrong.Whereabouts == DeviceWhereabouts.Moved
                    ? $"Run `passthrough xml fix-addresses --vm {vm}`, then start the VM again."
                    : $"Run `passthrough doctor --vm {vm}` for what to do.");
        }
    }
}
