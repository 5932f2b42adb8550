namespace Passthrough.Adapters;

/// <summary>
/// Shows a long step while it runs (an initramfs rebuild, waiting for a unit to stop). The CLI shows a
/// spinner on a terminal; everything else (--json, pipes, the hook, tests) passes <see cref="StepProgress.None"/>.
/// </summary>
public interface IStepProgress
{
    /// <summary>Runs <paramref name="work"/>, showing <paramref name="step"/> ("Rebuilding the initramfs (dracut)") meanwhile.</summary>
    Task<T> RunAsync<T>(string step, Func<Task<T>> work);
}

/// <summary>The progress nobody sees.</summary>
public static class StepProgress
{
    public static IStepProgress None { get; } = new Silent();

    private sealed class Silent : IStepProgress
    {
        public Task<T> RunAsync<T>(string step, Func<Task<T>> work) => work();
    }
}
