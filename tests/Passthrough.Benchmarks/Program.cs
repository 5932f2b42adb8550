using BenchmarkDotNet.Running;

namespace Passthrough.Benchmarks;

/// <summary>
/// `make bench-micro`: the BenchmarkDotNet suites (arguments as BenchmarkDotNet takes them; none: every suite, in process, so
/// it never asks), then the
/// whole-process comparison. --process-only skips the suites; --no-process skips the comparison;
/// --write-host DIR only writes the generated host.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["--write-host", var directory])
        {
            // The benchmark host as a tree, for profiling by hand.
            Passthrough.Testing.FixtureHosts.Generated(256).WriteTo(directory);
            return 0;
        }

        var suites = !args.Contains("--process-only");
        var process = !args.Contains("--no-process");
        var rest = args.Where(a => a is not "--process-only" and not "--no-process").ToArray();
        if (suites)
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest.Length == 0 ? ["--filter", "*", "--inProcess"] : rest);
        }

        return process ? ProcessComparison.Run() : 0;
    }
}
