using System.CommandLine;
using Passthrough.Adapters;
using Passthrough.Boot;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Setup;

namespace Passthrough.Cli.Verbs;

/// <summary>`setup plan|apply --looking-glass [--kvmfr]`: the host side of Looking Glass, planned with the rest.</summary>
internal sealed class LookingGlassSetupOptions
{
    public Option<bool> LookingGlass { get; } = new("--looking-glass") { Description = "Also prepare Looking Glass: a tmpfiles rule for /dev/shm/looking-glass, or with --kvmfr the kvmfr module, its udev rule, qemu.conf's cgroup_device_acl and the SELinux/AppArmor rules." };

    public Option<bool> Kvmfr { get; } = new("--kvmfr") { Description = "With --looking-glass: the kvmfr module's /dev/kvmfr0 (as `xml add-looking-glass --kvmfr`)." };

    public Option<string?> Size { get; } = new("--looking-glass-size") { Description = "Shared memory in MiB for kvmfr's static_size_mb (default auto: Looking Glass's size for --resolution, else the host's largest display mode).", HelpName = "auto|MiB" };

    public Option<string?> Resolution { get; } = new("--resolution") { Description = "With --looking-glass: the guest's largest resolution, for the size.", HelpName = "WxH" };

    public Option<string?> User { get; } = new("--looking-glass-user") { Description = "Who runs the Looking Glass client and gets the device (default: SUDO_USER, else the user running setup).", HelpName = "USER" };

    public void AddTo(Command command)
    {
        command.Options.Add(LookingGlass);
        command.Options.Add(Kvmfr);
        command.Options.Add(Size);
        command.Options.Add(Resolution);
        command.Options.Add(User);
    }

    /// <summary>The plan with the Looking Glass steps when --looking-glass was given; the plan as it is otherwise.</summary>
    public SetupPlan Extend(SetupPlan plan, BootFiles files, HostRoot root, ParseResult result, CliContext context)
    {
        if (!result.GetValue(LookingGlass))
        {
            foreach (var option in new Option[] { Kvmfr, Size, Resolution, User })
            {
                if (result.GetResult(option) is { Implicit: false })
                {
                    throw PassthroughException.Input($"{option.Name} belongs to --looking-glass.", $"Add --looking-glass, or leave {option.Name} out.");
                }
            }

            return plan;
        }

        var target = LookingGlassTarget.Resolve(root, result.GetValue(Resolution));
        var size = target.Size(result.GetValue(Size), "--looking-glass-size");
        var user = result.GetValue(User) ?? DefaultUser(context);
        var setup = new LookingGlassSetup(result.GetValue(Kvmfr) ? LookingGlassStyle.Kvmfr : LookingGlassStyle.Ivshmem, size, LookingGlassSetup.CheckUser(user));
        var extended = LookingGlassPlanner.Extend(plan, setup, files);
        return extended with { Notes = [.. extended.Notes, $"Looking Glass: {size} MiB for {target.Resolution} ({target.From}); the VM's device must have the same size (`passthrough xml add-looking-glass FILE{(setup.Style == LookingGlassStyle.Kvmfr ? " --kvmfr" : string.Empty)} --size {size}`)."] };
    }

    /// <summary>The user behind sudo, else the one running us; root alone is refused (the client should not run as root).</summary>
    private static string DefaultUser(CliContext context)
    {
        var env = context.Environment;
        var user = env.GetValueOrDefault("SUDO_USER") is { Length: > 0 } sudo && sudo != "root" ? sudo
            : env.GetValueOrDefault("USER") is { Length: > 0 } own && own != "root" ? own
            : null;
        return user ?? throw PassthroughException.Input(
            "--looking-glass: no user to give the device to (running as root, and SUDO_USER is not set).",
            "Give --looking-glass-user NAME: the user who runs the Looking Glass client.");
    }
}
