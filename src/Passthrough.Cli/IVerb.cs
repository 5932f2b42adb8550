using System.CommandLine;

namespace Passthrough.Cli;

/// <summary>
/// One top-level verb (`list`, `groups`, `xml`, ...). A new verb is one new class FooVerb for the verb
/// `foo` and one line in <see cref="PassthroughCli.Verbs"/> (a test fails when a class is missing there).
/// </summary>
internal interface IVerb
{
    Command Create(CliContext context);
}
