/**
 * Trains an autoencoder on MNIST (pixels in [0, 1]) and shows what the course uses it for:
 * - plain: reconstructions of test digits through a 32-number code, and the test MSE;
 * - `--noise gaussian:0.5` or `--noise mask:0.5`: a denoising autoencoder (rows clean / noisy /
 *   denoised, and the MSE to the clean images before and after);
 * - `--code 2`: dimensionality reduction, a scatter plot of the test set's 2-d codes by digit;
 * - `--holdout D`: anomaly detection, trained without digit D, test images scored by their
 *   reconstruction error; the ROC curve and the AUROC of D against the rest. A narrow code
 *   (`--code 8`) reconstructs the unseen digit worse, which sharpens the contrast.
 *
 * Run: `deno run -A examples/autoencoder.ts [--arch conv|dense] [--code 32] [--noise gaussian:0.5] [--holdout 2]`
 * @module
 */
import { join } from "node:path";
import { type Array, np, random } from "../mod.ts";
import {
  addNoise,
  type AeArch,
  auroc,
  batches,
  batchesPerEpoch,
  batchStream,
  type Canvas,
  CheckpointManager,
  codePlot,
  type Dataset,
  type ExampleSpec,
  firstOfEachLabel,
  FlagError,
  formatDuration,
  imageRows,
  loadMnist,
  makeAutoencoder,
  type Noise,
  parseNoise,
  pickImages,
  rocCurve,
  rocPlot,
  type RunConfig,
  runExample,
  savePng,
  totalSteps,
  TrainLog,
} from "../models/mod.ts";

const spec: ExampleSpec = {
  name: "autoencoder",
  summary:
    "Trains an autoencoder on MNIST: reconstructions, denoising (--noise), a 2-d map of the digits (--code 2)\n" +
    "and anomaly detection of a digit left out of training (--holdout D). Writes PNGs, losses.csv and checkpoints.",
  defaults: { epochs: 2, batch: 64, lr: 2e-3, every: 1000 },
  extra: {
    arch: { type: "string", default: "conv", choices: ["conv", "dense"], help: "the architecture" },
    code: { type: "string", default: "32", arg: "N", help: "size of the code" },
    noise: {
      type: "string",
      arg: "gaussian:S|mask:P",
      help: "train to denoise: Gaussian noise of std S, or mask pixels with probability P",
    },
    holdout: { type: "string", arg: "D", help: "train without digit D, then detect it by reconstruction error" },
  },
};

/** The images whose label is not `digit`. */
function without(data: Dataset, digit: number): Dataset {
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  const keep = [...data.labels.keys()].filter((i) => data.labels[i] !== digit);
  const images = new Float32Array(keep.length * per);
  keep.forEach((i, j) => images.set(data.images.subarray(i * per, (i + 1) * per), j * per));
  return { ...data, images, labels: Int32Array.from(keep, (i) => data.labels[i]), size: keep.length };
}

function parseExtra(extra: Record<string, string | boolean | undefined>) {
  const code = Number(extra.code);
  if (!(Number.isInteger(code) && code >= 1 && code <= 784)) {
    throw new FlagError(`--code must be an integer from 1 to 784, got ${JSON.stringify(extra.code)}`);
  }
  let noise: Noise | null = null;
  if (typeof extra.noise === "string") {
    try {
      noise = parseNoise(extra.noise);
    } catch {
      throw new FlagError(
        `--noise must be gaussian:S (S > 0) or mask:P (0 < P < 1), got ${JSON.stringify(extra.noise)}`,
      );
    }
  }
  const holdout = extra.holdout === undefined ? null : Number(extra.holdout);
  if (holdout !== null && !(Number.isInteger(holdout) && holdout >= 0 && holdout <= 9 && extra.holdout !== "")) {
    throw new FlagError(`--holdout must be a digit from 0 to 9, got ${JSON.stringify(extra.holdout)}`);
  }
  const arch: AeArch = extra.arch === "dense" ? "dense" : "conv";
  return { arch, code, noise, holdout };
}

