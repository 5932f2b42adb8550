using System.Diagnostics;

namespace Passthrough.Testing;

/// <summary>
/// A private dbus-daemon on a unix socket in a temp directory, with a policy that allows everything
/// (so a test service may own org.freedesktop.systemd1). Killed on dispose.
/// </summary>
public sealed class PrivateDbusDaemon : IDisposable
{
    private readonly TempDirectory _directory = new("passthrough-dbus");
    private readonly Process _process;

    public PrivateDbusDaemon()
    {
        var socket = _directory.Combine("bus");
        var config = _directory.Combine("bus.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:path={socket}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
              </policy>
            </busconfig>
            """);
        RealPart.RequireProgram("/usr/bin/dbus-daemon", "dbus");

        var info = new ProcessStartInfo("/usr/bin/dbus-daemon")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--print-address", "--nofork", "--config-file=" + config })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        var line = _process.StandardOutput.ReadLine();
        if (string.IsNullOrWhiteSpace(line))
        {
            var error = _process.StandardError.ReadToEnd();
            _process.Dispose();
            throw new InvalidOperationException("dbus-daemon did not start: " + error);
        }

        Address = line.Trim();
    }

    /// <summary>The bus address dbus-daemon printed (unix:path=...,guid=...).</summary>
    public string Address { get; }

    public void Dispose()
    {
        try
        {
            _process.Kill();
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        _directory.Dispose();
    }
}
