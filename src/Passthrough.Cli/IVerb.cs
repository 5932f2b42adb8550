using System.CommandLine;

namespace Passthrough.Cli;

/// <summary>
/// One top-level verb (`list`, `groups`, `xml`, ...). Implementations are found by reflection, so
/// a new verb is one new class and no shared list to edit; the class FooVerb is the verb `foo`
/// (a test holds every verb to that).
/// </summary>
internal interface IVerb
{
    Command Create(CliContext context);
}
