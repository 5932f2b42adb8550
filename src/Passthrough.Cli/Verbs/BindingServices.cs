using Passthrough.Adapters;
using Passthrough.Adapters.Binding;
using Passthrough.Adapters.Sysfs;
using Passthrough.Adapters.Systemd;
using Passthrough.Binding;
using Passthrough.Errors;

namespace Passthrough.Cli.Verbs;

/// <summary>
/// Builds the binding engine for a verb: the live kernel and system bus under --root /, what the context
/// injects otherwise; --system-bus ADDRESS names the bus systemd is reached at under any root.
/// </summary>
internal static class BindingServices
{
    public static BindingEngine Engine(CliContext context, HostRoot root, string? systemBus, BindingTimeouts? timeouts = null, IStepProgress? progress = null)
    {
        timeouts ??= BindingTimeouts.Default;
        var kernel = context.Kernel ?? (root.IsLiveSystem ? LiveKernelWriter.Instance : new TreeWithoutKernel(root));
        Func<ISystemdManager> systemd = context.Systemd ?? (systemBus is not null
            ? () => new SystemdManager(systemBus)
            : root.IsLiveSystem
            ? SystemdManager.ConnectSystem
            : () => throw PassthroughException.Host(
                $"Refusing to stop or start units of this machine while --root is {root}.",
                "The single-GPU swap only runs on the live system (--root /)."));
        var binder = new SysfsDriverBinder(root, kernel, context.Runner, timeouts.SysfsWrite);
        return new BindingEngine(root, new SysfsHostReader(root, names: false), binder, systemd) { Timeouts = timeouts, Progress = progress ?? StepProgress.None };
    }

    /// <summary>
    /// --check of bind, unbind and restore: when the real run would change bindings under a root that has no kernel
    /// behind it (a fixture or captured tree, nothing injected), it fails as that run would.
    /// </summary>
    public static void ForeseeKernel(CliContext context, HostRoot root)
    {
        if (context.Kernel is null && !root.IsLiveSystem)
        {
            new TreeWithoutKernel(root).Write("/sys", string.Empty);
        }
    }

    /// <summary>A captured or fixture tree has no kernel to give writes their meaning: refuse them clearly.</summary>
    private sealed class TreeWithoutKernel(HostRoot root) : IKernelWriter
    {
        public void Write(string path, string value) =>
            throw PassthroughException.Host(
                $"Cannot change driver bindings under --root {root}: a directory tree has no kernel behind it.",
                "Run bind, unbind, restore and the hook on the live system (--root /).");
    }
}
