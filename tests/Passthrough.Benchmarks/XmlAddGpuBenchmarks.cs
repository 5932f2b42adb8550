using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Passthrough.Testing;

namespace Passthrough.Benchmarks;

/// <summary>
/// `xml add-gpu` as a user runs it (a whole process: start, parse, edit, print; goal: median at
/// most 100 ms) side by side with virt-xml (Debian's virtinst) adding the same two hostdevs to the
/// domain "test" on test:///default and printing the result. Needs `make build` first
/// (artifacts/bin/passthrough). Run: `make bench-micro BENCH_ARGS="--filter *XmlAddGpu*"`. Measured
/// 2026-11-22 on the shared two-core machine (load average about 45): median 497 ms against
/// virt-xml 1181 ms (ratio 0.42); a .NET hello world took 60-120 ms at that load.
/// </summary>
[Config(typeof(Settings))]
[MedianColumn]
public class XmlAddGpuBenchmarks
{
    private string _binary = string.Empty;
    private string _domain = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _binary = Path.Join(RepoPaths.Root, "artifacts", "bin", "passthrough");
        if (!File.Exists(_binary))
        {
            throw new InvalidOperationException($"{_binary} is missing: run `make build` first.");
        }

        _domain = Path.Join(RepoPaths.Fixtures, "domains", "corpus", "virt-manager-win11.xml");
    }

    [Benchmark(Description = "passthrough xml add-gpu (2 functions, file to stdout)")]
    public int PassthroughAddGpu() =>
        Run(_binary, "xml", "add-gpu", _domain, "--slot", "0000:0b:00", "--functions", "0,1");

    [Benchmark(Baseline = true, Description = "virt-xml --add-device --hostdev x2 (test:///default, --print-xml)")]
    public int VirtXmlAddDevice() =>
        Run(
            "virt-xml",
            "--connect",
            "test:///default",
            "test",
            "--add-device",
            "--hostdev",
            "type=pci,address.domain=0x0000,address.bus=0x0b,address.slot=0x00,address.function=0x0",
            "--hostdev",
            "type=pci,address.domain=0x0000,address.bus=0x0b,address.slot=0x00,address.function=0x1",
            "--print-xml");

    /// <summary>
    /// In process: what is measured is another process anyway, and BenchmarkDotNet's generated
    /// project does not build within its timeout on a loaded two-core machine.
    /// </summary>
    public sealed class Settings : ManualConfig
    {
        public Settings()
        {
            AddJob(Job.Default
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1)
                .WithWarmupCount(3)
                .WithIterationCount(20));
        }
    }

    private static int Run(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || output.Result.Length == 0)
        {
            throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {error}");
        }

        return output.Result.Length;
    }
}
