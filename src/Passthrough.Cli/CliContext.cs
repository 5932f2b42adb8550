using Passthrough.Adapters.Processes;
using Spectre.Console;

namespace Passthrough.Cli;

/// <summary>
/// What a verb needs from the outside world, passed in so every entry point runs in-process in
/// tests with captured output, a private root and a recording process runner.
/// </summary>
public sealed class CliContext
{
    private IAnsiConsole? _console;
    private readonly Lazy<TextReader> _in;

    public CliContext(TextWriter output, TextWriter error, TextReader? input = null, bool isTerminal = false, IProcessRunner? runner = null, IReadOnlyDictionary<string, string>? environment = null)
        : this(output, error, () => input ?? TextReader.Null, isTerminal, runner, environment)
    {
    }

    private CliContext(TextWriter output, TextWriter error, Func<TextReader> input, bool isTerminal, IProcessRunner? runner, IReadOnlyDictionary<string, string>? environment)
    {
        Out = output;
        Error = error;
        // Console.In sets up the terminal (terminfo, key maps): only the verbs that read input pay for it.
        _in = new Lazy<TextReader>(input);
        IsTerminal = isTerminal;
        Runner = runner ?? ProcessRunner.Instance;
        Environment = environment ?? new Dictionary<string, string>();
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    public TextReader In => _in.Value;

    /// <summary>Standard output is a terminal: tables and colour; otherwise plain text.</summary>
    public bool IsTerminal { get; }

    /// <summary>Standard error is a terminal too: with <see cref="IsTerminal"/>, long steps show a spinner there.</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>Columns of the terminal standard output goes to; null when it is not a terminal
    /// (pipes and files get whole lines).</summary>
    public int? TerminalWidth { get; init; }

    /// <summary>Colour and bold are wanted: a terminal, and no NO_COLOR (https://no-color.org).</summary>
    public bool Colour => IsTerminal && !Environment.ContainsKey("NO_COLOR");

    public IProcessRunner Runner { get; }

    /// <summary>Environment variables the verbs may consult (NO_COLOR, LIBVIRT_DEFAULT_URI, ...).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>Opens the systemd client for the single-GPU swap; null: the system bus (only under --root /).</summary>
    public Func<Passthrough.Adapters.Systemd.ISystemdManager>? Systemd { get; init; }

    /// <summary>Where sysfs writes go; null: the live kernel (only under --root /).</summary>
    public Passthrough.Adapters.Sysfs.IKernelWriter? Kernel { get; init; }

    /// <summary>Spectre console writing to <see cref="Out"/>.</summary>
    public IAnsiConsole Console => _console ??= CreateConsole();

    /// <summary>
    /// Created on first use, in a method of its own: Spectre's set-up (and loading its assembly)
    /// costs verbs that print plain text (list, groups, xml, new) at every start.
    /// </summary>
    private IAnsiConsole CreateConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Out),
            Ansi = Colour ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = Colour ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = IsTerminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!IsTerminal)
        {
            // Redirected output: wide enough that tables never wrap mid-cell in logs and tests.
            console.Profile.Width = 200;
        }

        return console;
    }

    /// <summary>The context of the real process.</summary>
    public static CliContext ForProcess()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value ?? string.Empty;
        }

        var terminal = !System.Console.IsOutputRedirected;
        return new CliContext(System.Console.Out, System.Console.Error, () => System.Console.In, terminal, ProcessRunner.Instance, env)
        {
            TerminalWidth = terminal ? TerminalColumns(env) : null,
            ErrorIsTerminal = !System.Console.IsErrorRedirected,
        };
    }

    /// <summary>COLUMNS when the user set it, else the terminal's own size (TIOCGWINSZ).</summary>
    private static int? TerminalColumns(Dictionary<string, string> env)
    {
        if (env.TryGetValue("COLUMNS", out var text) && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var columns) && columns > 0)
        {
            return columns;
        }

        try
        {
            return System.Console.WindowWidth is > 0 and var width ? width : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
