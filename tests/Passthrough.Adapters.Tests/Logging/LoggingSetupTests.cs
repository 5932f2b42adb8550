using System.Net.Sockets;
using System.Text;
using NLog;
using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Logging;
using Passthrough.Testing;

namespace Passthrough.Tests.Logging;

[NonParallelizable]
public class LoggingSetupTests : MachineChangingFixture
{
    private const string JournalSocket = "/run/systemd/journal/socket";

    protected override string Changes => JournalSocket;

    [TearDown]
    public void ResetNLog() => LogManager.Configuration = null;

    [Test]
    public void I_can_read_what_the_hook_logged_in_the_log_file_under_the_root()
    {
        using var root = new TempDirectory();

        var path = LoggingSetup.Configure(new HostRoot(root.Path), journal: false);
        LogManager.GetLogger("passthrough").Info("hook qemu win11 prepare begin");
        LogManager.GetLogger("passthrough").Debug("not at info");
        LogManager.Flush();

        Assert.That(path, Is.EqualTo(root.Combine("var", "log", "passthrough", "passthrough.log")));
        var text = File.ReadAllText(path);
        Assert.That(text, Does.Contain("INFO passthrough hook qemu win11 prepare begin"));
        Assert.That(text, Does.Not.Contain("not at info"));
    }

    [Test]
    public void Each_line_has_time_process_and_level_and_a_failure_carries_its_exception()
    {
        using var root = new TempDirectory();
        var path = LoggingSetup.Configure(new HostRoot(root.Path), journal: false);

        LogManager.GetLogger("passthrough").Error(new InvalidOperationException("driver_override write timed out"), "hook qemu win11 prepare begin failed");
        LogManager.Flush();

        var lines = File.ReadAllLines(path);
        Assert.That(lines[0], Does.Match(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{4} " + Environment.ProcessId + " ERROR passthrough hook qemu win11 prepare begin failed$"));
        Assert.That(lines[1], Is.EqualTo("System.InvalidOperationException: driver_override write timed out"));
    }

    [Test]
    public void A_failure_with_its_stack_reaches_the_journal_as_one_entry()
    {
        // journald's native protocol: a value with a newline is KEY, newline, its length (64-bit little endian), the value.
        var entry = JournalTarget.Entry([("MESSAGE", "release failed\n  at Step()"), ("PRIORITY", "3")]);

        byte[] expected = [.. "MESSAGE\n"u8, 26, 0, 0, 0, 0, 0, 0, 0, .. "release failed\n  at Step()\n"u8, .. "PRIORITY=3\n"u8];
        Assert.That(entry, Is.EqualTo(expected));
    }

    [Test]
    public void I_can_read_the_hook_lines_in_the_journal_with_priority_and_identifier()
    {
        RealPart.Require(JournalTarget.IsAvailable, "journald's native protocol is Linux's", "run the tests on Linux");
        RealPart.RequireRoot("playing journald at " + JournalSocket);
        if (File.Exists(JournalSocket))
        {
            // Not a missing part but one we must not touch: taking the socket from the machine's own
            // journald would lose its log. CI's container runs no journald, so there the test runs.
            Assert.Ignore("a real journald owns " + JournalSocket + ": this test plays journald itself.");
        }

        var directory = Path.GetDirectoryName(JournalSocket)!;
        var createdDirectory = !Directory.Exists(directory);
        Directory.CreateDirectory(directory);

        // Journald's native protocol: one datagram per entry, KEY=VALUE lines (systemd's journal-native-protocol).
        using var journald = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        journald.Bind(new UnixDomainSocketEndPoint(JournalSocket));
        journald.ReceiveTimeout = 5000;
        try
        {
            using var root = new TempDirectory();
            LoggingSetup.Configure(new HostRoot(root.Path));
            LogManager.GetLogger("passthrough").Error("prepare failed for win11");
            LogManager.Flush();

            var buffer = new byte[65536];
            var received = journald.Receive(buffer);
            var entry = Encoding.UTF8.GetString(buffer, 0, received);

            Assert.That(entry, Does.Contain("MESSAGE=prepare failed for win11\n"));
            Assert.That(entry, Does.Contain("PRIORITY=3\n"));
            Assert.That(entry, Does.Contain("SYSLOG_IDENTIFIER=passthrough\n"));
        }
        finally
        {
            File.Delete(JournalSocket);
            if (createdDirectory)
            {
                Directory.Delete(directory);
            }
        }
    }
}
