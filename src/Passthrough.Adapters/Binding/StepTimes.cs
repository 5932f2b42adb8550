using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Passthrough.Adapters.Binding;

/// <summary>
/// How long each part of one prepare or release took, for the log: "a VM takes long to start" is answered from
/// the log line (which step: stopping the display manager, unloading a module, a driver's probe) instead of by
/// guessing. Steps under <see cref="Threshold"/> are summed as "other steps"; nothing is kept once logged.
/// </summary>
public sealed class StepTimes
{
    /// <summary>Parts shorter than this are summed, not named: a run has dozens of sysfs writes of microseconds.</summary>
    public static readonly TimeSpan Threshold = TimeSpan.FromMilliseconds(10);

    private readonly List<(string What, TimeSpan Took)> _parts = [];
    private readonly Stopwatch _total = new();
    private long _lastMark;
    private TimeSpan _small;
    private int _smallCount;

    /// <summary>Starts over (one prepare or release).</summary>
    public void Restart()
    {
        _parts.Clear();
        _small = TimeSpan.Zero;
        _smallCount = 0;
        _total.Restart();
        _lastMark = 0;
    }

    /// <summary>Ends the part that began at the last mark (or at <see cref="Restart"/>): it was <paramref name="what"/>.</summary>
    public void Mark(string what)
    {
        if (!_total.IsRunning)
        {
            Restart();
        }

        var now = _total.ElapsedTicks;
        var took = Stopwatch.GetElapsedTime(0, now - _lastMark);
        _lastMark = now;
        if (took < Threshold)
        {
            _small += took;
            _smallCount++;
            return;
        }

        _parts.Add((what, took));
    }

    /// <summary>"1.234 s: inventory 41 ms, stop display-manager.service 280 ms, 23 other steps 12 ms".</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Seconds(_total.Elapsed)).Append(':');
        var first = true;
        foreach (var (what, took) in _parts)
        {
            text.Append(first ? " " : ", ").Append(what).Append(' ').Append(Milliseconds(took));
            first = false;
        }

        if (_smallCount > 0)
        {
            text.Append(first ? " " : ", ").Append(_smallCount.ToString(CultureInfo.InvariantCulture))
                .Append(_smallCount == 1 ? " other step " : " other steps ").Append(Milliseconds(_small));
        }

        return text.ToString();
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + " s";

    private static string Milliseconds(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";
}
