using System.Globalization;
using System.Text.RegularExpressions;
using Passthrough.Boot;
using Passthrough.Domain;
using Passthrough.Errors;

namespace Passthrough.Setup;

/// <summary>What `setup --looking-glass` prepares: the style, the shared memory size, and who runs the client.</summary>
public sealed partial record LookingGlassSetup(LookingGlassStyle Style, int SizeMiB, string User)
{
    /// <summary>A user name as useradd takes it; anything else would break the udev rule or tmpfiles line.</summary>
    public static string CheckUser(string user) =>
        UserName().IsMatch(user)
            ? user
            : throw PassthroughException.Input(
                $"--looking-glass-user {user}: not a user name.",
                "Give the login name of the user who runs the Looking Glass client, e.g. --looking-glass-user alice.");

    [GeneratedRegex(@"^[a-z_][a-z0-9_.-]{0,31}\$?$")]
    private static partial Regex UserName();
}

/// <summary>
/// The host side of Looking Glass, as its documentation lays it out. kvmfr (doc/ivshmem_kvmfr.rst):
/// the module option and autoload, a udev rule giving /dev/kvmfr0 to the user, /dev/kvmfr0 in
/// qemu.conf's cgroup_device_acl, the AppArmor line where libvirt's profile is, and an SELinux file
/// context where SELinux is on. ivshmem-plain (doc/ivshmem_shm.rst): a tmpfiles rule that creates
/// /dev/shm/looking-glass for the user.
/// </summary>
public static partial class LookingGlassPlanner
{
    public const string ModprobeFile = "/etc/modprobe.d/kvmfr.conf";
    public const string ModulesLoadFile = "/etc/modules-load.d/kvmfr.conf";
    public const string UdevRuleFile = "/etc/udev/rules.d/99-kvmfr.rules";
    public const string TmpfilesFile = "/etc/tmpfiles.d/10-looking-glass.conf";
    public const string QemuConf = "/etc/libvirt/qemu.conf";
    public const string AppArmorLocal = "/etc/apparmor.d/local/abstractions/libvirt-qemu";
    public const string AppArmorAbstraction = "/etc/apparmor.d/abstractions/libvirt-qemu";
    public const string SelinuxEnforce = "/sys/fs/selinux/enforce";
    public const string SelinuxLocalContexts = "/etc/selinux/targeted/contexts/files/file_contexts.local";

    /// <summary>SELinux type of QEMU's shared memory backends, which svirt_t may map.</summary>
    public const string SelinuxType = "svirt_tmpfs_t";

    /// <summary>The files the planner reads (BootFilesReader's extra files).</summary>
    public static IReadOnlyList<string> Files { get; } =
        [ModprobeFile, ModulesLoadFile, UdevRuleFile, TmpfilesFile, QemuConf, AppArmorLocal, AppArmorAbstraction, SelinuxEnforce, SelinuxLocalContexts];

