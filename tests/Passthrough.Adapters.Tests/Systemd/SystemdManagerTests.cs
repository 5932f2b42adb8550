using NUnit.Framework;
using Passthrough.Systemd;

namespace Passthrough.Tests.Systemd;

[NonParallelizable]
public class SystemdManagerTests
{
    private PrivateDbusDaemon _daemon = null!;
    private TestSystemdService _systemd = null!;
    private SystemdManager _manager = null!;

    [SetUp]
    public void StartBus()
    {
        _daemon = new PrivateDbusDaemon();
        _systemd = new TestSystemdService(_daemon.Address);
        _systemd.AddUnit("gdm.service", "active", "display-manager.service");
        _systemd.AddUnit("nvidia-persistenced.service", "inactive");
        _manager = new SystemdManager(_daemon.Address);
    }

    [TearDown]
    public void StopBus()
    {
        _manager.Dispose();
        _systemd.Dispose();
        _daemon.Dispose();
    }

    [Test]
    public async Task I_can_resolve_the_display_manager_alias_to_its_unit()
    {
        Assert.That(await _manager.ResolveUnitAsync("display-manager.service"), Is.EqualTo("gdm.service"));
        Assert.That(await _manager.GetActiveStateAsync("display-manager.service"), Is.EqualTo("active"));
    }

    [Test]
    public async Task I_get_null_for_a_unit_systemd_does_not_have()
    {
        Assert.That(await _manager.ResolveUnitAsync("sddm.service"), Is.Null);
        Assert.That(_systemd.Calls, Does.Contain("LoadUnit sddm.service"), "an unloaded unit is looked up on disk too");
    }

    [Test]
    public async Task I_can_stop_and_start_the_display_manager_and_the_call_waits_for_the_job()
    {
        _systemd.JobDelay = TimeSpan.FromMilliseconds(300);

        var stopped = await _manager.StopUnitAsync("gdm.service", TimeSpan.FromSeconds(10));

        Assert.That(stopped, Is.EqualTo("done"));
        Assert.That(_systemd.ActiveStateOf("gdm.service"), Is.EqualTo("inactive"), "returned only after the job finished");
        Assert.That(await _manager.GetActiveStateAsync("gdm.service"), Is.EqualTo("inactive"));
        Assert.That(_systemd.Calls, Does.Contain("StopUnit gdm.service replace"));

        var started = await _manager.StartUnitAsync("gdm.service", TimeSpan.FromSeconds(10));

        Assert.That(started, Is.EqualTo("done"));
        Assert.That(await _manager.GetActiveStateAsync("gdm.service"), Is.EqualTo("active"));
    }

    [Test]
    public async Task I_get_the_job_result_when_systemd_fails_the_job()
    {
        _systemd.FailJobsOf("gdm.service");

        var result = await _manager.StartUnitAsync("gdm.service", TimeSpan.FromSeconds(10));

        Assert.That(result, Is.EqualTo("failed"));
        Assert.That(await _manager.GetActiveStateAsync("gdm.service"), Is.EqualTo("failed"));
    }

    [Test]
    public void I_get_an_error_naming_the_unit_when_its_job_does_not_finish_in_time()
    {
        _systemd.NeverFinishJobsOf("gdm.service");

        var e = Assert.ThrowsAsync<Passthrough.Errors.PassthroughException>(
            () => _manager.StopUnitAsync("display-manager.service", TimeSpan.FromMilliseconds(700)));

        Assert.That(e!.Message, Does.Contain("display-manager.service").And.Contain("0.7 s"));
        Assert.That(e.Remedy, Does.Contain("systemctl status display-manager.service"));
    }

    [Test]
    public void I_get_the_dbus_error_name_when_the_unit_does_not_exist()
    {
        var e = Assert.ThrowsAsync<DBusException>(() => _manager.StopUnitAsync("nosuch.service", TimeSpan.FromSeconds(5)));

        Assert.That(e!.ErrorName, Is.EqualTo("org.freedesktop.systemd1.NoSuchUnit"));
        Assert.That(e.Message, Does.Contain("nosuch.service").And.Contain("org.freedesktop.systemd1.NoSuchUnit"));
    }

    [Test]
    public async Task I_can_reload_systemd_and_enable_unit_files()
    {
        await _manager.ReloadAsync();
        await _manager.EnableUnitFilesAsync(["passthrough-bind.service", "other.service"]);

        Assert.That(_systemd.Calls, Does.Contain("Reload"));
        Assert.That(_systemd.Calls, Does.Contain("EnableUnitFiles passthrough-bind.service,other.service runtime=False force=True"));
    }

    [Test]
    public void I_get_a_host_error_when_the_bus_is_not_there()
    {
        var e = Assert.Throws<DBusException>(() => new SystemdManager("unix:path=/nonexistent/bus").Dispose());

        Assert.That(e!.Kind, Is.EqualTo(Passthrough.Errors.FailureKind.Environment));
        Assert.That(e.Message, Does.Contain("unix:path=/nonexistent/bus"));
    }
}