await runExample(spec, async (flags) => {
  const t0 = performance.now();
  const { arch, code, noise, holdout } = parseExtra(flags.extra);
  const all = await loadMnist({ range: [0, 1] });
  const train = holdout === null ? all : without(all, holdout);
  const test = await loadMnist({ split: "test", range: [0, 1] });
  const per = batchesPerEpoch(train.size, { batchSize: flags.batch });
  const stop = totalSteps(flags, per);
  // The learning rate decays over the epochs asked for; --steps may stop the run earlier.
  const ae = makeAutoencoder({ arch, code, noise, learningRate: flags.lr, decaySteps: (flags.epochs ?? 1) * per });
  const config: RunConfig = {
    model: "autoencoder",
    arch,
    code,
    noise: noise ? `${noise.kind}:${noise.level}` : null,
    holdout,
    batch: flags.batch,
    lr: flags.lr,
    seed: flags.seed,
    epochs: flags.epochs ?? 1,
  };
  const [kInit, kData, kSteps] = random.split(random.key(flags.seed), 3);
  let run = { state: ae.init(kInit) };
  const ckpt = new CheckpointManager(join(flags.out, "checkpoints"));
  let start = 0;
  if (flags.resume) {
    const r = await ckpt.restore(run, config);
    [run, start] = [r.tree, r.step];
  }
  const log = await TrainLog.open({
    out: flags.out,
    names: ["loss", "mse"],
    total: stop,
    start,
    title: "autoencoder: cross-entropy and MSE per pixel",
  });
  const what = holdout === null ? "" : ` (digit ${holdout} left out)`;
  log.log(`MNIST: ${train.size} training images${what}; ${arch} autoencoder, code ${code}; steps ${start}..${stop}`);
  for await (const b of batchStream(train, { batchSize: flags.batch, key: kData, start, steps: stop })) {
    const [state, metrics] = ae.step(run.state, b.x, random.foldIn(kSteps, b.step));
    run = { state };
    const done = b.step + 1;
    await log.step(done, b.epoch, metrics);
    if (done % flags.every === 0 || done === stop) {
      await ckpt.save(done, run, { epoch: b.epoch, config });
      await log.save();
    }
  }
  log.done();
  const params = run.state.params;

  // Test set: codes, reconstruction errors (to the clean images), and the noisy inputs' errors.
  const errors = new Float32Array(test.size);
  const codes = new Float32Array(test.size * code);
  let noisyMse = 0;
  let at = 0;
  for await (const b of batches(test, { batchSize: 500, dropLast: false })) {
    const n = b.y.shape[0];
    const input = noise ? addTestNoise(b.x, noise, at) : b.x;
    errors.set(await ae.errors(params, input, b.x).data(), at);
    codes.set(await ae.encode(params, input).data(), at * code);
    if (noise) noisyMse += await np.square(input.sub(b.x)).sum().item() / (784 * test.size);
    at += n;
  }
  const mse = errors.reduce((s, e) => s + e, 0) / test.size;
  const written: string[] = [];
  const shown = pickImages(test, firstOfEachLabel(test.labels, 12));
  if (noise) {
    const noisy = addTestNoise(shown, noise, 0);
    const canvas = await imageRows([
      { label: "clean", images: shown },
      { label: "noisy", images: noisy },
      { label: "denoised", images: ae.reconstruct(params, noisy) },
    ], { title: `denoising autoencoder: ${noiseName(noise)}` });
    written.push(await saved(join(flags.out, "denoising.png"), canvas));
  } else if (holdout !== null) {
    // The digit it never saw beside the others, each over its reconstruction and its error.
    const unseen = pickImages(test, [...test.labels.keys()].filter((i) => test.labels[i] === holdout).slice(0, 12));
    const others = pickImages(test, [...test.labels.keys()].filter((i) => test.labels[i] !== holdout).slice(0, 12));
    const canvas = await imageRows([
      { label: `unseen ${holdout}`, images: unseen },
      { label: "recon", images: ae.reconstruct(params, unseen) },
      { label: "others", images: others },
      { label: "recon", images: ae.reconstruct(params, others) },
    ], { title: `${arch} autoencoder, code ${code}, trained without the digit ${holdout}` });
    written.push(await saved(join(flags.out, "reconstructions.png"), canvas));
  } else {
    const canvas = await imageRows([
      { label: "test", images: shown },
      { label: `code ${code}`, images: ae.reconstruct(params, shown) },
    ], { title: `${arch} autoencoder: test digits and reconstructions` });
    written.push(await saved(join(flags.out, "reconstructions.png"), canvas));
  }
  if (code === 2) {
    const plot = codePlot(codes, test.labels, { title: `${arch} autoencoder: 2-d codes of the 10,000 test digits` });
    written.push(await saved(join(flags.out, "codes.png"), plot.toCanvas({ width: 720, height: 600 })));
  }
  let summary = `test MSE ${mse.toFixed(4)} per pixel`;
  if (noise) {
    summary = `denoised ${summary} against the noisy input's ${noisyMse.toFixed(4)}: ` +
      `denoising gain ${(noisyMse / mse).toFixed(1)}×`;
  }
  if (holdout !== null) {
    const positive = globalThis.Array.from(test.labels, (l) => l === holdout);
    const area = auroc(errors, positive);
    const { fpr, tpr } = rocCurve(errors, positive);
    const plot = rocPlot([{ label: `digit ${holdout} (AUROC ${area.toFixed(3)})`, fpr, tpr }], {
      title: `digit ${holdout} left out: ROC of the error`,
    });
    written.push(await saved(join(flags.out, `roc_${holdout}.png`), plot.toCanvas({ width: 600, height: 600 })));
    summary += `; AUROC ${area.toFixed(3)} for digit ${holdout} vs the rest`;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `autoencoder: ${arch}, code ${code}, ${stop} steps${start ? ` (resumed at step ${start})` : ""} in ` +
      `${formatDuration(seconds)}; ${summary}; wrote ${written.join(", ")}`,
  );
});

function noiseName(noise: Noise): string {
  return noise.kind === "gaussian"
    ? `Gaussian noise of std ${noise.level}`
    : `${Math.round(noise.level * 100)}% of the pixels masked`;
}

/** Test-time noise from a fixed key per batch position, so every run corrupts the same images the same way. */
function addTestNoise(x: Array, noise: Noise, at: number): Array {
  return addNoise(random.foldIn(random.key(12345), at), x, noise);
}

/** Writes a canvas as an indexed-colour PNG (small files) and returns its path. */
async function saved(path: string, canvas: Canvas): Promise<string> {
  await savePng(path, canvas, { colors: 256 });
  return path;
}
