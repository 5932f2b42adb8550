using Passthrough.Cli;

return await PassthroughCli.RunAsync(args, CliContext.ForProcess()).ConfigureAwait(false);
