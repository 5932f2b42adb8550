using System.CommandLine;
using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Passthrough.Testing;

namespace Passthrough.Native.Tests;

/// <summary>
/// The published `passthrough` (artifacts/bin/passthrough, left by `make build`), run as a user runs it: a child
/// process with arguments, standard input and redirected output. `make test` builds it first.
/// </summary>
public static class NativeBinary
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    // In-process runs share static state (NLog's configuration, System.CommandLine's global options): one at a time.
    private static readonly Lock InProcessGate = new();

    public static string Path { get; } = System.IO.Path.Join(RepoPaths.Root, "artifacts", "bin", "passthrough");

    /// <summary>Fails the test when the binary is missing: a skipped suite would prove nothing.</summary>
    public static string Require()
    {
        if (!File.Exists(Path))
        {
            Assert.Fail(Environment.GetEnvironmentVariable("CI") == "true"
                ? $"{Path} is missing: the CI job must run `make build` before the tests (`make test` does)."
                : $"{Path} is missing: run `make build` first (`make test` does it for you).");
        }

        return Path;
    }

    public static CliResult Run(params string[] args) => RunWith(null, args);

    /// <summary>Runs the binary with <paramref name="stdin"/> (null: empty) and waits at most 30 s.</summary>
    public static CliResult RunWith(string? stdin, params string[] args)
    {
        var info = new ProcessStartInfo(Require())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The in-process runs see no environment: neither may the binary see a user's libvirt URI or colour choice.
        foreach (var name in new[] { "LIBVIRT_DEFAULT_URI", "NO_COLOR", "COLUMNS" })
        {
            info.Environment.Remove(name);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            process.StandardInput.Write(stdin ?? string.Empty);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The binary exited without reading its input (the hook's fast paths do): not an error.
        }

        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"passthrough {string.Join(' ', args)} did not finish within {Limit.TotalSeconds} s");
        }

        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The same command in-process, under the JIT, as the other test projects run it.</summary>
    public static CliResult InProcess(string? stdin, params string[] args)
    {
        lock (InProcessGate)
        {
            var result = CliRun.RunAsync(args, stdin).GetAwaiter().GetResult();
            NLog.LogManager.Configuration = null; // the hook configures logging for its --root; let the next run start clean
            return result with { Stdout = AsPassthrough(result.Stdout) };
        }
    }

    /// <summary>
    /// Help's usage lines name the running executable: in-process that is the test host, not passthrough.
    /// </summary>
    private static string AsPassthrough(string stdout) =>
        RootCommand.ExecutableName == "passthrough"
            ? stdout
            : Regex.Replace(stdout, "^(  )" + Regex.Escape(RootCommand.ExecutableName) + "( |$)", "$1passthrough$2", RegexOptions.Multiline);

    /// <summary>
    /// Runs <paramref name="args"/> both ways and asserts the same exit code, stdout and stderr; returns the native run.
    /// </summary>
    public static CliResult AssertSameAsInProcess(params string[] args) => AssertSameAsInProcessWith(null, args);

    public static CliResult AssertSameAsInProcessWith(string? stdin, params string[] args)
    {
        var native = RunWith(stdin, args);
        var inProcess = InProcess(stdin, args);
        AssertSame(native, inProcess, string.Join(' ', args));
        return native;
    }

    public static void AssertSame(CliResult native, CliResult inProcess, string command)
    {
        Assert.Multiple(() =>
        {
            Assert.That(native.ExitCode, Is.EqualTo(inProcess.ExitCode), $"exit code of `passthrough {command}`\nnative: {native}\nin-process: {inProcess}");
            Assert.That(native.Stdout, Is.EqualTo(inProcess.Stdout), $"stdout of `passthrough {command}`");
            Assert.That(native.Stderr, Is.EqualTo(inProcess.Stderr), $"stderr of `passthrough {command}`");
        });
        AssertNoStackTrace(native);
    }

    public static void AssertNoStackTrace(CliResult result)
    {
        Assert.That(result.Stdout + result.Stderr, Does.Not.Contain("   at ").And.Not.Contain("Unhandled exception"), result.ToString());
    }
}
