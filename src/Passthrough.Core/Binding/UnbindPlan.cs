using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Binding;

/// <summary>
/// Who may unbind what: `passthrough unbind` gives back manual binds (their journals, whole) and
/// functions no journal records; a function a VM's journal holds is the VM's, whatever the VM is
/// called, and is refused before anything changes.
/// </summary>
public sealed record UnbindPlan(IReadOnlyList<BindingJournal> ManualBinds, IReadOnlyList<PciAddress> Unrecorded)
{
    public static UnbindPlan Build(IReadOnlyList<PciAddress> devices, IReadOnlyList<BindingJournal> journals)
    {
        var manual = new List<BindingJournal>();
        foreach (var journal in journals)
        {
            var mine = journal.FunctionStates().Where(f => devices.Contains(f.Address)).ToList();
            if (mine.Count == 0)
            {
                continue;
            }

            // A stopped VM's functions kept on vfio-pci (keep-on-vfio) are given back on request like a manual bind.
            if (journal.Owner is not JournalOwner.ManualBind && journal.State != BindingJournal.Kept)
            {
                throw PassthroughException.Input(
                    $"{string.Join(", ", mine.Select(f => f.Address))} belongs to {journal.Owner.Title}, which passthrough prepared.",
                    $"Shut the VM down (its hook gives the devices back), or run `passthrough restore {journal.Owner.RestoreArgument}`.");
            }

            manual.Add(journal);
        }

        var handled = manual.SelectMany(j => j.FunctionStates()).Select(f => f.Address).ToHashSet();
        return new UnbindPlan(manual, [.. devices.Where(d => !handled.Contains(d))]);
    }
}
