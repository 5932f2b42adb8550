using System.Text.Json;
using NUnit.Framework;
using Passthrough.Adapters.Hooks;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Packaging;

/// <summary>
/// The .deb as a user meets it: `make deb` built it (make test does), `apt-get install ./...deb`
/// installs it on this machine, the installed program works (version, list, doctor, hooks on a temp
/// root, its man page, bash completion), and `apt-get purge` takes every file of it away again.
/// The tests run in order against one installation.
/// </summary>
[Category("packaging")]
[NonParallelizable]
// apt-get on a loaded CI machine takes tens of seconds: a larger limit than the 60 s default in
// tests/test.runsettings. [Timeout] is marked obsolete because .NET cannot abort the thread; NUnit
// still fails the test at the limit and goes on, which is all we ask.
#pragma warning disable CS0618
[Timeout(300_000)]
#pragma warning restore CS0618
public class DebPackageTests : MachineChangingFixture
{
    private const string Installed = "/usr/bin/passthrough";
    private const string ShippedHook = "/usr/share/passthrough/hooks/qemu.d/50-passthrough";
    private static readonly ProcessOptions Apt = new()
    {
        Timeout = TimeSpan.FromMinutes(4),
        Environment = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" },
    };

    private string _version = null!;
    private bool _installedByUs;
    private TempDirectory _work = null!;

    protected override string Changes => "the installed Debian packages (passthrough) and /usr";

    [OneTimeSetUp]
    public async Task InstallTheDeb()
    {
        RealPart.RequireRoot("Installing the .deb with apt-get");
        RealPart.RequireProgram("/usr/bin/apt-get", "apt");
        _version = (await Run(Path.Join(RepoPaths.Root, "src", "packaging", "version"))).Stdout.Trim();
        var deb = Path.Join(RepoPaths.Root, "artifacts", $"passthrough_{_version}_amd64.deb");
        RealPart.Require(File.Exists(deb), $"{deb} is not built", "run `make deb` (make test does)");

        var before = await Runner.RunAsync("dpkg-query", ["-W", "-f=${Status}", "passthrough"]);
        Assert.That(before.Stdout, Does.Not.Contain("ok installed"),
            "passthrough is already installed as a package and this test would remove it: `apt-get purge passthrough` first");

        _work = new TempDirectory("passthrough-deb");
        var install = await Runner.RunAsync("apt-get", ["install", "-y", "-q", deb], Apt);
        _installedByUs = true;
        Assert.That(install.Succeeded, Is.True, install.Stdout + install.Stderr);
    }

    [OneTimeTearDown]
    public async Task PurgeWhatIsLeft()
    {
        // Only when a test stopped before the purge test ran (a filtered or failed run).
        if (_installedByUs && File.Exists(Installed))
        {
            await Runner.RunAsync("apt-get", ["purge", "-y", "-q", "passthrough"], Apt);
        }

        _work?.Dispose();
    }

    [Test]
    [Order(1)]
    public async Task I_see_the_packaged_version_in_passthrough_version()
    {
        var packaged = await Run("dpkg-query", "-W", "-f=${Version}", "passthrough");
        var shown = await Run(Installed, "--version");

        Assert.That(packaged.Stdout, Is.EqualTo(_version), "the package carries Directory.Build.props' version");
        Assert.That(shown.Stdout.Trim(), Is.EqualTo(_version));
    }

    [Test]
    [Order(2)]
    public async Task I_can_list_and_doctor_a_fixture_host_with_the_installed_program_as_the_library_does()
    {
        var root = _work.Combine("seed-003");
        await Run(Installed, "capture", "expand", Path.Join(RepoPaths.Fixtures, "hosts", "seed-003-fedora-rx7900xtx.host"), root);

        var list = await Run(Installed, "--root", root, "list", "--json");
        Assert.That(list.Stdout, Is.EqualTo(CliRun.Run("--root", root, "list", "--json").Stdout), "the native binary lists what the library lists");
        Assert.That(list.Stdout, Does.Contain("\"0000:03:00\""));

        var doctor = await Runner.RunAsync(Installed, ["--root", root, "doctor", "--json"]);
        var inProcess = CliRun.Run("--root", root, "doctor", "--json");
        Assert.That(doctor.ExitCode, Is.EqualTo(inProcess.ExitCode), doctor.Stderr);
        Assert.That(FindingIds(doctor.Stdout), Is.EqualTo(FindingIds(inProcess.Stdout)).And.Not.Empty);
    }

