using System.CommandLine;
using Passthrough.Adapters;
using Passthrough.Adapters.Libvirt;
using Passthrough.Adapters.Sysfs;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Pci;

namespace Passthrough.Cli.Verbs;

/// <summary>`passthrough new`: a complete domain for a GPU passthrough VM, on standard output.</summary>
internal sealed class NewVerb : IVerb
{
    public Command Create(CliContext context)
    {
        var name = new Option<string>("--name") { Description = "Domain name.", Required = true, HelpName = "NAME" };
        var slot = new Option<string>("--slot") { Description = "The GPU's host slot, DDDD:BB:SS; every function of it is passed.", Required = true, HelpName = "SLOT" };
        var memory = new Option<string>("--memory") { Description = "Guest memory, e.g. 16GiB.", Required = true, HelpName = "SIZE" };
        var vcpus = new Option<int>("--vcpus") { Description = "Number of vCPUs (two threads per core when the host has SMT).", Required = true, HelpName = "N" };
        var os = new Option<string>("--os") { Description = "Guest OS: win11 (secure boot, TPM 2.0, Hyper-V) or linux.", Required = true, HelpName = "win11|linux" };
        os.AcceptOnlyFromAmong("win11", "linux");
        var disk = new Option<string>("--disk") { Description = "Disk image (default /var/lib/libvirt/images/NAME.qcow2); with SIZE (e.g. 120G) it is created with qemu-img unless it exists already.", HelpName = "PATH[,SIZE]" };
        var noCreate = new Option<bool>("--no-create") { Description = "Do not create the disk; print the qemu-img command instead." };
        var iso = new Option<string>("--iso") { Description = "Installer ISO as a CD-ROM.", HelpName = "PATH" };
        var rom = new Option<string>("--rom") { Description = "ROM file for the GPU's function 0.", HelpName = "PATH" };
        var single = new Option<bool>("--single-gpu") { Description = "The host gives up its only GPU while the VM runs (Passthrough hook, single-gpu mode)." };
        var tuning = new CpuTuningOptions();
        var desktop = new NewDesktopOptions();
        var command = new Command("new", "Write a complete domain XML for a GPU passthrough VM (q35, OVMF, host CPU, virtio, no balloon).")
        {
            name, slot, memory, vcpus, os, disk, noCreate, iso, rom, single,
        };
        tuning.AddTo(command);
        desktop.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var root = GlobalOptions.HostRoot(result);
            var inventory = new SysfsHostReader(root, names: false).Read();
            var gpuSlot = PciSlot.ParseLenient(result.GetValue(slot)!);
            var gpu = inventory.Gpu(gpuSlot);
            var domainName = result.GetValue(name)!;
            var (diskPath, diskSize) = SplitDisk(result.GetValue(disk), domainName);
            string? romPath = null;
            if (result.GetValue(rom) is { } romText)
            {
                romPath = Path.GetFullPath(romText);
                if (!File.Exists(root.Path(romPath)))
                {
                    throw PassthroughException.Input($"--rom {romText}: no such file.", "Give the path of the ROM file QEMU should load (`passthrough rom dump` saves the card's own).");
                }
            }

            var singleGpu = result.GetValue(single);
            var options = new TemplateOptions
            {
                Name = domainName,
                Os = result.GetValue(os) == "win11" ? GuestOs.Win11 : GuestOs.Linux,
                MemoryKiB = DomainTemplate.ParseMemory(result.GetValue(memory)!),
                Topology = DomainTemplate.TopologyFor(result.GetValue(vcpus), inventory.Facts.Smt == true),
                Topoext = inventory.Facts.IsAmd,
                DiskPath = diskPath,
                IsoPath = result.GetValue(iso) is { } i ? Path.GetFullPath(i) : null,
                SingleGpu = singleGpu,
                Gpu = new GpuAttachment(gpuSlot, [.. gpu.Functions.Select(f => f.Address.Function)])
                    .WithRom(romPath, romPath is null ? null : true)
                    .WithManaged(!singleGpu),
            };
            var domain = DomainTemplate.Create(options);
            var pin = tuning.PinRequest(result, root);
            if (pin?.Cpus is { } pinned && pinned.Count != options.Topology.Vcpus)
            {
                throw PassthroughException.Input(
                    $"--pin {pinned} names {pinned.Count} CPUs, --vcpus is {options.Topology.Vcpus}.",
                    $"Give --vcpus {pinned.Count}, or name {options.Topology.Vcpus} CPUs.");
            }

            DomainEdits.Set(domain, new DomainSettings { Pin = pin, Hugepages = tuning.HugepagesRequest(result, root) });
            DomainEdits.RecordIdentities(domain, inventory, gpuSlot);
            desktop.Apply(domain, root, result, context);
            var xml = domain.Save();

            // The disk first: when it cannot be made, no domain XML reaches standard output.
            await PrepareDiskAsync(context, root, diskPath, diskSize, result.GetValue(noCreate), cancellationToken).ConfigureAwait(false);
            await context.Out.WriteAsync(xml).ConfigureAwait(false);
            return PassthroughCli.Ok;
        });
        return command;
    }

    /// <summary>
    /// Creates the disk with qemu-img when a size was given, unless something is at the path
    /// already: that is used as it is (a re-run of `new` must not wipe an installed guest).
    /// </summary>
    private static async Task PrepareDiskAsync(CliContext context, HostRoot root, string diskPath, DiskSize? size, bool noCreate, CancellationToken cancellationToken)
    {
        var path = root.Path(diskPath);
        var format = DomainTemplate.DiskFormat(diskPath);
        if (DiskImageCreator.Exists(path))
        {
            await context.Error.WriteLineAsync(size is null
                ? $"passthrough: disk {path} exists; using it."
                : $"passthrough: disk {path} exists; using it as it is (not overwritten, not resized to {size}).").ConfigureAwait(false);
        }
        else if (size is null)
        {
            await context.Error.WriteLineAsync($"passthrough: disk {path} does not exist yet; create it before starting the VM, or give --disk {diskPath},SIZE to have it created.").ConfigureAwait(false);
        }
        else if (noCreate)
        {
            await context.Error.WriteLineAsync($"passthrough: create the disk first: {DiskImageCreator.CommandLine(path, format, size)}").ConfigureAwait(false);
        }
        else
        {
            await new DiskImageCreator(context.Runner).CreateAsync(path, format, size, cancellationToken).ConfigureAwait(false);
            await context.Error.WriteLineAsync($"passthrough: created disk {path} ({format}, {size}).").ConfigureAwait(false);
        }
    }

    private static (string Path, DiskSize? Size) SplitDisk(string? text, string name)
    {
        if (string.IsNullOrEmpty(text))
        {
            return ($"/var/lib/libvirt/images/{name}.qcow2", null);
        }

        var comma = text.LastIndexOf(',');
        return comma < 0 ? (Path.GetFullPath(text), null) : (Path.GetFullPath(text[..comma]), DiskSize.Parse(text[(comma + 1)..]));
    }
}
