using NUnit.Framework;

// Most tests only start child processes in private temp directories: run fixtures side by side.
// Tests that share state say so ([NonParallelizable]).
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(4)]
