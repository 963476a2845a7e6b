return ManualVsAuto.Cli.App.Run(args);
