/**
 * Trains wax's small convnet classifier on MNIST (or Fashion-MNIST) and reports its test
 * accuracy. A complete run saves the classifier where the metrics (`MnistMetrics`) look for it,
 * so the generative examples can score their samples with it.
 *
 * Run: `deno run -A examples/classifier.ts [--epochs 3] [--batch 64] [--lr 0.002] [--resume]`
 * @module
 */
import {
  classifierPath,
  type ExampleSpec,
  formatDuration,
  runExample,
  saveClassifier,
  trainClassifier,
} from "../models/mod.ts";

const spec: ExampleSpec = {
  name: "classifier",
  summary: "Trains the convnet that wax's metrics use to judge generated digits, and reports its test accuracy.\n" +
    "A complete run saves it where the metrics find it (the classifier/ folder of the wax cache).",
  defaults: { epochs: 3, batch: 64, lr: 2e-3, every: 500 },
  extra: { dataset: { type: "string", default: "mnist", choices: ["mnist", "fashion"], help: "the data set" } },
};

await runExample(spec, async (flags) => {
  const dataset = flags.extra.dataset === "fashion" ? "fashion" : "mnist";
  const t = await trainClassifier({ ...flags, dataset });
  const config = t.classifier.config;
  let saved = "not saved for the metrics: the run stopped before the end of its epochs";
  if (t.complete) {
    const path = classifierPath(dataset);
    await saveClassifier(path, { config, params: t.params, accuracy: t.accuracy, dataset });
    saved = `saved for the metrics to ${path}`;
  }
  const resumed = t.start ? ` (resumed at step ${t.start})` : "";
  console.log(
    `classifier: test accuracy ${(100 * t.accuracy).toFixed(2)}% on ${dataset} after ${t.steps} steps${resumed} ` +
      `in ${formatDuration(t.seconds)}; ${saved}; checkpoints in ${flags.out}`,
  );
});
