namespace Passthrough.Diagnostics;

/// <summary>
/// Whether SELinux lets the libvirt hook do its work, checked from what the host says (selinuxfs and
/// the hook files' labels), shared by `doctor` and `hooks status`. Fedora's policy runs hooks in
/// libvirt's confined domain unless the boolean virt_hooks_unconfined is on, and labels
/// /etc/libvirt/hooks virt_hook_t (restorecon puts that back).
/// </summary>
public static class SelinuxHookChecks
{
    public const string Id = "selinux-hooks";
    public const string UnconfinedBoolean = "virt_hooks_unconfined";
    public const string HookType = "virt_hook_t";
    public const string Restorecon = "restorecon -Rv /etc/libvirt/hooks";

    /// <param name="enforcing">/sys/fs/selinux/enforce: true 1, false 0, null no SELinux.</param>
    /// <param name="unconfined">virt_hooks_unconfined's current value; null when the policy has no such boolean.</param>
    /// <param name="hooks">The hook files with their security.selinux contexts.</param>
    public static IEnumerable<Finding> Check(bool? enforcing, bool? unconfined, IReadOnlyList<HookFile> hooks)
    {
        if (enforcing is null)
        {
            yield return Finding.Ok(Id, null, "SELinux is not in use: nothing confines the hook.", "/sys/fs/selinux/enforce: missing");
            yield break;
        }

        var mode = $"/sys/fs/selinux/enforce: {(enforcing.Value ? 1 : 0)}";
        var flag = $"/sys/fs/selinux/booleans/{UnconfinedBoolean}: " + unconfined switch { true => "1", false => "0", null => "missing" };
        if (enforcing.Value && unconfined == false)
        {
            yield return new Finding(Id, Severity.Warning, null,
                $"SELinux is enforcing and {UnconfinedBoolean} is off: the hook runs confined in libvirt's domain, where its sysfs writes (driver binding), module unloads and D-Bus calls to systemd (single-GPU swap) may be denied.",
                [mode, flag], $"setsebool -P {UnconfinedBoolean} on");
        }
        else if (enforcing.Value && unconfined is null)
        {
            yield return new Finding(Id, Severity.Info, null,
                $"SELinux is enforcing and this policy has no {UnconfinedBoolean} boolean: the hook runs in whatever domain the policy gives it; if binding fails, look for denials with `ausearch -m avc -ts recent`.",
                [mode, flag], null);
        }
        else
        {
            yield return Finding.Ok(Id, null, enforcing.Value
                ? $"SELinux is enforcing and {UnconfinedBoolean} is on: the hook runs unconfined."
                : "SELinux is permissive: nothing the hook does is denied (only logged).", mode, flag);
        }

        foreach (var hook in hooks)
        {
            var type = TypeOf(hook.SelinuxLabel);
            var seen = $"{hook.Path}: security.selinux={hook.SelinuxLabel ?? "(none)"}";
            if (type == HookType)
            {
                yield return Finding.Ok(Id, hook.Path, $"{hook.Path} carries {HookType}, the type Fedora's policy gives /etc/libvirt/hooks.", seen);
            }
            else if (!IsMovedIntoPlace(hook.SelinuxLabel))
            {
                // Labels of files moved from a home or /tmp are the libvirt-hooks check's (it says how that happens).
                yield return new Finding(Id, enforcing.Value ? Severity.Error : Severity.Warning, hook.Path,
                    $"{hook.Path} has the SELinux type {type ?? "(none)"}, not {HookType} (the type Fedora's policy gives /etc/libvirt/hooks): libvirt may be denied running it" + (enforcing.Value ? "." : " once SELinux enforces."),
                    [seen], Restorecon);
            }
        }
    }

    /// <summary>The type field (third) of user:role:type:level.</summary>
    public static string? TypeOf(string? context) => context?.Split(':') is { Length: >= 3 } parts ? parts[2] : null;

    /// <summary>A type a file keeps when it is moved (not copied) from a home directory or /tmp.</summary>
    public static bool IsMovedIntoPlace(string? context) =>
        context is not null && (context.Contains("user_home_t", StringComparison.Ordinal) || context.Contains("tmp_t", StringComparison.Ordinal)
            || context.Contains("admin_home_t", StringComparison.Ordinal) || context.Contains("unlabeled_t", StringComparison.Ordinal));
}
