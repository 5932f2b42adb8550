using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Verbs;

/// <summary>
/// `list --all --json` agrees with real pciutils on every fixture tree (lspci -A linux-sysfs reads the same
/// files the kernel offers) and on this machine's own /sys.
/// </summary>
public partial class LspciCrossCheckTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private sealed record Seen(string Ids, string Class, string? Subsystem, string? Driver, bool? Flr);

    private static string Lspci(params string[] args)
    {
        var result = ProcessRunner.Instance.RunAsync("lspci", args).GetAwaiter().GetResult();
        Assert.That(result.ExitCode, Is.EqualTo(0), $"lspci {string.Join(' ', args)}: {result.Stderr}");
        return result.Stdout;
    }

    /// <summary>Blocks of `lspci -D ...` output, keyed by the address at the start of each block.</summary>
    private static Dictionary<string, string> Blocks(string output) =>
        DeviceStart().Split(output).Where(b => b.Length > 0)
            .ToDictionary(b => b[..12], b => b, StringComparer.Ordinal);

    private static Dictionary<string, Seen> ByLspci(string root)
    {
        string[] sysfs = ["-A", "linux-sysfs", "-O", $"sysfs.path={root}/sys/bus/pci"];
        var nnk = Blocks(Lspci([.. sysfs, "-nnk", "-D"]));
        // -vmm: "Slot:\t...", "ProgIf:\t30" (only when not zero) records separated by blank lines.
        var progIfs = Lspci([.. sysfs, "-vmm", "-n", "-D"]).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(record => Field().Matches(record).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal))
            .ToDictionary(fields => fields["Slot"], fields => fields.GetValueOrDefault("ProgIf", "00"), StringComparer.Ordinal);
        var vv = Blocks(Lspci([.. sysfs, "-vv", "-D"]));
        var seen = new Dictionary<string, Seen>(StringComparer.Ordinal);
        foreach (var (address, block) in nnk)
        {
            var head = HeadLine().Match(block);
            Assert.That(head.Success, Is.True, block);
            var progIf = progIfs[address];
            var subsystem = Subsystem().Match(block);
            var driver = Driver().Match(block);
            var flr = vv[address].Contains("FLReset+", StringComparison.Ordinal) ? true
                : vv[address].Contains("FLReset-", StringComparison.Ordinal) ? false
                : (bool?)null;
            seen[address] = new Seen(
                head.Groups["ids"].Value,
                head.Groups["class"].Value + progIf,
                subsystem.Success ? subsystem.Groups[1].Value : null,
                driver.Success ? driver.Groups[1].Value : null,
                flr);
        }

        return seen;
    }

    private static Dictionary<string, Seen> ByPassthrough(string root)
    {
        var result = CliRun.Run("--root", root, "list", "--all", "--json");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement.GetProperty("devices").EnumerateArray().ToDictionary(
            d => d.GetProperty("address").GetString()!,
            d =>
            {
                var subsystem = $"{d.GetProperty("subsystemVendorId").GetString()}:{d.GetProperty("subsystemDeviceId").GetString()}";
                return new Seen(
                    $"{d.GetProperty("vendorId").GetString()}:{d.GetProperty("deviceId").GetString()}",
                    d.GetProperty("classCode").GetString()!,
                    subsystem == "0000:0000" ? null : subsystem,
                    d.GetProperty("driver").GetString(),
                    d.GetProperty("flr").ValueKind == JsonValueKind.Null ? null : d.GetProperty("flr").GetBoolean());
            },
            StringComparer.Ordinal);
    }

    [TestCaseSource(typeof(FixtureHosts), nameof(FixtureHosts.Names))]
    public void Lspci_agrees_with_list_all_on_ids_class_subsystem_driver_and_flr(string fixture)
    {
        var root = FixtureHosts.Expand(fixture, _dir.Combine(fixture));

        var lspci = ByLspci(root);
        var ours = ByPassthrough(root);

        Assert.That(ours.Keys.Order(), Is.EqualTo(lspci.Keys.Order()));
        // lspci prints FLReset only for endpoints (the bit is reserved for ports): there we expect "no FLR".
        var differences = ours.Where(kv => lspci[kv.Key] != kv.Value && !(lspci[kv.Key].Flr is null && kv.Value == lspci[kv.Key] with { Flr = false })).Select(kv => $"{kv.Key}: ours {kv.Value}, lspci {lspci[kv.Key]}");
        Assert.That(differences, Is.Empty);
        Assert.That(ours.Values.Count(s => s.Flr == true), Is.GreaterThan(0), "the fixture has FLR-capable functions");
    }

    [TestCaseSource(typeof(FixtureHosts), nameof(FixtureHosts.Names))]
    public void Lspci_and_list_all_give_the_same_vendor_and_device_names(string fixture)
    {
        var root = FixtureHosts.Expand(fixture, _dir.Combine(fixture));
        // Both read the system's pci.ids, then udev's hwdb for the ids pci.ids lacks.
        var lspci = Lspci("-A", "linux-sysfs", "-O", $"sysfs.path={root}/sys/bus/pci", "-vmm", "-D")
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(record => Field().Matches(record).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal))
            .ToDictionary(fields => fields["Slot"], fields => (Vendor: fields["Vendor"], Device: fields["Device"]), StringComparer.Ordinal);
        var result = CliRun.Run("--root", root, "list", "--all", "--json");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var ours = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("devices").EnumerateArray().ToDictionary(
            d => d.GetProperty("address").GetString()!,
            d => (
                Vendor: d.GetProperty("vendorName").GetString() ?? $"Vendor {d.GetProperty("vendorId").GetString()}",
                Device: d.GetProperty("deviceName").GetString() ?? $"Device {d.GetProperty("deviceId").GetString()}"),
            StringComparer.Ordinal);

        Assert.That(ours, Is.EqualTo(lspci));
        Assert.That(ours.Values.Count(n => !n.Device.StartsWith("Device ", StringComparison.Ordinal)), Is.GreaterThan(0), "some names are known");
    }

    [TestCaseSource(typeof(FixtureHosts), nameof(FixtureHosts.Names))]
    public void Lspci_and_list_all_give_the_same_resizable_bars(string fixture)
    {
        var root = FixtureHosts.Expand(fixture, _dir.Combine(fixture));
        // lspci -vvv: "BAR 0: current size: 256MB, supported: 1MB 2MB ... 8GB" under "Physical Resizable BAR".
        var lspci = Blocks(Lspci("-A", "linux-sysfs", "-O", $"sysfs.path={root}/sys/bus/pci", "-vvv", "-D"))
            .Where(kv => kv.Value.Contains("Physical Resizable BAR", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => string.Join("; ", RebarLine().Matches(kv.Value).Select(m => $"BAR {m.Groups[1].Value}: {m.Groups[2].Value}, {m.Groups[3].Value.Trim()}")), StringComparer.Ordinal);
        var result = CliRun.Run("--root", root, "list", "--all", "--json");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        static string Mb(long bytes) => bytes >= 1L << 30 ? $"{bytes >> 30}GB" : $"{bytes >> 20}MB";
        var ours = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("devices").EnumerateArray()
            .Where(d => d.GetProperty("resizableBars").GetArrayLength() > 0)
            .ToDictionary(
                d => d.GetProperty("address").GetString()!,
                d => string.Join("; ", d.GetProperty("resizableBars").EnumerateArray().Select(b =>
                    $"BAR {b.GetProperty("index").GetInt32()}: {Mb(b.GetProperty("current").GetInt64())}, {string.Join(' ', b.GetProperty("supported").EnumerateArray().Select(x => Mb(x.GetInt64())))}")),
                StringComparer.Ordinal);

        Assert.That(ours, Is.EqualTo(lspci));
    }

    [Test]
    public void Lspci_agrees_with_list_all_on_this_machines_own_sys()
    {
        // CI's container sees the host's PCI devices in /sys, so an empty /sys/bus/pci fails in CI.
        RealPart.Require(
            Directory.Exists("/sys/bus/pci/devices") && Directory.GetFileSystemEntries("/sys/bus/pci/devices").Length > 0,
            "this machine shows no PCI devices in /sys",
            "run the tests on a machine (or container) with /sys/bus/pci");

        var lspci = Lspci("-Dn").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => LspciDn().Match(line))
            .ToDictionary(m => m.Groups["address"].Value, m => (Ids: m.Groups["ids"].Value, Class: m.Groups["class"].Value), StringComparer.Ordinal);
        var result = CliRun.Run("list", "--all", "--json");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var ours = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("devices").EnumerateArray().ToDictionary(
            d => d.GetProperty("address").GetString()!,
            d => (Ids: $"{d.GetProperty("vendorId").GetString()}:{d.GetProperty("deviceId").GetString()}", Class: d.GetProperty("classCode").GetString()![..4]),
            StringComparer.Ordinal);

        Assert.That(ours, Is.EqualTo(lspci));
    }

    [GeneratedRegex(@"(?m)^(?=[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] )")]
    private static partial Regex DeviceStart();

    [GeneratedRegex(@"^\S+ .*\[(?<class>[0-9a-f]{4})\]: .*\[(?<ids>[0-9a-f]{4}:[0-9a-f]{4})\]")]
    private static partial Regex HeadLine();

    [GeneratedRegex(@"(?m)^(\w+):\t(.*)$")]
    private static partial Regex Field();

    [GeneratedRegex(@"(?m)^\tSubsystem: .*\[([0-9a-f]{4}:[0-9a-f]{4})\]$")]
    private static partial Regex Subsystem();

    [GeneratedRegex(@"(?m)^\tKernel driver in use: (\S+)$")]
    private static partial Regex Driver();

    [GeneratedRegex(@"(?m)^\t\tBAR (\d+): current size: (\S+), supported: (.*)$")]
    private static partial Regex RebarLine();

    [GeneratedRegex(@"^(?<address>\S+) (?<class>[0-9a-f]{4}): (?<ids>[0-9a-f]{4}:[0-9a-f]{4})")]
    private static partial Regex LspciDn();
}