    /// <summary>
    /// libvirt's default cgroup_device_acl (qemu.conf); setting the key replaces it, so a new list
    /// starts from these unless the file's own commented-out block names them.
    /// </summary>
    private static readonly string[] DefaultAcl = ["/dev/null", "/dev/full", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/ptmx", "/dev/kvm", "/dev/userfaultfd"];

    /// <summary>The setup plan with the Looking Glass steps added; each step is skipped when the host has it already.</summary>
    public static SetupPlan Extend(SetupPlan plan, LookingGlassSetup setup, BootFiles files)
    {
        var draft = new SetupDraft(files);
        var commands = new List<PlannedCommand>();
        var undo = new List<PlannedCommand>();
        var size = setup.SizeMiB.ToString(CultureInfo.InvariantCulture);
        if (setup.Style == LookingGlassStyle.Kvmfr)
        {
            var device = LookingGlassMemory.KvmfrDevice;
            var header = SetupPlanner.Header + "# Looking Glass (doc/ivshmem_kvmfr.rst).\n";
            var modprobe = draft.AddIfChanged(ModprobeFile, header + $"options kvmfr static_size_mb={size}\n", $"the kvmfr module creates {device} with {size} MiB, the size of the VM's Looking Glass device");
            draft.AddIfChanged(ModulesLoadFile, header + "kvmfr\n", "systemd-modules-load loads kvmfr at boot");
            draft.AddIfChanged(UdevRuleFile, header + $"SUBSYSTEM==\"kvmfr\", OWNER=\"{setup.User}\", GROUP=\"kvm\", MODE=\"0660\"\n", $"{setup.User} may open {device} (the Looking Glass client reads frames from it)");
            if (files.Read(QemuConf) is { } qemuConf)
            {
                draft.AddIfChanged(QemuConf, WithAclDevice(qemuConf, device), $"libvirt's device cgroup lets QEMU open {device}");
            }
            else
            {
                draft.Notes.Add($"{QemuConf} was not found: add {device} to cgroup_device_acl there once libvirt is installed, or QEMU is denied the device.");
            }

            if (files.Read(AppArmorAbstraction) is not null)
            {
                var local = files.Read(AppArmorLocal) ?? string.Empty;
                if (!AppArmorRule().IsMatch(local))
                {
                    var separator = local.Length == 0 || local.EndsWith('\n') ? string.Empty : "\n";
                    draft.AddIfChanged(AppArmorLocal, local + separator + "# Looking Glass (doc/ivshmem_kvmfr.rst), added by `passthrough setup`.\n" + device + " rw,\n", $"AppArmor lets QEMU open {device}");
                }
            }

            if (files.Read(SelinuxEnforce) is not null && !(files.Read(SelinuxLocalContexts) ?? string.Empty).Contains(device, StringComparison.Ordinal))
            {
                // Where SELinux is on, QEMU (svirt_t) may map the device only with a type it may use;
                // udev labels the node from the file context when the module creates it.
                commands.Add(new PlannedCommand("semanage", ["fcontext", "-a", "-t", SelinuxType, device], $"SELinux lets QEMU (svirt_t) map {device}"));
                undo.Add(new PlannedCommand("semanage", ["fcontext", "-d", device], $"remove the file context of {device}"));
                draft.Notes.Add($"SELinux is on: if kvmfr is loaded already, relabel the node with `restorecon -v {device}` (udev labels it when the module creates it).");
            }

            draft.Notes.Add(modprobe
                ? $"Load the module now with `modprobe -r kvmfr; modprobe kvmfr static_size_mb={size}` (or reboot); start the VM only once {device} exists, or QEMU creates a plain file there."
                : $"kvmfr is configured for {size} MiB already.");
        }
        else
        {
            draft.AddIfChanged(
                TmpfilesFile,
                SetupPlanner.Header + "# Looking Glass (doc/ivshmem_shm.rst): the shared memory file, readable by the client's user.\n# Type Path               Mode UID  GID Age Argument\n" + $"f {LookingGlassMemory.ShmFile} 0660 {setup.User} kvm -\n",
                $"{LookingGlassMemory.ShmFile} exists before the VM starts and {setup.User} may read it");
            draft.Notes.Add($"Create the file now with `systemd-tmpfiles --create {TmpfilesFile}` (or reboot).");
        }

        if (draft.Edits.Any(e => e.Path == QemuConf))
        {
            draft.Notes.Add("Restart virtqemud (or libvirtd) for the qemu.conf change to apply.");
        }

        return plan with
        {
            Edits = [.. plan.Edits, .. draft.Edits],
            ArgumentCommands = [.. plan.ArgumentCommands, .. commands],
            UndoCommands = [.. plan.UndoCommands, .. undo],
            Notes = [.. plan.Notes, .. draft.Notes],
        };
    }

    /// <summary>
    /// qemu.conf with <paramref name="device"/> in cgroup_device_acl, the rest of the file as it was:
    /// added to the list when the key is set, else a new list after the commented-out default (with
    /// the defaults it names, since setting the key replaces them).
    /// </summary>
    public static string WithAclDevice(string conf, string device)
    {
        if (ActiveAcl().Match(conf) is { Success: true } active)
        {
            var list = active.Groups["list"];
            if (Entries().Matches(list.Value).Any(m => m.Groups[1].Value == device))
            {
                return conf;
            }

            var lastQuote = list.Value.LastIndexOf('"');
            var at = lastQuote < 0 ? list.Index : list.Index + lastQuote + 1;
            var insert = lastQuote < 0 ? $"\"{device}\"" : $",\n    \"{device}\"";
            return conf.Insert(at, insert);
        }

        var defaults = DefaultAcl.ToList();
        var anchor = conf.Length;
        if (CommentedAcl().Match(conf) is { Success: true } commented)
        {
            var named = Entries().Matches(commented.Groups["list"].Value).Select(m => m.Groups[1].Value).ToList();
            if (named.Count > 0)
            {
                defaults = named;
            }

            anchor = commented.Index + commented.Length;
        }

        var entries = defaults.Append(device).Distinct(StringComparer.Ordinal).Select(d => $"    \"{d}\"");
        var block = "# Added by `passthrough setup` for Looking Glass: libvirt's defaults plus " + device + ".\ncgroup_device_acl = [\n" + string.Join(",\n", entries) + "\n]\n";
        var before = conf[..anchor];
        var lead = before.Length == 0 || before.EndsWith('\n') ? string.Empty : "\n";
        return before + lead + block + conf[anchor..];
    }

    [GeneratedRegex(@"^[ \t]*cgroup_device_acl[ \t]*=[ \t]*\[(?<list>[^\]]*)\]", RegexOptions.Multiline)]
    private static partial Regex ActiveAcl();

    [GeneratedRegex(@"^#[ \t]*cgroup_device_acl[ \t]*=[ \t]*\[(?<list>(?:\n#[^\n]*)*?)\n#[ \t]*\][ \t]*\n?", RegexOptions.Multiline)]
    private static partial Regex CommentedAcl();

    [GeneratedRegex(@"""([^""]*)""")]
    private static partial Regex Entries();

    [GeneratedRegex(@"^\s*/dev/kvmfr0\s+rw\s*,", RegexOptions.Multiline)]
    private static partial Regex AppArmorRule();
}
