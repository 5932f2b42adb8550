using System.CommandLine;
using System.Globalization;
using Passthrough.Adapters;
using Passthrough.Adapters.Files;
using Passthrough.Adapters.Sysfs;
using Passthrough.Cli.Rendering;
using Passthrough.Diagnostics;
using Passthrough.Errors;
using Passthrough.Pci;
using Passthrough.Rom;
using Spectre.Console;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough rom inspect|fix|dump|install`: VBIOS files, checked before a VM needs them.</summary>
internal sealed class RomVerb : IVerb
{
    /// <summary>The largest ROM BAR is 16 MiB; a file much larger is something else.</summary>
    private const long MaxFileBytes = 64L * 1024 * 1024;

    private const UnixFileMode ReadableByAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public Command Create(CliContext context)
    {
        var command = new Command("rom", "Inspect, fix, dump and install VBIOS ROM files.");
        command.Subcommands.Add(Inspect(context));
        command.Subcommands.Add(Fix(context));
        command.Subcommands.Add(Dump(context));
        command.Subcommands.Add(Install(context));
        return command;
    }

    private static Command Inspect(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The ROM file." };
        var slot = new Option<string?>("--slot") { Description = "Check the ROM's vendor and device ids against this GPU (0000:03:00).", HelpName = "SLOT" };
        var json = GlobalOptions.Json();
        var command = new Command("inspect", "Show every image in a ROM file and whether it will work: UEFI (OVMF) capable, ids, checksums, header.")
        {
            file,
            slot,
            json,
        };
        command.SetAction(result =>
        {
            var path = result.GetValue(file)!;
            var rom = ParseFile(path);
            var findings = rom.Findings.ToList();
            if (result.GetValue(slot) is { } slotText)
            {
                findings.Add(DeviceFinding(rom, slotText, GlobalOptions.HostRoot(result)));
            }

            if (result.GetValue(json))
            {
                Json.Write(
                    context.Out,
                    new RomJson(
                        path,
                        rom.Size,
                        rom.HeaderBytes,
                        rom.Images.Select(i => new RomImageJson(i.Offset, (int)i.CodeType, i.VendorIdText, i.DeviceIdText, i.ClassCodeText, i.Length, i.Last, i.ChecksumOk, i.CodeRevision, i.Efi is { } e ? new RomEfiJson(e.Subsystem, e.MachineType.ToString("x4", CultureInfo.InvariantCulture), e.Compressed) : null)),
                        rom.UefiCapable,
                        findings.Select(f => new RomFindingJson(f.Id, f.Severity, f.Message, f.Remedy))),
                    Json.Shapes.RomJson);
            }
            else
            {
                RenderRom(context, path, rom);
                FindingsView.WriteRomVerdicts(context.Out, findings);
            }

            return findings.Any(f => f.Severity <= Severity.Warning) ? PassthroughCli.Failed : PassthroughCli.Ok;
        });
        return command;
    }

    private static Command Fix(CliContext context)
    {
        var input = new Argument<string>("IN") { Description = "The ROM file with a header before the first image." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the ROM without the header.", HelpName = "OUT", Required = true };
        var command = new Command("fix", "Write the ROM without the header flash tools and download sites put before the first image; nothing else changes.")
        {
            input,
            output,
        };
        command.SetAction(result =>
        {
            var path = result.GetValue(input)!;
            var target = result.GetValue(output)!;
            var bytes = ReadFile(path);
            var rom = Parse(path, bytes);
            if (rom.HeaderBytes == 0)
            {
                throw PassthroughException.Failure(
                    $"Nothing to fix: {path} already starts with its first image (0x55AA at offset 0x0); {target} was not written.",
                    "`passthrough rom inspect FILE` shows what else it reports.");
            }

            if (rom.DamagedSignatureOffset is int damaged)
            {
                throw PassthroughException.Input(
                    Invariant($"{path}: the ROM signature at offset 0x{damaged:x}, inside what would be cut off, starts what may be a damaged image (its PCIR structure is there, its length is not right), so nothing was written."),
                    "Dump or download the ROM again; `passthrough rom inspect FILE` shows what is wrong.");
            }

            var fixedBytes = bytes.AsSpan(rom.HeaderBytes);
            var backup = File.Exists(target) ? target + ".bak" : null;
            AtomicFile.Write(target, fixedBytes, backup, ReadableByAll);
            context.Out.WriteLine(Invariant($"Wrote {target}: {fixedBytes.Length} bytes, without the {rom.HeaderBytes}-byte header (0x0-0x{rom.HeaderBytes - 1:x}) before the first image."));
            if (backup is not null)
            {
                context.Out.WriteLine($"The previous {target} is kept as {backup}.");
            }

            context.Out.WriteLine(rom.UefiCapable ? "It has an EFI image: OVMF can show the boot screen." : $"It has no EFI image OVMF loads ({rom.UefiRefusal}): with OVMF the screen stays dark until the guest's driver loads.");
            return PassthroughCli.Ok;
        });
        return command;
    }

    private static Command Dump(CliContext context)
    {
        var slot = new Argument<string>("SLOT") { Description = "The GPU, 0000:03:00 (its display function .0) or a full address." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the ROM.", HelpName = "OUT", Required = true };
        var command = new Command(
            "dump",
            "Read a GPU's ROM through sysfs (enable, read, disable again) and write it after checking it. Works when the GPU is not the boot display and no driver is using it.")
        {
            slot,
            output,
        };
        command.SetAction(result =>
        {
            var root = GlobalOptions.HostRoot(result);
            var address = ParseAddress(result.GetValue(slot)!);
            var target = result.GetValue(output)!;
            var bytes = new SysfsRomReader(root).Read(address);
            VbiosImage rom;
            try
            {
                rom = RomParser.Parse(bytes);
            }
            catch (PassthroughException e)
            {
                throw PassthroughException.Failure(
                    $"The {bytes.Length} bytes read from {address}'s ROM are not a valid ROM: {e.Message} Nothing was written.",
                    "The firmware may have shadowed the boot display's ROM: dump it with the card in a secondary slot or the integrated GPU as primary display, or download the ROM for this exact card model.",
                    e);
            }

            AtomicFile.Write(target, bytes, File.Exists(target) ? target + ".bak" : null, ReadableByAll);
            context.Out.WriteLine(Invariant($"Wrote {target}: {bytes.Length} bytes read from {address}."));
            RenderRom(context, target, rom);
            FindingsView.WriteRomVerdicts(context.Out, rom.Findings);
            return PassthroughCli.Ok;
        });
        return command;
    }

    private static Command Install(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The ROM file (checked first; a ROM with a header is refused)." };
        var directory = new Option<string?>("--dir") { Description = "Install here instead of the distribution's default directory.", HelpName = "DIR" };
        var name = new Option<string?>("--name") { Description = "File name to install as (default: FILE's name).", HelpName = "NAME" };
        var force = new Option<bool>("--force") { Description = "Replace a different file of the same name (the old one is kept as NAME.bak)." };
        var json = ChangeOptions.Json();
        var check = ChangeOptions.Check("It fails as install would on a bad ROM or name, or a different file of that name without --force (exit 2); restorecon is not run.");
        var command = new Command("install", "Copy a ROM where QEMU may read it on this distribution (mode 0644, SELinux context restored) and print the <rom file=.../> line. The same file installed already is left alone.")
        {
            file,
            directory,
            name,
            force,
            json,
            check,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var path = result.GetValue(file)!;
            var asJson = result.GetValue(json);
            var checking = result.GetValue(check);
            var bytes = ReadFile(path);
            var rom = Parse(path, bytes);
            var location = RomLocation.ForOsRelease(ReadText(root.Path("/etc/os-release")), File.Exists(root.Path("/run/ostree-booted")));
            var hostPath = RomInstallPlan.TargetPath(path, rom, location, result.GetValue(directory), result.GetValue(name));
            var target = root.Path(hostPath);
            var installed = !File.Exists(target) ? InstalledRom.None
                : File.ReadAllBytes(target).AsSpan().SequenceEqual(bytes) ? InstalledRom.SameContent
                : InstalledRom.DifferentContent;
            var plan = RomInstallPlan.For(hostPath, installed, result.GetValue(force));
            var changed = plan.Action != RomInstallAction.AlreadyInstalled;
            var output = asJson ? TextWriter.Null : context.Out;
            if (!changed)
            {
                output.WriteLine($"{hostPath} is already installed with the same content.");
            }
            else if (checking)
            {
                output.WriteLine($"Would install {hostPath} (mode 0644): {location.Why}." + (plan.KeepBackup ? $" The different file there would be kept as {hostPath}.bak." : string.Empty));
            }
            else
            {
                AtomicFile.Write(target, bytes, plan.KeepBackup ? target + ".bak" : null, ReadableByAll);
                File.SetUnixFileMode(target, ReadableByAll);
                output.WriteLine($"Installed {hostPath} (mode 0644): {location.Why}.");
            }

            var warnings = new List<string>();
            if (checking)
            {
                if (File.Exists(root.Path("/sys/fs/selinux/enforce")))
                {
                    output.WriteLine($"Then restorecon -v {hostPath} (SELinux is on).");
                }
            }
            else if (await RestoreContextAsync(context, output, root, root.IsLiveSystem, hostPath, cancellationToken).ConfigureAwait(false) is { } notRun)
            {
                warnings.Add(notRun);
            }

            if (!rom.UefiCapable)
            {
                output.WriteLine("Note: it has no EFI image; with OVMF the screen stays dark until the guest's driver loads.");
                warnings.Add("It has no EFI image; with OVMF the screen stays dark until the guest's driver loads.");
            }

            var romLine = $"<rom file='{hostPath}'/>";
            output.WriteLine("Add this line inside the GPU's <hostdev> (`passthrough xml` or `virsh edit`):");
            output.WriteLine($"  {romLine}");
            if (checking)
            {
                output.WriteLine("--check: nothing was changed.");
            }

            if (asJson)
            {
                var actions = !changed ? new List<string>()
                    : [$"write {hostPath} (mode 0644, {bytes.Length} bytes)" + (plan.KeepBackup ? $", keeping the different file there as {hostPath}.bak" : string.Empty)];
                if (changed && File.Exists(root.Path("/sys/fs/selinux/enforce")) && root.IsLiveSystem)
                {
                    actions.Add($"restorecon -v {hostPath}");
                }

                Json.Write(context.Out, new RomInstallJson(changed, actions, false, warnings, [], hostPath, romLine, rom.UefiCapable), Json.Shapes.RomInstallJson);
            }

            return PassthroughCli.Ok;
        });
        return command;
    }

    internal static Task<string?> RestoreContextAsync(CliContext context, HostRoot root, bool live, string hostPath, CancellationToken cancellationToken) =>
        RestoreContextAsync(context, context.Out, root, live, hostPath, cancellationToken);

    /// <summary>SELinux is on when selinuxfs shows an enforce file (enforcing or permissive). Commands run
    /// only on the live system (<paramref name="live"/>); for a tree under --root they are printed (and returned).</summary>
    internal static async Task<string?> RestoreContextAsync(CliContext context, TextWriter output, HostRoot root, bool live, string hostPath, CancellationToken cancellationToken)
    {
        if (!File.Exists(root.Path("/sys/fs/selinux/enforce")))
        {
            return null;
        }

        string[] arguments = ["-v", hostPath];
        if (!live)
        {
            var line = $"SELinux is on in {root}; on that host, run: restorecon {string.Join(' ', arguments)}";
            output.WriteLine(line);
            return line;
        }

        var run = await context.Runner.RunAsync("restorecon", arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
        run.EnsureSuccess($"Run `restorecon -v {hostPath}` as root; without the right context QEMU (svirt_t) cannot read the file.");
        output.WriteLine($"Restored the SELinux context of {hostPath} (restorecon).");
        return null;
    }

    private static Finding DeviceFinding(VbiosImage rom, string slotText, HostRoot root)
    {
        var address = ParseAddress(slotText);
        var function = new SysfsHostReader(root, names: false).Read().Functions.FirstOrDefault(f => f.Address == address)
            ?? throw PassthroughException.Input($"No PCI device {address} on this host.", "See `passthrough list` for the GPUs.");
        if (function.VendorId is not int vendor || function.DeviceId is not int device)
        {
            throw PassthroughException.Host($"Cannot read the vendor and device ids of {address}.", "Run it on the host the GPU is in, or check --root.");
        }

        return rom.DeviceIdsFinding(address, vendor, device);
    }

    private static void RenderRom(CliContext context, string path, VbiosImage rom)
    {
        context.Out.WriteLine(Invariant($"{path}: {rom.Size} bytes, {rom.Images.Count} image{(rom.Images.Count == 1 ? string.Empty : "s")}"));
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumns("Offset", "Type", "Ids", "Class", "Length", "Revision", "Last", "Checksum", "EFI");
        foreach (var image in rom.Images)
        {
            var efi = image.Efi is { } e
                ? (e.SignatureValid ? $"{e.SubsystemName}, {e.MachineName}, {e.CompressionName}" : "no 0x0EF1 signature")
                : string.Empty;
            table.AddRow(
                Invariant($"0x{image.Offset:x}"),
                Markup.Escape($"{(int)image.CodeType} ({image.CodeTypeName})"),
                Markup.Escape(image.DeviceList.Count > 0 ? $"{image.VendorIdText}:{image.DeviceIdText} (+{image.DeviceList.Count} in list)" : $"{image.VendorIdText}:{image.DeviceIdText}"),
                image.ClassCodeText,
                image.Length.ToString(CultureInfo.InvariantCulture),
                image.CodeRevision.ToString(CultureInfo.InvariantCulture),
                image.Last ? "yes" : "no",
                image.ChecksumOk switch { true => "ok", false => "BAD", null => "-" },
                Markup.Escape(efi));
        }

        context.Console.Write(table);
        context.Out.WriteLine($"UEFI capable: {(rom.UefiCapable ? "yes (OVMF can show the boot screen)" : $"no ({rom.UefiRefusal})")}");
        context.Out.WriteLine(rom.HeaderBytes > 0 ? Invariant($"Header: {rom.HeaderBytes} bytes before the first image") : "Header: none");
    }

    private static PciAddress ParseAddress(string text) =>
        PciAddress.TryParse(text, out var address) ? address : PciSlot.Parse(text).Function(0);

    private static VbiosImage ParseFile(string path) => Parse(path, ReadFile(path));

    private static VbiosImage Parse(string path, byte[] bytes)
    {
        try
        {
            return RomParser.Parse(bytes);
        }
        catch (PassthroughException e) when (e.Kind == FailureKind.InvalidInput)
        {
            throw PassthroughException.Input($"{path}: {e.Message}", e.Remedy, e);
        }
    }

    private static byte[] ReadFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw PassthroughException.Input($"{path}: no such file.", "Give the path of a ROM file.");
            }

            if (info.Length > MaxFileBytes)
            {
                throw PassthroughException.Input(Invariant($"{path}: {info.Length} bytes is too large for a PCI option ROM (at most 16 MiB)."), "Give the ROM file itself, not a disk image or archive.");
            }

            return File.ReadAllBytes(path);
        }
        catch (UnauthorizedAccessException e)
        {
            throw PassthroughException.Host($"{path}: permission denied.", "Run it as a user who can read the file.", e);
        }
        catch (IOException e)
        {
            throw PassthroughException.Input($"{path}: cannot read it: {e.Message}", "Give the path of a ROM file.", e);
        }
    }

    private static string? ReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
