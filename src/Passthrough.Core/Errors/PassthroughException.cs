namespace Passthrough.Errors;

/// <summary>What went wrong, as the CLI boundary maps it to an exit code.</summary>
public enum FailureKind
{
    /// <summary>A check failed or a step could not be done (exit 1).</summary>
    Failed = 1,

    /// <summary>The command line or an input file is wrong (exit 2).</summary>
    InvalidInput = 2,

    /// <summary>The host is not as needed: permission, missing tool or file, no IOMMU (exit 3).</summary>
    Environment = 3,
}

/// <summary>
/// The one exception base of the library. It carries what failed, where (file, line, device) and
/// what the user can do about it, so the CLI can print one clear line and pick the exit code.
/// </summary>
public class PassthroughException : Exception
{
    public PassthroughException(FailureKind kind, string message, string? remedy = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Remedy = remedy;
    }

    public PassthroughException()
        : this(FailureKind.Failed, "Passthrough failed.")
    {
    }

    public PassthroughException(string message)
        : this(FailureKind.Failed, message)
    {
    }

    public PassthroughException(string message, Exception inner)
        : this(FailureKind.Failed, message, null, inner)
    {
    }

    public FailureKind Kind { get; }

    /// <summary>What the user should do next, or null when the message says it all.</summary>
    public string? Remedy { get; }

    /// <summary>Bad input: a file, an address, an option value.</summary>
    public static PassthroughException Input(string message, string? remedy = null, Exception? inner = null) =>
        new(FailureKind.InvalidInput, message, remedy, inner);

    /// <summary>The host is not in a state we can work with.</summary>
    public static PassthroughException Host(string message, string? remedy = null, Exception? inner = null) =>
        new(FailureKind.Environment, message, remedy, inner);

    /// <summary>A step or check failed.</summary>
    public static PassthroughException Failure(string message, string? remedy = null, Exception? inner = null) =>
        new(FailureKind.Failed, message, remedy, inner);
}
