using System.CommandLine;
using System.Globalization;
using Passthrough.Adapters.Files;
using Passthrough.Adapters.Libvirt;
using Passthrough.Adapters.Sysfs;
using Passthrough.Cli.Rendering;
using Passthrough.Diagnostics;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;
using Passthrough.Pci;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough xml add-gpu|remove-gpu|set|lint FILE|-`: edit and check libvirt domain XML.</summary>
internal sealed partial class XmlVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var command = new Command("xml", "Edit and check libvirt domain XML, keeping everything you did not ask to change.");
        command.Subcommands.Add(AddGpu(context));
        command.Subcommands.Add(RemoveGpu(context));
        command.Subcommands.Add(Set(context));
        command.Subcommands.Add(AddLookingGlass(context));
        command.Subcommands.Add(AddInput(context));
        command.Subcommands.Add(FixAddresses(context));
        command.Subcommands.Add(Lint(context));
        return command;
    }

    private static Argument<string> FileArgument() =>
        new("FILE") { Description = "Domain XML file, or - for standard input." };

    private static Command AddGpu(CliContext context)
    {
        var slot = new Option<string>("--slot") { Description = "The GPU's host slot, DDDD:BB:SS (see `passthrough list`), or one SR-IOV virtual function DDDD:BB:SS.F.", Required = true, HelpName = "SLOT" };
        var driverModel = new Option<string>("--driver-model") { Description = "Bind a VFIO variant driver instead of vfio-pci (<driver model='NAME'/>, libvirt 10.0+), e.g. xe_vfio_pci.", HelpName = "NAME" };
        var functions = new Option<string>("--functions") { Description = "Functions to pass, e.g. 0,1,2,3 (default: every function of the slot on this host).", HelpName = "LIST" };
        var rom = new Option<string>("--rom") { Description = "ROM file for function 0 (<rom file>).", HelpName = "PATH" };
        var romBar = new Option<string>("--rom-bar") { Description = "Expose the ROM BAR to the guest.", HelpName = "on|off" };
        romBar.AcceptOnlyFromAmong("on", "off");
        var managed = new Option<string>("--managed") { Description = "Let libvirt bind the device (default: no when the Passthrough hook binds it, else yes).", HelpName = "yes|no" };
        managed.AcceptOnlyFromAmong("yes", "no");
        var allowI440fx = new Option<bool>("--allow-i440fx") { Description = "Attach even on an i440fx machine (lint still reports pcie-on-i440fx)." };
        var target = new DomainEditTarget();
        var command = new Command("add-gpu", "Pass every function of a GPU on one guest slot (a free pcie-root-port on q35).") { slot, functions, rom, romBar, managed, allowI440fx, driverModel };
        target.AddTo(command);
        command.SetAction((result, ct) =>
        {
            var slotText = result.GetValue(slot)!;
            var host = PciSlot.ParseLenient(slotText);

            // With --functions the file may be for another machine: read the host only when it is one (an
            // explicit --root, or IOMMU groups here); reading all of sysfs is most of add-gpu's time.
            var functionsText = result.GetValue(functions);
            var inventory = functionsText is null ? new SysfsHostReader(GlobalOptions.HostRoot(result), names: false).Read() : HostIfAny(result);
            var virtualFunction = inventory is null ? null : GpuSelection.VirtualFunction(inventory, slotText);
            IReadOnlyList<int> list;
            if (virtualFunction is not null)
            {
                list = functionsText is null
                    ? [virtualFunction.Value.Function]
                    : throw PassthroughException.Input($"--slot {slotText} is one SR-IOV virtual function: --functions does not apply.", $"Leave --functions out: `passthrough xml add-gpu FILE --slot {slotText}` passes that function alone.");
            }
            else if (functionsText is not null)
            {
                list = ParseFunctions(functionsText);
                if (inventory is not null)
                {
                    GpuSelection.CheckNoVirtualFunctions(inventory, host, list);
                }
            }
            else
            {
                list = [.. inventory!.Gpu(host).Functions.Select(f => f.Address.Function)];
            }

            var model = result.GetValue(driverModel);
            if (model is not null)
            {
                GpuSelection.CheckDriverModel(GlobalOptions.HostRoot(result), model);
            }

            string? romPath = null;
            if (result.GetValue(rom) is { } romText)
            {
                romPath = Path.GetFullPath(romText);
                if (!File.Exists(GlobalOptions.HostRoot(result).Path(romPath)))
                {
                    throw PassthroughException.Input($"--rom {romText}: no such file.", "Give the path of the ROM file QEMU should load (`passthrough rom dump` saves the card's own).");
                }
            }

            var attachment = (virtualFunction is { } vf ? GpuAttachment.ForVirtualFunction(vf) : new GpuAttachment(host, list))
                .WithDriverModel(model)
                .WithRom(romPath, result.GetValue(romBar) is { } bar ? bar == "on" : null)
                .WithManaged(result.GetValue(managed) is { } m ? m == "yes" : null)
                .WithAllowI440fx(result.GetValue(allowI440fx));
            return target.RunAsync(
                context,
                result,
                d =>
                {
                    DomainEdits.AddGpu(d, attachment);

                    if (inventory is not null)
                    {
                        DomainEdits.RecordIdentities(d, inventory, host);
                    }
                },
                ct);
        });
        return command;
    }

    private static Command RemoveGpu(CliContext context)
    {
        var slot = new Option<string>("--slot") { Description = "The GPU's host slot, DDDD:BB:SS.", Required = true, HelpName = "SLOT" };
        var target = new DomainEditTarget();
        var command = new Command("remove-gpu", "Remove every hostdev of a host slot.") { slot };
        target.AddTo(command);
        command.SetAction((result, ct) =>
        {
            var slotText = result.GetValue(slot)!;
            var host = PciSlot.ParseLenient(slotText);
            // An SR-IOV virtual function is removed alone; any other function names its whole slot, as before.
            var inventory = PciAddress.TryParse(slotText, out _) ? new SysfsHostReader(GlobalOptions.HostRoot(result), names: false).Read() : null;
            var virtualFunction = inventory is null ? null : GpuSelection.VirtualFunction(inventory, slotText);
            return target.RunAsync(
                context,
                result,
                (d, notes) =>
                {
                    var removed = virtualFunction is { } vf ? DomainEdits.RemoveFunction(d, vf) : DomainEdits.RemoveGpu(d, host);

                    // Absent is the state asked for: a note for the reader, no warning in --json.
                    if (removed == 0)
                    {
                        notes.Note($"{d.Source} has no hostdev of {slotText}; nothing to remove");
                    }

                    DomainEdits.ForgetIdentities(d, host);
                },
                ct);
        });
        return command;
    }

    private static Command Set(CliContext context)
    {
        var vendor = new Option<string>("--hyperv-vendor-id") { Description = "Hyper-V vendor_id (at most 12 characters), or off.", HelpName = "VALUE|off" };
        var hidden = OnOff("--kvm-hidden", "Hide the KVM signature from the guest.");
        var topoext = OnOff("--topoext", "Require topoext on the host-passthrough CPU (AMD SMT).");
        var cpu = new Option<string>("--cpu") { Description = "Add <cpu mode='host-passthrough'> when the domain has no <cpu>.", HelpName = "host-passthrough" };
        cpu.AcceptOnlyFromAmong("host-passthrough");
        var topology = new Option<string>("--cpu-topology") { Description = "CPU topology; also sets <vcpu> to the product.", HelpName = "SOCKETS,CORES,THREADS" };
        var ioapic = new Option<string>("--ioapic") { Description = "IOAPIC driver.", HelpName = "qemu|kvm" };
        ioapic.AcceptOnlyFromAmong("qemu", "kvm");
        var smm = OnOff("--smm", "System management mode (needed for secure boot).");
        var balloon = new Option<string>("--memballoon") { Description = "Memory balloon model.", HelpName = "none" };
        balloon.AcceptOnlyFromAmong("none");
        var mode = new Option<string>("--passthrough-mode") { Description = "How the Passthrough hook handles this VM's devices (off: libvirt does).", HelpName = "static|dynamic|single-gpu|off" };
        mode.AcceptOnlyFromAmong("static", "dynamic", "single-gpu", "off");
        var keepOnVfio = OnOff("--keep-on-vfio", "Leave the GPU on vfio-pci after the VM stops (<passthrough:release keep-on-vfio='yes'/>), for cards that hang when rebound; dynamic mode only.");
        var target = new DomainEditTarget();
        var tuning = new CpuTuningOptions();
        var command = new Command("set", "Set domain features that GPU passthrough needs.") { vendor, hidden, topoext, cpu, topology, ioapic, smm, balloon, mode, keepOnVfio };
        tuning.AddTo(command);
        target.AddTo(command);
        command.SetAction((result, ct) =>
        {
            var modeText = result.GetValue(mode);
            var settings = new DomainSettings
            {
                HypervVendorId = result.GetValue(vendor),
                KvmHidden = Switch(result.GetValue(hidden)),
                Topoext = Switch(result.GetValue(topoext)),
                AddHostPassthroughCpu = result.GetValue(cpu) == "host-passthrough",
                Topology = result.GetValue(topology) is { } t ? CpuTopology.Parse(t) : null,
                Ioapic = result.GetValue(ioapic),
                Smm = Switch(result.GetValue(smm)),
                MemballoonNone = result.GetValue(balloon) == "none",
                PassthroughMode = PassthroughModes.ParseOrNull(modeText),
                PassthroughOff = modeText == "off",
                KeepOnVfio = Switch(result.GetValue(keepOnVfio)),
                Pin = tuning.PinRequest(result, GlobalOptions.HostRoot(result)),
                Hugepages = tuning.HugepagesRequest(result, GlobalOptions.HostRoot(result)),
            };
            if (settings.IsEmpty)
            {
                throw PassthroughException.Input("Nothing to set.", "Give at least one option, e.g. --memballoon none (see `passthrough xml set --help`).");
            }

            // A mode hands the hostdevs to our hook: record what identifies them, as add-gpu does.
            var identityHost = settings.PassthroughMode is not null ? HostIfAny(result) : null;
            return target.RunAsync(
                context,
                result,
                (d, notes) =>
                {
                    foreach (var action in DomainEdits.Set(d, settings).Actions)
                    {
                        notes.Act(action);
                    }

                    if (identityHost is not null)
                    {
                        DomainEdits.RecordMissingIdentities(d, identityHost);
                    }
                },
                ct);
        });
        return command;
    }

    private static Command Lint(CliContext context)
    {
        var file = FileArgument();
        var json = GlobalOptions.Json();
        var command = new Command("lint", "Check a domain for GPU passthrough mistakes (host rules use --root, or this host).") { file, json };
        command.SetAction(result =>
        {
            var (domain, _) = Load(context, result.GetValue(file)!);
            var root = GlobalOptions.HostRoot(result);
            var explicitRoot = result.GetResult(GlobalOptions.Root) is { Implicit: false };
            var inputs = new LintInputs().WithRom(path => RomFacts.Read(root, path));
            var groups = root.Path("/sys/kernel/iommu_groups");
            if (explicitRoot || (Directory.Exists(groups) && Directory.EnumerateFileSystemEntries(groups).Any()))
            {
                inputs = inputs.WithHost(new SysfsHostReader(root, names: false).Read());
            }

            var findings = DomainLint.Run(domain, inputs);
            if (result.GetValue(json))
            {
                Json.Write(context.Out, new LintJson(findings.Select(f => new LintFindingJson(f.Id, f.Severity, f.Message, f.Remedy))), Json.Shapes.LintJson);
            }
            else
            {
                FindingsView.WriteLint(context.Out, findings, domain.Source);
            }

            return findings.Any(f => f.Severity == Severity.Error) ? PassthroughCli.Failed : PassthroughCli.Ok;
        });
        return command;
    }

    private static Command FixAddresses(CliContext context)
    {
        var target = new DomainEditTarget();
        var command = new Command("fix-addresses", "Point hostdevs whose card moved to another bus (an added drive, a firmware update) at its new address, by the identity add-gpu recorded.");
        target.AddTo(command);
        command.SetAction((result, ct) =>
        {
            var inventory = new SysfsHostReader(GlobalOptions.HostRoot(result), names: false).Read();
            return target.RunAsync(
                context,
                result,
                (d, notes) =>
                {
                    var locations = DomainEdits.FixAddresses(d, inventory);
                    foreach (var moved in locations.Where(l => l.Whereabouts == DeviceWhereabouts.Moved))
                    {
                        notes.Note(moved.Describe());
                    }

                    if (locations.Count == 0)
                    {
                        notes.Note($"{d.Source} records no device identity (`passthrough xml add-gpu` records one when the VM has our <passthrough:config>); nothing to fix");
                    }
                },
                ct);
        });
        return command;
    }

    /// <summary>The host for identities: under an explicit --root, or this host when it has IOMMU groups (as lint decides).</summary>
    private static HostInventory? HostIfAny(ParseResult result)
    {
        var root = GlobalOptions.HostRoot(result);
        var explicitRoot = result.GetResult(GlobalOptions.Root) is { Implicit: false };
        var groups = root.Path("/sys/kernel/iommu_groups");
        return explicitRoot || (Directory.Exists(groups) && Directory.EnumerateFileSystemEntries(groups).Any())
            ? new SysfsHostReader(root, names: false).Read()
            : null;
    }

    private static Option<string> OnOff(string name, string description)
    {
        var option = new Option<string>(name) { Description = description, HelpName = "on|off" };
        option.AcceptOnlyFromAmong("on", "off");
        return option;
    }

    private static bool? Switch(string? value) => value is null ? null : value == "on";

    private static List<int> ParseFunctions(string text)
    {
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var f) || f > 7)
            {
                throw PassthroughException.Input($"--functions {text}: '{part}' is not a PCI function number (0 to 7).", "For example --functions 0,1.");
            }

            list.Add(f);
        }

        return list.Count > 0 ? list : throw PassthroughException.Input("--functions is empty.", "For example --functions 0,1.");
    }

    /// <summary>Reads FILE or standard input and parses it; errors name the file.</summary>
    internal static (DomainDocument Domain, string Text) Load(CliContext context, string file)
    {
        if (file == "-")
        {
            var input = context.In.ReadToEnd();
            return (DomainDocument.Parse(input, "<stdin>"), input);
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw PassthroughException.Input($"{file}: no such file.", "Give a domain XML file (`virsh dumpxml NAME > NAME.xml`), or - to read standard input.", e);
        }

        // In the file's own encoding (declared ISO-8859-1 stays ISO-8859-1, a BOM stays).
        var (text, encoding) = DomainDocument.Decode(bytes, file);
        return (DomainDocument.Parse(text, file, encoding), text);
    }
}
