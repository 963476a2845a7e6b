ManualVsAuto.Cli.StandardStreams.Install();
return ManualVsAuto.Cli.App.Run(args);
