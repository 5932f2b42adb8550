using System.CommandLine;

namespace Passthrough.Cli;

/// <summary>The options every mutating verb shares: --json (see ChangeReportJson) and --check.</summary>
internal static class ChangeOptions
{
    /// <summary>
    /// --check: a dry run. <paramref name="foreseen"/> says, for the verb's help, which failures of the real run
    /// it still reports (as the same error and exit code) and which it cannot foresee.
    /// </summary>
    public static Option<bool> Check(string foreseen) => new("--check")
    {
        Description = "Change nothing (no file, sysfs write, systemd call, journal or backup); say what would change, with --json as the same JSON. " + foreseen,
    };

    /// <summary>--json on a mutating verb: {"changed","actions","rebootRequired","warnings","diffs",...}.</summary>
    public static Option<bool> Json() => new("--json")
    {
        Description = "Print what changed (or with --check, would) as JSON: changed, actions, rebootRequired, warnings, diffs, then the verb's own fields.",
    };
}
