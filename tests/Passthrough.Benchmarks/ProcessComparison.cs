using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Passthrough.Testing;

namespace Passthrough.Benchmarks;

/// <summary>
/// Whole-process comparison on one generated 256-function host, side by side in one run:
/// `passthrough --root X list --all` against the seeds' loop (one `lspci -nns` per IOMMU group member).
/// Uses hyperfine when installed (Debian package hyperfine), else times the runs itself.
/// Goals (issue 2): at most 150 ms for passthrough, at least 10x faster than the loop.
/// </summary>
public static class ProcessComparison
{
    private const double GoalMilliseconds = 150;
    private const double GoalSpeedup = 10;

    public static int Run(int functions = 256)
    {
        var binary = Path.Join(RepoPaths.Root, "artifacts", "bin", "passthrough");
        if (!File.Exists(binary))
        {
            Console.Error.WriteLine($"{binary} is missing: run `make build` first (`make bench-micro` does).");
            return 1;
        }

        using var dir = new TempDirectory("passthrough-bench");
        var root = FixtureHosts.Generated(functions).WriteTo(dir.Combine("root"));
        var loop = dir.Combine("seed-loop.sh");
        File.WriteAllText(loop, $$"""
            for d in {{root}}/sys/kernel/iommu_groups/*/devices/*; do
              n=${d#*/iommu_groups/}; n=${n%%/*}
              printf 'IOMMU Group %s ' "$n"
              lspci -A linux-sysfs -O sysfs.path={{root}}/sys/bus/pci -nns "${d##*/}"
            done

            """);

        var ours = $"{binary} --root {root} list --all";
        var theirs = $"bash {loop}";
        var lines = Capture("bash", loop).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        var listed = Capture(binary, "--root", root, "list", "--all", "--json").Split("\"address\"").Length - 1;
        Console.WriteLine($"Host: {functions} functions generated under {root}; the loop printed {lines} lines, passthrough listed {listed} functions.");

        var useHyperfine = HasHyperfine();
        var tool = useHyperfine ? "hyperfine: mean after warm-ups" : "Stopwatch: median (install hyperfine for CPU times)";
        (double Wall, double Cpu) us = useHyperfine ? Hyperfine(dir, ours, 20) : (Median(binary, ["--root", root, "list", "--all"], 20), double.NaN);
        (double Wall, double Cpu) them = useHyperfine ? Hyperfine(dir, theirs, 5) : (Median("bash", [loop], 5), double.NaN);
        (double Wall, double Cpu) usJson = useHyperfine ? Hyperfine(dir, ours + " --json", 20) : (Median(binary, ["--root", root, "list", "--all", "--json"], 20), double.NaN);
        var speedup = them.Wall / us.Wall;
        Console.WriteLine();
        Console.WriteLine($"Whole process ({tool}); wall clock, and CPU (user+system) which a busy machine does not inflate:");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  passthrough --root X list --all   wall {us.Wall,8:F1} ms   cpu {us.Cpu,8:F1} ms   goal <= {GoalMilliseconds} ms: {(us.Wall <= GoalMilliseconds ? "met" : "MISSED")} (wall), {(us.Cpu <= GoalMilliseconds ? "met" : "MISSED")} (cpu)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ... list --all --json              wall {usJson.Wall,8:F1} ms   cpu {usJson.Cpu,8:F1} ms   (for tools that read it)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  seeds' loop of lspci -nns         wall {them.Wall,8:F1} ms   cpu {them.Cpu,8:F1} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  speedup                           wall {speedup,8:F1} x    cpu {them.Cpu / us.Cpu,8:F1} x    goal >= {GoalSpeedup} x: {(speedup >= GoalSpeedup ? "met" : "MISSED")}"));
        return 0;
    }

    private static bool HasHyperfine() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(p => File.Exists(Path.Join(p, "hyperfine")));

    /// <summary>Mean wall and CPU milliseconds of one command under hyperfine.</summary>
    private static (double Wall, double Cpu) Hyperfine(TempDirectory dir, string command, int runs)
    {
        var json = dir.Combine("hyperfine.json");
        var info = new ProcessStartInfo("hyperfine") { UseShellExecute = false };
        foreach (var arg in new[] { "-N", "--warmup", "2", "--runs", runs.ToString(CultureInfo.InvariantCulture), "--export-json", json, command })
        {
            info.ArgumentList.Add(arg);
        }

        using (var process = Process.Start(info)!)
        {
            process.WaitForExit();
        }

        var result = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("results")[0];
        return (result.GetProperty("mean").GetDouble() * 1000, (result.GetProperty("user").GetDouble() + result.GetProperty("system").GetDouble()) * 1000);
    }

    private static double Median(string program, string[] args, int runs)
    {
        Capture(program, args); // warm-up
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            Capture(program, args);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return times[runs / 2];
    }

    private static string Capture(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output;
    }
}
