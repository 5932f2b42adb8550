using System.Text.Json.Serialization;
using Passthrough.Boot;
using Passthrough.Diagnostics;
using Passthrough.Setup;

namespace Passthrough.Cli.Rendering;

// The --json shapes of the verbs, as named types so their serializers are generated at build time (the
// native binary has no reflection). Each is a contract other tools read: properties are written in
// declaration order, camelCase, so a change here is a change of the contract (the verbs' JSON tests).

/// <summary>`status --json`.</summary>
internal sealed record StatusJson(IReadOnlyList<VmStatusJson> Vms, IReadOnlyList<string> VfioOutsidePassthrough, bool Healthy);

/// <summary>One journal in `status --json`.</summary>
internal sealed record VmStatusJson(string Owner, string OwnerKind, string Id, string Mode, string State, DateTimeOffset Started, IReadOnlyList<DeviceStatusJson> Devices, IReadOnlyList<string> Released);

/// <summary>One function of a journal in `status --json`.</summary>
internal sealed record DeviceStatusJson(string Address, string Expected, string? Current, string? HostDriver, bool Ok);

/// <summary>`doctor --json`.</summary>
internal sealed record DoctorJson(IReadOnlyList<Finding> Findings);

/// <summary>`explain --json`.</summary>
internal sealed record ExplainJson(IReadOnlyList<ErrorExplanation> Explanations);

/// <summary>`snapshot diff --json`.</summary>
internal sealed record SnapshotChangesJson(IReadOnlyList<string> Changes);

/// <summary>`xml lint --json`.</summary>
internal sealed record LintJson(IEnumerable<LintFindingJson> Findings);

/// <summary>One finding in `xml lint --json`.</summary>
internal sealed record LintFindingJson(string Id, Severity Severity, string Message, string? Remedy);

/// <summary>`hooks status --json`.</summary>
internal sealed record HookStatusJson(
    string Path,
    bool Installed,
    bool Executable,
    bool Current,
    string? Binary,
    bool BinaryRuns,
    DateTime? Modified,
    HookDaemonJson Daemon,
    bool? Noticed,
    string Restart,
    bool LegacyQemuHook,
    HookSelinuxJson Selinux,
    bool Ok);

/// <summary>The libvirt daemon in `hooks status --json`.</summary>
internal sealed record HookDaemonJson(string Name, bool Running, int? Pid, DateTime? Started);

/// <summary>SELinux in `hooks status --json`.</summary>
internal sealed record HookSelinuxJson(bool Enabled, IEnumerable<SelinuxLabelJson> Labels, IReadOnlyList<Finding> Findings);

/// <summary>One label in `hooks status --json`.</summary>
internal sealed record SelinuxLabelJson(string Path, string? Context, bool Ok);

/// <summary>`rom inspect --json`.</summary>
internal sealed record RomJson(string File, int Size, int HeaderBytes, IEnumerable<RomImageJson> Images, bool UefiCapable, IEnumerable<RomFindingJson> Findings);

/// <summary>One image of a ROM in `rom inspect --json`.</summary>
internal sealed record RomImageJson(int Offset, int CodeType, string VendorId, string DeviceId, string ClassCode, int Length, bool Last, bool? ChecksumOk, int CodeRevision, RomEfiJson? Efi);

/// <summary>An EFI image's header in `rom inspect --json` (null for other images); machineType in hex like vendorId.</summary>
internal sealed record RomEfiJson(int Subsystem, string MachineType, bool Compressed);

/// <summary>One finding in `rom inspect --json`.</summary>
internal sealed record RomFindingJson(string Id, Severity Severity, string Message, string? Remedy);

/// <summary>`setup plan --json`.</summary>
internal sealed record SetupPlanJson(
    string Mode,
    SetupBootloaderJson Bootloader,
    SetupInitramfsJson Initramfs,
    IReadOnlyList<string> Devices,
    IReadOnlyList<string> ArgumentsAdded,
    IReadOnlyList<string> ArgumentsRemoved,
    IEnumerable<SetupEditJson> Edits,
    IEnumerable<SetupCommandJson> Commands,
    SetupSystemdJson Systemd,
    bool RebootNeeded,
    IReadOnlyList<FlaggedArgument> Flagged,
    IReadOnlyList<string> Notes,
    bool Empty);

/// <summary>The bootloader in `setup plan --json`.</summary>
internal sealed record SetupBootloaderJson(
    Bootloader Name,
    string? ArgsFile,
    IReadOnlyList<string> ArgsFiles,
    IReadOnlyList<string> Evidence,
    IReadOnlyList<string> Ignored,
    Bootloader? ManagedLoader,
    UkiBuilder? UkiBuilder,
    IReadOnlyList<string> UnifiedKernelImages);

/// <summary>The initramfs generator in `setup plan --json`.</summary>
internal sealed record SetupInitramfsJson(InitramfsGenerator Generator, IReadOnlyList<string> Evidence);

/// <summary>One file edit in `setup plan --json`.</summary>
internal sealed record SetupEditJson(string Path, string Reason, bool IsNew, string? BeforeSha256, string AfterSha256, string Diff);

/// <summary>One command in `setup plan --json`.</summary>
internal sealed record SetupCommandJson(string Program, IReadOnlyList<string> Arguments, string Display, string Reason);

/// <summary>The systemd steps in `setup plan --json`.</summary>
internal sealed record SetupSystemdJson(bool DaemonReload, IReadOnlyList<string> Enable);

/// <summary>Serializers for every --json shape and the snapshot file, generated at build time.</summary>
[JsonSerializable(typeof(StatusJson))]
[JsonSerializable(typeof(DoctorJson))]
[JsonSerializable(typeof(ExplainJson))]
[JsonSerializable(typeof(SnapshotChangesJson))]
[JsonSerializable(typeof(HostSnapshot))]
[JsonSerializable(typeof(LintJson))]
[JsonSerializable(typeof(HookStatusJson))]
[JsonSerializable(typeof(RomJson))]
[JsonSerializable(typeof(SetupPlanJson))]
[JsonSerializable(typeof(ChangeReportJson))]
[JsonSerializable(typeof(SetupChangeJson))]
[JsonSerializable(typeof(HooksChangeJson))]
[JsonSerializable(typeof(BindingChangeJson))]
[JsonSerializable(typeof(RestoreChangeJson))]
[JsonSerializable(typeof(RomInstallJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
