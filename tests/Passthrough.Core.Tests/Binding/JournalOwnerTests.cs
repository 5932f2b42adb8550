using NUnit.Framework;
using Passthrough.Binding;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Tests.Binding;

/// <summary>Who a journal belongs to, and who may unbind what: a type, never a name a VM can take.</summary>
public class JournalOwnerTests
{
    private const string Uuid = "9a1c6e52-0d5e-4c47-9f1e-1b2f3c4d5e6f";

    private static BindingJournal Journal(string id, JournalOwner owner, params string[] functions) => new()
    {
        Id = id,
        Owner = owner,
        Mode = PassthroughMode.Dynamic,
        State = BindingJournal.Prepared,
        Entries = [.. functions.Select(f => new JournalEntry(JournalKind.Function, f, "amdgpu", null))],
    };

    [Test]
    public void A_vm_named_bind_is_a_vm_and_its_restore_hint_names_it_by_uuid()
    {
        var vm = JournalOwner.ForVm(Uuid, "bind");

        Assert.That(vm, Is.Not.EqualTo(JournalOwner.Manual));
        Assert.That(vm.Title, Is.EqualTo("VM 'bind'"));
        Assert.That(vm.RestoreArgument, Is.EqualTo(Uuid));
        Assert.That(JournalOwner.ForVm(Uuid, "win11").RestoreArgument, Is.EqualTo("win11"));
        Assert.That(JournalOwner.Manual.RestoreArgument, Is.EqualTo("bind"));
    }

    [Test]
    public void I_can_name_a_vm_by_name_or_uuid_in_any_case_and_a_manual_bind_as_bind()
    {
        var vm = JournalOwner.ForVm(Uuid, "win11");

        Assert.That(vm.Matches("win11"), Is.True);
        Assert.That(vm.Matches(Uuid.ToUpperInvariant()), Is.True);
        Assert.That(vm.Matches("bind"), Is.False);
        Assert.That(JournalOwner.Manual.Matches("bind"), Is.True);
        Assert.That(JournalOwner.Manual.Matches("win11"), Is.False);
    }

    [Test]
    public void I_cannot_unbind_a_vms_devices_even_when_the_vm_is_called_bind_and_nothing_is_planned()
    {
        var manual = Journal("bind-0000:05:00.0", JournalOwner.Manual, "0000:05:00.0");
        var vm = Journal(Uuid, JournalOwner.ForVm(Uuid, "bind"), "0000:03:00.0", "0000:03:00.1");
        var devices = new[] { PciAddress.Parse("0000:03:00.0"), PciAddress.Parse("0000:05:00.0") };

        var error = Assert.Throws<PassthroughException>(() => UnbindPlan.Build(devices, [manual, vm]))!;

        Assert.That(error.Kind, Is.EqualTo(FailureKind.InvalidInput));
        Assert.That(error.Message, Is.EqualTo("0000:03:00.0 belongs to VM 'bind', which passthrough prepared."));
        Assert.That(error.Remedy, Does.Contain($"passthrough restore {Uuid}"));
    }

    [Test]
    public void I_can_unbind_manual_binds_whole_and_devices_no_journal_records()
    {
        var manual = Journal("bind-0000:05:00.0", JournalOwner.Manual, "0000:05:00.0", "0000:05:00.1");
        var other = Journal(Uuid, JournalOwner.ForVm(Uuid, "win11"), "0000:03:00.0");
        var devices = new[] { PciAddress.Parse("0000:05:00.0"), PciAddress.Parse("0000:06:00.0") };

        var plan = UnbindPlan.Build(devices, [manual, other]);

        Assert.That(plan.ManualBinds, Is.EqualTo(new[] { manual }));
        Assert.That(plan.Unrecorded, Is.EqualTo(new[] { PciAddress.Parse("0000:06:00.0") }));
    }
}
