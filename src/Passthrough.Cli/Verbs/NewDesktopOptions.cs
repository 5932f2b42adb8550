using System.CommandLine;
using Passthrough.Adapters;
using Passthrough.Adapters.Devices;
using Passthrough.Domain;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>`new --looking-glass[=SIZE] [--kvmfr] [--resolution WxH] --evdev auto|PATH...`: the same edits as `xml add-looking-glass` and `xml add-input`.</summary>
internal sealed class NewDesktopOptions
{
    public Option<string?> LookingGlass { get; } = new("--looking-glass") { Description = "Add the Looking Glass device; SIZE in MiB, or auto (the default: Looking Glass's size for --resolution or the host's largest mode).", HelpName = "auto|SIZE", Arity = ArgumentArity.ZeroOrOne };

    public Option<bool> Kvmfr { get; } = new("--kvmfr") { Description = "With --looking-glass: use the kvmfr module's /dev/kvmfr0." };

    public Option<string?> Resolution { get; } = new("--resolution") { Description = "With --looking-glass: the guest's largest resolution.", HelpName = "WxH" };

    public Option<string[]> Evdev { get; } = new("--evdev") { Description = "Hand host keyboards and mice to the guest: auto, or event device paths.", HelpName = "auto|PATH", AllowMultipleArgumentsPerToken = true };

    public void AddTo(Command command)
    {
        command.Options.Add(LookingGlass);
        command.Options.Add(Kvmfr);
        command.Options.Add(Resolution);
        command.Options.Add(Evdev);
    }

    public void Apply(DomainDocument domain, HostRoot root, ParseResult result, CliContext context)
    {
        var wantsLookingGlass = result.GetResult(LookingGlass) is { Implicit: false };
        if (!wantsLookingGlass && (result.GetValue(Kvmfr) || result.GetValue(Resolution) is not null))
        {
            throw PassthroughException.Input("--kvmfr and --resolution belong to --looking-glass.", "Add --looking-glass, or leave them out.");
        }

        if (wantsLookingGlass)
        {
            var target = LookingGlassTarget.Resolve(root, result.GetValue(Resolution));
            var mib = target.Size(result.GetValue(LookingGlass), "--looking-glass");
            DomainEdits.AddLookingGlass(domain, new LookingGlassDevice(mib, result.GetValue(Kvmfr) ? LookingGlassStyle.Kvmfr : LookingGlassStyle.Ivshmem));
            context.Error.WriteLine($"passthrough: Looking Glass: {mib} MiB for {target.Resolution} ({target.From}).");
        }

        if (result.GetValue(Evdev) is { Length: > 0 } given)
        {
            var finder = new InputDevices(root);
            List<EvdevDevice> devices = given is ["auto"] ? [.. finder.Find()] : [.. given.Select(finder.Check)];
            if (devices.Count == 0)
            {
                throw PassthroughException.Input(
                    $"--evdev auto: no keyboard or mouse in {root.Path(InputDevices.ById)} (*-event-kbd, *-event-mouse).",
                    "Plug them in, or give the event device paths.");
            }

            DomainEdits.AddEvdevInputs(domain, new EvdevInput(devices, EvdevInput.DefaultGrabToggle));
        }
    }
}
