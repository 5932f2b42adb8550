using BenchmarkDotNet.Attributes;
using Passthrough.Adapters;
using Passthrough.Adapters.Sysfs;
using Passthrough.Testing;

namespace Passthrough.Benchmarks;

/// <summary>SysfsHostReader.Read on a generated 256-function host: with pci.ids names (what `list` shows) and without.</summary>
[MemoryDiagnoser]
public class SysfsHostReaderBenchmarks
{
    private TempDirectory _dir = null!;
    private HostRoot _root = null!;

    [Params(true, false)]
    public bool Names { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = new TempDirectory("passthrough-bench");
        _root = new HostRoot(FixtureHosts.Generated(256).WriteTo(_dir.Combine("root")));
    }

    [GlobalCleanup]
    public void Cleanup() => _dir.Dispose();

    [Benchmark]
    public int Read() => new SysfsHostReader(_root, Names).Read().Functions.Count;
}
