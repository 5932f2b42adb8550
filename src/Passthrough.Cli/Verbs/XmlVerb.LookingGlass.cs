using System.CommandLine;
using Passthrough.Adapters.Devices;
using Passthrough.Domain;

namespace Passthrough.Cli.Verbs;

/// <summary>`xml add-looking-glass` and `xml add-input`: how the user sees and controls the guest.</summary>
internal sealed partial class XmlVerb
{
    private static Command AddLookingGlass(CliContext context)
    {
        var size = new Option<string>("--size") { Description = "Shared memory in MiB, a power of two (default auto: what Looking Glass documents for the resolution).", HelpName = "auto|MiB" };
        var kvmfr = new Option<bool>("--kvmfr") { Description = "Use the kvmfr module's /dev/kvmfr0 (QEMU arguments; lets the GPU DMA) instead of an ivshmem-plain <shmem> in /dev/shm." };
        var resolution = new Option<string>("--resolution") { Description = "The guest's largest resolution (default: the host's largest display mode, else 1920x1080).", HelpName = "WxH" };
        var editTarget = new DomainEditTarget();
        var command = new Command("add-looking-glass", "Add (or resize) the IVSHMEM device Looking Glass reads the guest's frames from.") { size, kvmfr, resolution };
        editTarget.AddTo(command);
        command.SetAction((result, ct) =>
        {
            var target = LookingGlassTarget.Resolve(GlobalOptions.HostRoot(result), result.GetValue(resolution));
            var mib = target.Size(result.GetValue(size));
            var device = new LookingGlassDevice(mib, result.GetValue(kvmfr) ? LookingGlassStyle.Kvmfr : LookingGlassStyle.Ivshmem);
            return editTarget.RunAsync(context, result, d =>
            {
                var notes = DomainEdits.AddLookingGlass(d, device);
                context.Error.WriteLine($"passthrough: Looking Glass: {mib} MiB for {target.Resolution} ({target.From}).");
                foreach (var note in notes)
                {
                    context.Error.WriteLine("passthrough: note: " + note);
                }

                if (device.Style == LookingGlassStyle.Kvmfr)
                {
                    context.Error.WriteLine($"passthrough: note: the kvmfr module must create {LookingGlassMemory.KvmfrDevice} with static_size_mb={mib}, and libvirt must be allowed to open it: `passthrough setup plan --looking-glass --kvmfr --looking-glass-size {mib}`.");
                }
            }, ct);
        });
        return command;
    }

    private static Command AddInput(CliContext context)
    {
        var evdev = new Option<string[]>("--evdev") { Description = "auto (every *-event-kbd and *-event-mouse in /dev/input/by-id), or event device paths.", HelpName = "auto|PATH", Required = true, AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore };
        var toggle = new Option<string>("--grab-toggle") { Description = "Keys that switch keyboard and mouse between host and guest (default ctrl-ctrl: both Ctrl keys).", HelpName = "KEYS" };
        toggle.AcceptOnlyFromAmong([.. EvdevInput.GrabToggles]);
        var editTarget = new DomainEditTarget();
        var command = new Command("add-input", "Hand host keyboards and mice to the guest as evdev inputs (libvirt 7.4 or later; grab toggle 7.6).") { evdev, toggle };
        editTarget.AddTo(command);
        command.SetAction((result, ct) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var finder = new InputDevices(root);
            var given = result.GetValue(evdev) ?? [];
            List<EvdevDevice> devices;
            if (given is ["auto"])
            {
                devices = [.. finder.Find()];
                if (devices.Count == 0)
                {
                    throw Errors.PassthroughException.Input(
                        $"--evdev auto: no keyboard or mouse in {root.Path(InputDevices.ById)} (*-event-kbd, *-event-mouse).",
                        "Plug them in (USB), or give the event device paths: --evdev /dev/input/by-path/...-event-kbd.");
                }
            }
            else
            {
                devices = [.. given.Select(p => finder.Check(p))];
            }

            var input = new EvdevInput(devices, result.GetValue(toggle) ?? EvdevInput.DefaultGrabToggle);
            return editTarget.RunAsync(context, result, d =>
            {
                DomainEdits.AddEvdevInputs(d, input);
                foreach (var device in devices)
                {
                    context.Error.WriteLine($"passthrough: evdev {(device.IsKeyboard ? "keyboard" : "device")}: {device.Path}");
                }
            }, ct);
        });
        return command;
    }
}
