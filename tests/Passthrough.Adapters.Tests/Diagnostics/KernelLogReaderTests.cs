using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Logs;
using Passthrough.Testing;

namespace Passthrough.Tests.Diagnostics;

public class KernelLogReaderTests
{
    [Test]
    public void I_can_read_a_captured_kmsg_file_under_a_root()
    {
        using var root = new TempDirectory("kmsg");
        DoctorHosts.Expand(DoctorHosts.Seed004(), root.Path);

        var result = new KernelLogReader(new HostRoot(root.Path)).Read();

        Assert.That(result.Problem, Is.Null);
        Assert.That(result.Log!.Lines.Select(l => l.Message), Does.Contain(DoctorHosts.Seed004OneToOne));
        Assert.That(result.Log.Lines.Select(l => l.Message), Has.None.StartsWith(" SUBSYSTEM"));
    }

    [Test]
    public void I_can_use_a_saved_plain_dmesg_when_there_is_no_kmsg()
    {
        using var root = new TempDirectory("kmsg");
        Directory.CreateDirectory(root.Combine("var", "log"));
        File.WriteAllText(root.Combine("var", "log", "dmesg"), "[    0.000000] DMAR-IR: Enabled IRQ remapping in x2apic mode\n");

        var result = new KernelLogReader(new HostRoot(root.Path)).Read();

        Assert.That(result.Source, Is.EqualTo("/var/log/dmesg"));
        Assert.That(result.Log!.Lines.Single().Message, Is.EqualTo("DMAR-IR: Enabled IRQ remapping in x2apic mode"));
    }

    [Test]
    public void I_am_told_why_when_there_is_no_kernel_log()
    {
        using var root = new TempDirectory("kmsg");

        var result = new KernelLogReader(new HostRoot(root.Path)).Read();

        Assert.That(result.Log, Is.Null);
        Assert.That(result.Problem, Does.EndWith("/dev/kmsg does not exist"));
    }

    [Test]
    public void Reading_the_live_dev_kmsg_returns_without_waiting_for_new_messages()
    {
        // Containers get /dev/kmsg too (CI's has it), so its absence fails in CI.
        RealPart.Require(File.Exists("/dev/kmsg"), "no /dev/kmsg on this machine", "run the tests on a Linux host or a container that has /dev/kmsg");

        // /dev/kmsg blocks a plain reader at the end of the buffer; the reader must stop at EAGAIN.
        var read = Task.Run(() => new KernelLogReader(HostRoot.Live).Read());
        var finished = read.Wait(TimeSpan.FromSeconds(20));

        Assert.That(finished, Is.True, "the reader blocked on /dev/kmsg");
        var result = read.Result;
        Assert.That(result.Log is not null || result.Problem!.Contains("permission denied", StringComparison.Ordinal), Is.True, result.Problem);
        if (result.Log is { } log)
        {
            Assert.That(log.Lines, Is.Not.Empty);
            Assert.That(log.Lines[0].Seconds, Is.Not.Null, "kmsg records carry timestamps");
        }
    }
}
