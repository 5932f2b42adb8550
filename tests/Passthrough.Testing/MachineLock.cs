using NUnit.Framework;

namespace Passthrough.Testing;

/// <summary>
/// Held by every test that changes the machine itself rather than a temp directory (the real
/// libvirtd and /etc/libvirt/hooks, the journald socket, fixed names under /tmp), so those tests run
/// one at a time. `dotnet test` on the solution runs each test project in its own process, in
/// parallel, so [NonParallelizable] (one process) cannot keep them apart; a lock file can, and it
/// also keeps two test runs on one machine apart. The kernel drops it if the test process dies.
/// </summary>
public sealed class MachineLock : IDisposable
{
    public const string LockPath = "/tmp/passthrough-tests-machine.lock";

    private readonly FileStream _file;

    private MachineLock(FileStream file)
    {
        _file = file;
    }

    /// <summary>Waits (up to 10 minutes: the longest machine-changing fixture takes about a minute) for the lock.</summary>
    /// <param name="what">What the caller changes, for the message when the wait runs out.</param>
    public static MachineLock Take(string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (true)
        {
            try
            {
                // .NET on Linux takes flock(LOCK_EX | LOCK_NB) for FileShare.None, across processes.
                return new MachineLock(new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
            catch (IOException e)
            {
                Assert.Fail($"Another test process held {LockPath} for 10 minutes, so this test could not change {what}: {e.Message}");
                throw;
            }
        }
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// A fixture whose tests change the machine: it holds <see cref="MachineLock"/> from before its
/// own [OneTimeSetUp] until after its own [OneTimeTearDown] (NUnit runs a base class's one-time
/// set-up first and its tear-down last), and its tests run one at a time.
/// </summary>
[NonParallelizable]
public abstract class MachineChangingFixture
{
    private MachineLock? _machine;

    /// <summary>What the fixture changes, for the message when the lock cannot be had.</summary>
    protected abstract string Changes { get; }

    [OneTimeSetUp]
    public void TakeTheMachine() => _machine = MachineLock.Take(Changes);

    [OneTimeTearDown]
    public void GiveTheMachineBack() => _machine?.Dispose();
}
