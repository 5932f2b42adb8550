namespace Passthrough.Diagnostics;

/// <summary>
/// How bad a finding is, one scale for doctor, `xml lint` and `rom inspect`; the order is the
/// report's order.
/// </summary>
public enum Severity
{
    /// <summary>Passthrough will not work until this is fixed.</summary>
    Error,

    /// <summary>It may not work, or not well (a ROM without an EFI image under OVMF).</summary>
    Warning,

    /// <summary>Worth knowing, or could not tell; nothing to do.</summary>
    Info,

    /// <summary>Checked and fine.</summary>
    Ok,
}

/// <summary>
/// One finding of doctor, `xml lint` or the ROM parser: a stable id scripts and docs refer to
/// (`group-type`, `pcie-on-i440fx`, `no-uefi`; written as `id` in every JSON output), the device or
/// file it is about (a PCI address, a ROM path, or null for the host or the whole document), what was
/// seen (the file, value or log line) and one line of what to do.
/// </summary>
public sealed record Finding(string Id, Severity Severity, string? Subject, string Message, IReadOnlyList<string> Evidence, string? Remedy)
{
    /// <summary>A finding about the whole input (a domain document, a ROM file), with nothing more seen than the message says.</summary>
    public Finding(string id, Severity severity, string message, string? remedy = null)
        : this(id, severity, null, message, [], remedy)
    {
    }

    // No computed properties here: doctor --json writes this record as it is (id, severity,
    // subject, message, evidence, remedy is the contract).
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
