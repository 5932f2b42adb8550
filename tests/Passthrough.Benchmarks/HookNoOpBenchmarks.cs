using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Passthrough.Adapters.Hooks;
using Passthrough.Testing;

namespace Passthrough.Benchmarks;

/// <summary>
/// The libvirt hook's no-op path as libvirt pays for it on every operation of every VM: a whole
/// process, a 5 KB domain XML without our metadata on stdin. Goal: at most 10 ms. The installed script
/// (sh) exits at once for the operations Passthrough does not act on and hands prepare/release to the
/// native binary (`make build`), which leaves a domain without our metadata alone. Compared with a plain
/// bash dispatcher making the same decision (grep -F on the XML).
/// </summary>
// In-process: what is measured is the child process; no boilerplate build (slow on a busy machine).
[InProcess]
[WarmupCount(5)]
[IterationCount(20)]
public class HookNoOpBenchmarks
{
    private TempDirectory _dir = null!;
    private string _hook = null!;
    private string _bash = null!;
    private string _xml = null!;
    private string _published = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = new TempDirectory("passthrough-bench-hook");
        _xml = File.ReadAllText(Path.Join(RepoPaths.Fixtures, "domains", "corpus", "virt-manager-win11.xml"));
        _published = Path.Join(RepoPaths.Root, "artifacts", "bin", "passthrough");

        if (!File.Exists(_published))
        {
            throw new InvalidOperationException($"{_published} is missing: run `make build` first (`make bench-micro` does).");
        }

        _hook = _dir.Combine(HookScript.FileName);
        File.WriteAllText(_hook, HookScript.Render(_published));
        _bash = _dir.Combine("bash-dispatcher");
        File.WriteAllText(_bash, """
            #!/bin/bash
            case "$2 $3" in "prepare begin"|"release end") ;; *) exit 0 ;; esac
            xml=$(cat)
            if ! grep -qF 'urn:passthrough:1' <<<"$xml"; then exit 0; fi
            exec /bin/false hook qemu "$@" <<<"$xml"
            """.ReplaceLineEndings("\n"));
        foreach (var script in new[] { _hook, _bash })
        {
            File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _dir.Dispose();

    [Benchmark(Baseline = true, Description = "50-passthrough (sh) + native passthrough, domain without metadata")]
    public int PassthroughHook() => Run(_hook, "win11", "prepare", "begin", "-");

    // start, started and stopped take this path, on every VM with our metadata too (.NET only logged them).
    [Benchmark(Description = "50-passthrough (sh), unhandled call (start begin)")]
    public int PassthroughHookUnhandledOperation() => Run(_hook, "win11", "start", "begin", "-");

    [Benchmark(Description = "plain bash dispatcher, same decision")]
    public int BashDispatcher() => Run(_bash, "win11", "prepare", "begin", "-");

    [Benchmark(Description = "native passthrough start-up, --version")]
    public int NativeStartup() => Run(_published, "--version");

    private int Run(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        try
        {
            process.StandardInput.Write(_xml);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The hook exited before reading (an unhandled operation): that is the point.
        }

        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} exited {process.ExitCode}");
        }

        return process.ExitCode;
    }
}