    [Test]
    [Order(3)]
    public async Task I_can_install_check_and_remove_the_hook_from_the_package_in_a_temp_root()
    {
        var root = _work.Combine("hooks-root");
        Directory.CreateDirectory(Path.Join(root, "etc", "libvirt"));
        Directory.CreateDirectory(Path.Join(root, "usr", "bin"));
        File.CreateSymbolicLink(Path.Join(root, "usr", "bin", "passthrough"), Installed); // what the hook runs, seen from the root
        var hook = Path.Join(root, "etc", "libvirt", "hooks", "qemu.d", HookScript.FileName);

        var install = await Run(Installed, "--root", root, "hooks", "install", "--binary", Installed);
        Assert.That(install.Stdout, Does.Contain("Installed the libvirt hook"));
        Assert.That(File.ReadAllText(hook), Is.EqualTo(HookScript.Render(Installed)), "the hook runs /usr/bin/passthrough");
        Assert.That(File.ReadAllText(ShippedHook), Is.EqualTo(HookScript.Template), "the shipped data is the script the program installs");

        var status = await Run(Installed, "--root", root, "hooks", "status");
        Assert.That(status.Stdout, Does.Contain("Up to date: yes.").And.Contain($"Runs: {Installed}."));

        var uninstall = await Run(Installed, "--root", root, "hooks", "uninstall");
        Assert.That(File.Exists(hook), Is.False, uninstall.Stdout);
    }

    [Test]
    [Order(4)]
    public async Task I_can_read_man_passthrough()
    {
        RealPart.RequireProgram("/usr/bin/man", "man-db");
        var where = await Run("man", "-w", "passthrough");
        var page = await Run("man", "-P", "cat", "passthrough");

        Assert.That(where.Stdout.Trim(), Is.EqualTo("/usr/share/man/man1/passthrough.1.gz"));
        Assert.That(page.Stdout, Does.Contain("NAME").And.Contain("passthrough"));
    }

    [Test]
    [Order(5)]
    public async Task I_get_bash_completion_for_passthrough()
    {
        var complete = await Run("bash", "-c", "source /usr/share/bash-completion/completions/passthrough && complete -p passthrough");

        Assert.That(complete.Stdout, Does.StartWith("complete ").And.Contain(" passthrough"));
    }

    [Test]
    [Order(6)]
    public async Task Installing_the_package_changed_nothing_libvirt_runs()
    {
        var files = await PackageFiles();

        Assert.That(files.Where(f => f.StartsWith("/etc/", StringComparison.Ordinal)), Is.Empty, "no file under /etc: `passthrough hooks install` puts the hook in place");
        Assert.That(File.Exists("/etc/libvirt/hooks/qemu.d/" + HookScript.FileName) && HookScript.IsOurs(File.ReadAllText("/etc/libvirt/hooks/qemu.d/" + HookScript.FileName)), Is.False);
        Assert.That(File.GetUnixFileMode(ShippedHook) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute), Is.EqualTo(UnixFileMode.None), "the shipped hook is data");
    }

    [Test]
    [Order(99)]
    public async Task I_can_purge_the_package_and_nothing_of_it_is_left()
    {
        var files = await PackageFiles();
        Assume.That(files, Does.Contain(Installed));
        var directories = files.Where(Directory.Exists).ToHashSet(StringComparer.Ordinal);

        var purge = await Runner.RunAsync("apt-get", ["purge", "-y", "-q", "passthrough"], Apt);
        Assert.That(purge.Succeeded, Is.True, purge.Stdout + purge.Stderr);

        var status = await Runner.RunAsync("dpkg-query", ["-W", "-f=${Status}", "passthrough"]);
        Assert.That(status.Stdout, Does.Not.Contain("ok installed").And.Not.Contain("config-files"), "dpkg keeps nothing of the package");
        var left = new List<string>();
        foreach (var path in files)
        {
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                continue;
            }

            // A shared directory (/usr/bin, /usr/share/man/man1) stays when another package owns it.
            var owner = directories.Contains(path) ? await Runner.RunAsync("dpkg-query", ["-S", path]) : null;
            if (owner is null || !owner.Succeeded)
            {
                left.Add(path);
            }
        }

        Assert.That(left, Is.Empty, "left behind after apt-get purge");
    }

    private static ProcessRunner Runner => ProcessRunner.Instance;

    private static async Task<ProcessResult> Run(string program, params string[] arguments)
    {
        var result = await Runner.RunAsync(program, arguments);
        Assert.That(result.Succeeded, Is.True, $"{result.Command}: exit {result.ExitCode}\n{result.Stdout}{result.Stderr}");
        return result;
    }

    private static async Task<List<string>> PackageFiles() =>
        (await Run("dpkg", "-L", "passthrough")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.StartsWith('/') && p != "/.")
            .ToList();

    private static List<string> FindingIds(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("findings").EnumerateArray()
            .Select(f => f.GetProperty("id").GetString() + " " + f.GetProperty("severity").GetString())
            .Order(StringComparer.Ordinal)
            .ToList();
    }
}
