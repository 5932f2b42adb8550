using System.CommandLine;
using Passthrough.Adapters;
using Passthrough.Adapters.Sysfs;
using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Host;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// `--pin auto|LIST [--host-cores N] [--allow-split-smt]` and `--hugepages on|off [--hugepage-size SIZE]`, shared by
/// `xml set` and `new`. The host's topology and hugepage sizes are read under --root, only when asked for.
/// </summary>
internal sealed class CpuTuningOptions
{
    public Option<string> Pin { get; } = new("--pin")
    {
        Description = "Pin vCPUs: auto plans from the host's topology (SMT siblings together, one L3/CCD, P-cores, the larger cache); or a CPU list such as 2-7,10-15. Also writes the matching <topology> and the emulator/I/O thread pins.",
        HelpName = "auto|LIST",
    };

    public Option<int?> HostCores { get; } = new("--host-cores")
    {
        Description = "Cores the host keeps for itself and the emulator/I/O threads: its first N, CPU 0's core first (default 1).",
        HelpName = "N",
    };

    public Option<bool> AllowSplitSmt { get; } = new("--allow-split-smt")
    {
        Description = "Let --pin LIST take one thread of a core and leave its sibling to the host.",
    };

    public Option<string> Hugepages { get; } = new("--hugepages")
    {
        Description = "Back the guest's memory with hugepages (<memoryBacking><hugepages>), or remove that.",
        HelpName = "on|off",
    };

    public Option<string> HugepageSize { get; } = new("--hugepage-size")
    {
        Description = "Hugepage size with --hugepages on (default: the kernel's default size); checked against this host's CPU.",
        HelpName = "2M|1G",
    };

    public CpuTuningOptions() => Hugepages.AcceptOnlyFromAmong("on", "off");

    public void AddTo(Command command)
    {
        command.Options.Add(Pin);
        command.Options.Add(HostCores);
        command.Options.Add(AllowSplitSmt);
        command.Options.Add(Hugepages);
        command.Options.Add(HugepageSize);
    }

    /// <summary>The pin request, or null without --pin; reads the topology under the root.</summary>
    public CpuPinRequest? PinRequest(ParseResult result, HostRoot root)
    {
        var pin = result.GetValue(Pin);
        var hostCores = result.GetValue(HostCores);
        var split = result.GetValue(AllowSplitSmt);
        if (pin is null)
        {
            if (hostCores is not null || split)
            {
                throw PassthroughException.Input(
                    $"{(hostCores is not null ? "--host-cores" : "--allow-split-smt")} goes with --pin.",
                    "Add --pin auto (or --pin LIST).");
            }

            return null;
        }

        CpuSet? cpus = null;
        if (pin != "auto")
        {
            cpus = CpuSet.Parse(pin, "--pin");
        }
        else if (split)
        {
            throw PassthroughException.Input("--allow-split-smt goes with --pin LIST: --pin auto never splits a core.", "Leave --allow-split-smt out, or name the CPUs with --pin LIST.");
        }

        var reader = new CpuTopologyReader(root);
        return new CpuPinRequest(reader.Read())
            .WithHostCpuVendor(reader.CpuInfo().Vendor)
            .WithCpus(cpus)
            .WithHostCores(hostCores ?? 1)
            .WithAllowSplitSmt(split);
    }

    /// <summary>The hugepages request, or null without --hugepages; a size is checked against the host's sizes.</summary>
    public HugepagesRequest? HugepagesRequest(ParseResult result, HostRoot root)
    {
        var on = result.GetValue(Hugepages);
        var sizeText = result.GetValue(HugepageSize);
        if (on is null)
        {
            return sizeText is null ? null : throw PassthroughException.Input("--hugepage-size goes with --hugepages on.", $"Add --hugepages on --hugepage-size {sizeText}.");
        }

        if (on == "off")
        {
            return sizeText is null ? new HugepagesRequest(false) : throw PassthroughException.Input("--hugepage-size goes with --hugepages on, not off.", "Leave --hugepage-size out.");
        }

        HugepageSize? size = null;
        if (sizeText is not null)
        {
            var parsed = Domain.HugepageSize.Parse(sizeText);
            parsed.RequireOn(new CpuTopologyReader(root).HugepageSizes());
            size = parsed;
        }

        return new HugepagesRequest(true).WithSize(size);
    }
}
