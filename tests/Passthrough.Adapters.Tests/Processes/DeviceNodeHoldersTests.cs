using System.Diagnostics;
using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Processes;

public class DeviceNodeHoldersTests
{
    private static bool GpuNode(string node) =>
        node.StartsWith("/dev/dri/", StringComparison.Ordinal) || node.StartsWith("/dev/snd/", StringComparison.Ordinal) || node.StartsWith("/dev/nvidia", StringComparison.Ordinal);

    /// <summary>A /proc tree as the kernel shows it: PID/comm and PID/fd/N links to what is open.</summary>
    private static TempDirectory Proc()
    {
        var root = new TempDirectory("proc");
        void Process(string pid, string? comm, params (int Fd, string Target)[] fds)
        {
            var dir = root.Combine("proc", pid);
            Directory.CreateDirectory(Path.Join(dir, "fd"));
            if (comm is not null)
            {
                File.WriteAllText(Path.Join(dir, "comm"), comm + "\n");
            }

            foreach (var (fd, target) in fds)
            {
                File.CreateSymbolicLink(Path.Join(dir, "fd", fd.ToString(System.Globalization.CultureInfo.InvariantCulture)), target);
            }
        }

        Process("2301", "gnome-shell", (14, "/dev/dri/card0"), (3, "/dev/dri/renderD128"), (15, "/dev/null"), (16, "socket:[48213]"));
        Process("2410", "pipewire", (30, "/dev/snd/controlC1"), (31, "/dev/snd/controlC1"), (32, "/dev/snd/pcmC1D3p"));
        Process("977", "nvidia-persistenced", (5, "/dev/nvidiactl"));
        Process("1", "systemd", (0, "/dev/null"));
        Process("3110", null, (9, "/dev/dri/card0")); // exited between the fd and the comm read
        Process("acpi", "not-a-process", (1, "/dev/dri/card0"));
        File.CreateSymbolicLink(root.Combine("proc", "self"), "2301");
        return root;
    }

    [Test]
    public void I_can_see_every_process_holding_gpu_nodes_with_its_name_in_pid_and_fd_order()
    {
        using var root = Proc();

        var found = new DeviceNodeHolders(new HostRoot(root.Path)).Find(GpuNode);

        Assert.That(found, Is.EqualTo(new[]
        {
            new OpenDeviceNode(977, "nvidia-persistenced", "/dev/nvidiactl"),
            new OpenDeviceNode(2301, "gnome-shell", "/dev/dri/renderD128"),
            new OpenDeviceNode(2301, "gnome-shell", "/dev/dri/card0"),
            new OpenDeviceNode(2410, "pipewire", "/dev/snd/controlC1"),
            new OpenDeviceNode(2410, "pipewire", "/dev/snd/pcmC1D3p"),
            new OpenDeviceNode(3110, "?", "/dev/dri/card0"),
        }));
    }

    [Test]
    public void I_can_ask_for_one_node_per_process()
    {
        using var root = Proc();

        var found = new DeviceNodeHolders(new HostRoot(root.Path)).Find(n => n.StartsWith("/dev/dri/", StringComparison.Ordinal), firstPerProcess: true);

        Assert.That(found.Select(h => h.ToString()), Is.EqualTo(new[]
        {
            new OpenDeviceNode(2301, "gnome-shell", "/dev/dri/renderD128").ToString(),
            new OpenDeviceNode(3110, "?", "/dev/dri/card0").ToString(),
        }));
    }

    [Test]
    public void I_get_the_names_of_all_processes_also_those_holding_nothing()
    {
        using var root = Proc();

        var names = new DeviceNodeHolders(new HostRoot(root.Path)).Commands();

        Assert.That(names, Is.EquivalentTo(new[] { "gnome-shell", "pipewire", "nvidia-persistenced", "systemd" }));
    }

    [Test]
    public void A_root_without_proc_says_so_and_finds_nobody()
    {
        using var root = new TempDirectory("no-proc");
        var scanner = new DeviceNodeHolders(new HostRoot(root.Path));

        Assert.That(scanner.HasProc, Is.False);
        Assert.That(scanner.Find(GpuNode), Is.Empty);
        Assert.That(scanner.Commands(), Is.Empty);
    }

    [Test]
    public void On_the_live_system_i_see_a_real_process_holding_a_node_but_not_the_process_asking()
    {
        // flock(1) opens the file it locks and keeps it open while its command runs.
        using var ours = File.OpenRead("/dev/zero");
        using var holder = Process.Start(new ProcessStartInfo("flock", ["--shared", "/dev/zero", "sleep", "30"]))!;
        try
        {
            var scanner = new DeviceNodeHolders(HostRoot.Live);
            IReadOnlyList<OpenDeviceNode> found = [];
            for (var i = 0; i < 100 && !found.Any(h => h.Pid == holder.Id); i++)
            {
                Thread.Sleep(20);
                found = scanner.Find(n => n == "/dev/zero");
            }

            Assert.That(found, Does.Contain(new OpenDeviceNode(holder.Id, "flock", "/dev/zero")));
            Assert.That(found.Select(h => h.Pid), Does.Not.Contain(Environment.ProcessId));
            Assert.That(scanner.Commands(), Does.Contain("flock"));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
    }
}
