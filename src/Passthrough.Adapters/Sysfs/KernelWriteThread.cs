using System.Runtime.ExceptionServices;

namespace Passthrough.Adapters.Sysfs;

/// <summary>
/// The thread sysfs writes run on, so the caller can give up on one stuck in a driver (a write into the
/// kernel cannot be cancelled, only abandoned). Made at the first write and reused: a thread of its own for
/// every write cost more than the write itself (a thread start, and glibc a malloc arena for it; on an
/// emulated CPU a tenth of a second each). A write that does not return in time keeps its thread; the next
/// write gets a new one. One write at a time.
/// </summary>
internal sealed class KernelWriteThread
{
    private readonly Lock _serial = new();
    private Worker? _worker;

    /// <summary>Runs <paramref name="write"/> on the thread; false when it did not return within <paramref name="timeout"/>.
    /// What it throws is thrown here, unchanged.</summary>
    public bool Run(Action write, TimeSpan timeout)
    {
        lock (_serial)
        {
            var worker = _worker ??= new Worker();
            var job = worker.Post(write);
            if (!job.Wait(timeout))
            {
                worker.Abandon();
                _worker = null;
                return false;
            }

            job.Error?.Throw();
            return true;
        }
    }

    /// <summary>One write and its outcome (Monitor-signalled: nothing to dispose when a stuck one is abandoned).</summary>
    private sealed class Job(Action write)
    {
        private readonly object _gate = new();
        private bool _done;

        public ExceptionDispatchInfo? Error { get; private set; }

        public void Execute()
        {
            try
            {
                write();
            }
#pragma warning disable CA1031 // Whatever the write throws belongs to the caller waiting for it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Error = ExceptionDispatchInfo.Capture(e);
            }

            lock (_gate)
            {
                _done = true;
                Monitor.PulseAll(_gate);
            }
        }

        public bool Wait(TimeSpan timeout)
        {
            var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            lock (_gate)
            {
                while (!_done)
                {
                    var left = deadline - Environment.TickCount64;
                    if (left <= 0)
                    {
                        return false;
                    }

                    Monitor.Wait(_gate, TimeSpan.FromMilliseconds(left));
                }

                return true;
            }
        }
    }

    private sealed class Worker
    {
        private readonly object _gate = new();
        private Job? _job;
        private volatile bool _abandoned;

        public Worker()
        {
            // A background thread: an idle writer (or one stuck in the kernel) does not keep the process alive.
            new Thread(Loop) { IsBackground = true, Name = "sysfs write" }.Start();
        }

        public Job Post(Action write)
        {
            var job = new Job(write);
            lock (_gate)
            {
                _job = job;
                Monitor.Pulse(_gate);
            }

            return job;
        }

        public void Abandon() => _abandoned = true;

        private void Loop()
        {
            while (!_abandoned)
            {
                Job job;
                lock (_gate)
                {
                    while (_job is null)
                    {
                        Monitor.Wait(_gate);
                    }

                    job = _job;
                    _job = null;
                }

                job.Execute();
            }
        }
    }
}
