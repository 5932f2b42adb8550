using System.Globalization;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Libvirtd;

/// <summary>
/// The machine's real libvirtd (Debian's libvirt-daemon + QEMU), prepared the way CI's throwaway
/// machine needs it: the users libvirt runs QEMU as, its run and log directories, virtlogd, then
/// libvirtd. Tests need root; without it, or without the packages, they are ignored with the reason
/// (and fail in CI: <see cref="RealPart"/>).
/// </summary>
internal static class RealLibvirtd
{
    public const string Uri = "qemu:///system";

    private static readonly ProcessRunner Runner = ProcessRunner.Instance;

    /// <summary>Makes sure libvirtd runs (starting virtlogd first), or ignores the test saying why (fails it in CI).</summary>
    public static async Task EnsureRunningAsync()
    {
        foreach (var program in new[] { "/usr/sbin/libvirtd", "/usr/sbin/virtlogd", "/usr/bin/virsh", "/usr/bin/qemu-system-x86_64" })
        {
            RealPart.Require(File.Exists(program), $"{program} is not installed", "apt-get install -y libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 (tests/install-deps does)");
        }

        RealPart.RequireRoot("a real libvirtd");

        // Debian's libvirt runs QEMU as libvirt-qemu:libvirt-qemu and swtpm as swtpm: a minimal image lacks them.
        await Run("sh", "-c", "getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu");
        await Run("sh", "-c", "getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home --home-dir /var/lib/libvirt --gid kvm --groups libvirt-qemu --shell /usr/sbin/nologin libvirt-qemu");
        await Run("sh", "-c", "getent passwd swtpm >/dev/null || useradd --system --no-create-home --user-group --shell /usr/sbin/nologin swtpm");
        Directory.CreateDirectory("/var/log/libvirt");
        Directory.CreateDirectory("/var/run/libvirt");
        if (Pids("virtlogd").Count == 0)
        {
            await Run("/usr/sbin/virtlogd", "-d");
        }

        if (Pids("libvirtd").Count == 0)
        {
            await StartAsync();
        }
    }

    /// <summary>Stops libvirtd (SIGTERM, by pid) and starts it again, so it reads the hook directory anew.</summary>
    public static async Task RestartAsync()
    {
        foreach (var pid in Pids("libvirtd"))
        {
            await Runner.RunAsync("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]);
            for (var i = 0; i < 100 && Directory.Exists($"/proc/{pid}"); i++)
            {
                await Task.Delay(100);
            }
        }

        await StartAsync();
    }

    /// <summary>virsh -c qemu:///system ARGS, each argument passed as is.</summary>
    public static Task<ProcessResult> Virsh(params string[] arguments) =>
        Runner.RunAsync("virsh", ["-c", Uri, .. arguments], new ProcessOptions { Timeout = TimeSpan.FromSeconds(60) });

    /// <summary>Process ids whose /proc/PID/comm is <paramref name="name"/>.</summary>
    public static IReadOnlyList<int> Pids(string name) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0 && ReadComm(pid) == name)
            .ToList();

    private static async Task StartAsync()
    {
        await Run("/usr/sbin/libvirtd", "-d");
        for (var i = 0; i < 150; i++)
        {
            if ((await Virsh("version")).Succeeded)
            {
                return;
            }

            await Task.Delay(100);
        }

        var log = File.Exists("/var/log/libvirt/libvirtd.log") ? string.Join('\n', File.ReadLines("/var/log/libvirt/libvirtd.log").TakeLast(5)) : "(no log)";
        RealPart.Missing("libvirtd did not answer within 15 s; its log ends with:\n" + log, "read /var/log/libvirt/libvirtd.log");
    }

    private static async Task Run(string program, params string[] arguments)
    {
        var result = await Runner.RunAsync(program, arguments);
        if (!result.Succeeded)
        {
            RealPart.Missing($"cannot prepare libvirtd: `{result.Command}` failed: {result.Stderr.Trim()}", "fix what it says (the tests need root)");
        }
    }

    private static string? ReadComm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
