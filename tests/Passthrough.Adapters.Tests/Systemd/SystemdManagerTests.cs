using NUnit.Framework;
using Passthrough.Adapters.Systemd;
using Passthrough.Errors;
using Passthrough.Testing;

namespace Passthrough.Tests.Systemd;

[NonParallelizable]
public class SystemdManagerTests
{
    private PrivateDbusDaemon _daemon = null!;
    private SystemdServiceFake _systemd = null!;
    private SystemdManager _manager = null!;

    [SetUp]
    public async Task StartBus()
    {
        _daemon = new PrivateDbusDaemon();
        _systemd = await SystemdServiceFake.StartAsync(_daemon.Address);
        _systemd.AddUnit("gdm.service", "active", "display-manager.service");
        _systemd.AddUnit("nvidia-persistenced.service", "active");
        _manager = new SystemdManager(_daemon.Address);
    }

    [TearDown]
    public void StopBus()
    {
        _manager?.Dispose();
        _systemd?.Dispose();
        _daemon?.Dispose();
    }

    [Test]
    public async Task I_can_resolve_the_display_manager_alias_to_its_unit()
    {
        Assert.That(await _manager.ResolveUnitAsync("display-manager.service"), Is.EqualTo("gdm.service"));
        Assert.That(await _manager.GetActiveStateAsync("display-manager.service"), Is.EqualTo("active"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task I_get_the_state_of_several_units_in_one_question_aliases_followed_and_missing_ones_null(bool olderSystemd)
    {
        _systemd.ListUnitsByNamesUnknown = olderSystemd;

        var states = await _manager.GetUnitStatesAsync(["display-manager.service", "sddm.service", "nvidia-persistenced.service"]);

        Assert.That(states, Is.EqualTo(new UnitState?[] { new("gdm.service", "active"), null, new("nvidia-persistenced.service", "active") }));
        Assert.That(_systemd.Calls.Count(c => c.StartsWith("ListUnitsByNames", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(_systemd.Calls.Any(c => c.StartsWith("GetUnit", StringComparison.Ordinal)), Is.EqualTo(olderSystemd), olderSystemd ? "one unit at a time when systemd lacks the method" : "one round trip");
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
    public async Task I_can_stop_two_units_at_once_and_each_call_waits_for_its_own_job()
    {
        _systemd.JobDelay = TimeSpan.FromMilliseconds(200);
        _systemd.FailJobsOf("nvidia-persistenced.service");

        var results = await Task.WhenAll(
            _manager.StopUnitAsync("gdm.service", TimeSpan.FromSeconds(10)),
            _manager.StopUnitAsync("nvidia-persistenced.service", TimeSpan.FromSeconds(10)));

        Assert.That(results, Is.EqualTo(new[] { "done", "failed" }));
    }

    [Test]
    public async Task I_get_the_job_result_even_when_systemd_signals_it_before_replying()
    {
        _systemd.FinishJobsBeforeReplying = true;

        var result = await _manager.StopUnitAsync("gdm.service", TimeSpan.FromSeconds(5));

        Assert.That(result, Is.EqualTo("done"));
        Assert.That(_systemd.ActiveStateOf("gdm.service"), Is.EqualTo("inactive"));
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
    public void I_get_an_error_naming_the_unit_and_the_limit_when_its_job_does_not_finish_in_time()
    {
        _systemd.NeverFinishJobsOf("gdm.service");

        var e = Assert.ThrowsAsync<PassthroughException>(
            () => _manager.StopUnitAsync("display-manager.service", TimeSpan.FromMilliseconds(700)));

        Assert.That(e!.Message, Does.StartWith("systemd did not finish stopping display-manager.service within 0.7 s (job /org/freedesktop/systemd1/job/"));
        Assert.That(e.Kind, Is.EqualTo(FailureKind.Failed));
        Assert.That(e.Remedy, Does.Contain("systemctl status display-manager.service"));
    }

    [Test]
    public async Task I_can_cancel_while_the_call_waits_for_a_job_and_keep_using_the_client()
    {
        _systemd.NeverFinishJobsOf("gdm.service");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        Assert.That(
            async () => await _manager.StopUnitAsync("gdm.service", TimeSpan.FromMinutes(5), cancel.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(_systemd.Calls, Does.Contain("StopUnit gdm.service replace"));
        Assert.That(await _manager.GetActiveStateAsync("gdm.service"), Is.EqualTo("deactivating"));
        Assert.That(await _manager.StopUnitAsync("nvidia-persistenced.service", TimeSpan.FromSeconds(10)), Is.EqualTo("done"));
    }

    [Test]
    public void A_cancelled_call_does_not_reach_systemd()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.That(
            async () => await _manager.StopUnitAsync("gdm.service", TimeSpan.FromSeconds(10), cancel.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(_systemd.Calls, Has.None.StartsWith("StopUnit"));
        Assert.That(_systemd.ActiveStateOf("gdm.service"), Is.EqualTo("active"));
    }

    [Test]
    public void I_get_the_dbus_error_name_when_the_unit_does_not_exist()
    {
        var e = Assert.ThrowsAsync<DBusException>(() => _manager.StopUnitAsync("nosuch.service", TimeSpan.FromSeconds(5)));

        Assert.That(e!.ErrorName, Is.EqualTo("org.freedesktop.systemd1.NoSuchUnit"));
        Assert.That(e.Message, Does.Contain("nosuch.service").And.Contain("org.freedesktop.systemd1.NoSuchUnit"));
        Assert.That(e.Remedy, Does.Contain("systemctl list-units"));
    }

    [Test]
    public void I_am_told_to_run_as_root_when_systemd_refuses_to_stop_a_unit()
    {
        _systemd.RefuseJobsOf("gdm.service");

        var e = Assert.ThrowsAsync<DBusException>(() => _manager.StopUnitAsync("gdm.service", TimeSpan.FromSeconds(5)));

        Assert.That(e!.ErrorName, Is.EqualTo("org.freedesktop.DBus.Error.AccessDenied"));
        Assert.That(e.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(e.Message, Does.Contain("StopUnit(gdm.service)").And.Contain("Access denied"));
        Assert.That(e.Remedy, Is.EqualTo("Run it as root (sudo)."));
        Assert.That(_systemd.ActiveStateOf("gdm.service"), Is.EqualTo("active"));
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

        Assert.That(e!.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(e.Message, Does.Contain("unix:path=/nonexistent/bus"));
        Assert.That(e.Remedy, Does.Contain("D-Bus daemon"));
    }

    [Test]
    public void I_get_a_host_error_when_systemd_is_not_on_the_bus()
    {
        _systemd.Dispose();

        var e = Assert.ThrowsAsync<DBusException>(() => _manager.GetActiveStateAsync("gdm.service"));

        Assert.That(e!.ErrorName, Is.EqualTo("org.freedesktop.DBus.Error.ServiceUnknown"));
        Assert.That(e.Kind, Is.EqualTo(FailureKind.Environment));
        Assert.That(e.Remedy, Does.Contain("systemd host"));
    }
}
