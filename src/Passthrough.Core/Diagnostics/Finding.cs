namespace Passthrough.Diagnostics;

/// <summary>How bad a finding is; the order is the report's order.</summary>
public enum Severity
{
    Error,
    Warning,
    Info,
    Ok,
}

/// <summary>
/// One result of a doctor check: a stable id (`group-type`), the device or thing it is about
/// (a PCI address, or null for the host), what was seen (the file, value or log line) and one
/// line of what to do.
/// </summary>
public sealed record Finding(string Id, Severity Severity, string? Subject, string Message, IReadOnlyList<string> Evidence, string? Remedy)
{
    public static Finding Ok(string id, string? subject, string message, params string[] evidence) =>
        new(id, Severity.Ok, subject, message, evidence, null);
}

/// <summary>The findings of one doctor run, in report order (severity, then check order).</summary>
public sealed record DoctorReport(IReadOnlyList<Finding> Findings)
{
    public bool HasErrors => Findings.Any(f => f.Severity == Severity.Error);

    public IEnumerable<Finding> WithId(string id) => Findings.Where(f => f.Id == id);

    public static DoctorReport From(IEnumerable<Finding> findings) =>
        new([.. findings.Select((f, i) => (f, i)).OrderBy(p => p.f.Severity).ThenBy(p => p.i).Select(p => p.f)]);
}
