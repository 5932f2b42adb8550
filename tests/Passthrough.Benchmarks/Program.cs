using BenchmarkDotNet.Running;

namespace Passthrough.Benchmarks;

/// <summary>`make bench`: BenchmarkDotNet suites for hot paths, plus whole-process comparisons.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
