namespace Passthrough.Binding;

/// <summary>
/// Who a state journal belongs to: a VM (by uuid, with its name for messages) or a manual
/// `passthrough bind`. A type, not a name: a libvirt domain may be called anything, `bind` included,
/// and must never be taken for a manual bind.
/// </summary>
public abstract record JournalOwner
{
    private JournalOwner()
    {
    }

    /// <summary>The word `passthrough restore` accepts for manual binds (the first release's owner string).</summary>
    public const string ManualBindName = "bind";

    /// <summary>A manual bind's journal id starts so (a VM's is its uuid, which never does).</summary>
    public const string ManualBindIdPrefix = "bind-";

    /// <summary>The journal id of a manual bind: bind-ADDRESS of its first function.</summary>
    public static string ManualBindJournalId(Pci.PciAddress first) => ManualBindIdPrefix + first;

    /// <summary>The name the first release wrote as "owner": the VM name, or "bind".</summary>
    public abstract string Name { get; }

    /// <summary>For messages: "VM 'win11'" or "passthrough bind".</summary>
    public abstract string Title { get; }

    /// <summary>A VM prepared by its hook; the journal id is its uuid.</summary>
    public static JournalOwner ForVm(string uuid, string name) => new Vm(uuid, name);

    /// <summary>Devices bound by hand with `passthrough bind`.</summary>
    public static JournalOwner Manual { get; } = new ManualBind();

    /// <summary>What to pass to `passthrough restore` for exactly this owner.</summary>
    public abstract string RestoreArgument { get; }

    /// <summary>True when this is the VM with that name or uuid, or a manual bind asked for as "bind".</summary>
    public abstract bool Matches(string nameOrUuid);

    public sealed record Vm(string Uuid, string VmName) : JournalOwner
    {
        public override string Name => VmName;

        public override string Title => $"VM '{VmName}'";

        // A VM called "bind" is named by its uuid, so the hint cannot also restore manual binds.
        public override string RestoreArgument => VmName == ManualBindName ? Uuid : VmName;

        public override bool Matches(string nameOrUuid) =>
            VmName == nameOrUuid
            || string.Equals(Uuid, nameOrUuid, StringComparison.OrdinalIgnoreCase)
            || (Guid.TryParse(nameOrUuid, out var a) && Guid.TryParse(Uuid, out var b) && a == b);
    }

    public sealed record ManualBind : JournalOwner
    {
        public override string Name => ManualBindName;

        public override string Title => "passthrough bind";

        public override string RestoreArgument => ManualBindName;

        public override bool Matches(string nameOrUuid) => nameOrUuid == ManualBindName;
    }
}
