using BenchmarkDotNet.Attributes;
using Passthrough.Rom;
using Passthrough.Testing;

namespace Passthrough.Benchmarks;

/// <summary>RomParser.Parse on a 1 MiB ROM (256 KiB legacy + 768 KiB EFI image), plain and behind a header.</summary>
[MemoryDiagnoser]
public class RomParserBenchmarks
{
    private byte[] _plain = [];
    private byte[] _withHeader = [];

    [GlobalSetup]
    public void Setup()
    {
        _plain = new RomImageBuilder()
            .Add(RomImageSpec.Legacy with { Blocks = 512 })
            .Add(RomImageSpec.Efi with { Blocks = 1536 })
            .Build();
        _withHeader = new RomImageBuilder()
            .Header(0x21C)
            .Add(RomImageSpec.Legacy with { Blocks = 512 })
            .Add(RomImageSpec.Efi with { Blocks = 1536 })
            .Build();
    }

    [Benchmark(Baseline = true)]
    public VbiosImage Parse_1MiB() => RomParser.Parse(_plain);

    [Benchmark]
    public VbiosImage Parse_1MiB_after_a_header() => RomParser.Parse(_withHeader);
}
