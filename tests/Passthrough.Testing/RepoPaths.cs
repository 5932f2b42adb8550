namespace Passthrough.Testing;

/// <summary>Paths inside the repository, found from the test assembly's location.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Examples => Path.Join(Root, "examples");

    public static string Fixtures => Path.Join(Root, "tests", "fixtures");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Join(dir.FullName, "Passthrough.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Passthrough.sln not found above " + AppContext.BaseDirectory);
    }
}
