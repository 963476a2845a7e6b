using ManualVsAuto.Checking;
using ManualVsAuto.Data;
using static TorchSharp.torch;
var words = NamesFile.Load("/work/shared/data/names.txt");
var split = Dataset.Split(words);
Console.WriteLine($"{string.Join(",", split.ShuffledWords.Take(5))} {split.Train.Count} {split.Dev.Count} {split.Test.Count}");
var r = LectureCheck.Run(split.Train, new CheckSettings());
Console.WriteLine($"loss {r.Loss}");
foreach (var row in r.Rows) Console.WriteLine($"{row.Name,-15} {row.ShapeText,-10} {row.Exact} {row.Approximate} {row.MaxDiff}");
