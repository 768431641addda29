/**
 * Trains a conditional GAN on MNIST: the compact DCGAN with the digit's label fed to both
 * networks (`MNIST_CGAN`), so you choose which digit it draws. Writes to `--out` as it goes:
 * grids of ten fixed latents for every digit (row r is digit r, so each column keeps one
 * style), the loss history and checkpoints that `--resume` continues exactly; stops with a
 * message and a checkpoint when training diverges. At the end: the 10×10 grid (`grid.png`) and
 * the samples' label accuracy, MNIST score and Fréchet distance by wax's classifier.
 * `--digit 7 --count 64` draws 64 sevens from the latest checkpoint (training first if none).
 *
 * Run: `deno run -A examples/cgan.ts [--steps 3000] [--batch 64] [--lr 5e-4] [--decay cosine|none] [--ema 0.999]
 *      [--truncation 1] [--digit 7 --count 64] [--resume]`
 * @module
 */
import { join } from "node:path";
import { type Array as WaxArray, np, random } from "../mod.ts";
import {
  batchesPerEpoch,
  CheckpointManager,
  cpuSeconds,
  type ExampleSpec,
  formatDuration,
  ganFlags,
  ganRunConfig,
  ganSummary,
  loadMnist,
  makeCgan,
  MNIST_CGAN,
  numberFlag,
  readGanFlags,
  runExample,
  saveGrid,
  scoreGan,
  totalSteps,
  trainGan,
} from "../models/mod.ts";

const spec: ExampleSpec = {
  name: "cgan",
  summary: "Trains a conditional GAN on MNIST that draws the digit you ask for; writes a 10×10 grid (row r is\n" +
    "digit r), losses.csv/png, checkpoints and the samples' label accuracy and MNIST score to --out.",
  defaults: { steps: 3000, batch: 64, lr: 5e-4, every: 500 },
  extra: {
    ...ganFlags(MNIST_CGAN),
    labels: {
      type: "string",
      default: MNIST_CGAN.labelInput,
      choices: ["projection", "concat"],
      help: "how D reads the label",
    },
    digit: { type: "string", arg: "D", help: "draw --count samples of digit D from the latest checkpoint" },
    count: { type: "string", default: "64", arg: "N", help: "how many samples --digit draws" },
  },
};

const int32 = (v: number[]) => np.array(v, { dtype: "int32" });
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

await runExample(spec, async (flags) => {
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  const gf = readGanFlags(flags);
  const { width, trunc } = gf;
  const digit = flags.extra.digit === undefined
    ? null
    : numberFlag(flags, "digit", (v) => Number.isInteger(v) && v >= 0 && v <= 9, "a digit 0-9");
  const drawCount = numberFlag(flags, "count", (v) => Number.isInteger(v) && v >= 1, "an integer ≥ 1");
  const labelInput = flags.extra.labels === "concat" ? "concat" : "projection";
  const data = await loadMnist({ split: "train" });
  const stop = totalSteps(flags, batchesPerEpoch(data.size, { batchSize: flags.batch }));
  const gan = makeCgan({
    width,
    labelInput,
    learningRate: flags.lr,
    dLearningRate: flags.lr,
    decaySteps: gf.decay ? stop : 0,
    labelSmoothing: gf.smooth,
    ema: gf.ema,
    classes: 10,
  });
  const config = ganRunConfig({ model: "cgan", labels: labelInput, latent: gan.latent, width }, flags, gf, data);
  const key = random.key(flags.seed);
  const [kInit, kFixed, kData, kSteps] = random.split(key, 4);
  let run = { state: gan.init(kInit), key };
  const ckpt = new CheckpointManager(join(flags.out, "checkpoints"));
  let start = 0;
  // --digit draws from what is there; otherwise --resume continues it.
  if (flags.resume || (digit !== null && await ckpt.latest())) {
    const r = await ckpt.restore(run, config);
    run = r.tree;
    start = r.step;
  }
  // Pictures and scores draw from the truncated latents (scaled by --truncation).
  const draw = (z: WaxArray, labels: WaxArray | null) => {
    if (!labels) throw new Error("examples/cgan.ts: a conditional sample needs its labels");
    return gan.sample(run.state, z.mul(trunc), labels);
  };
  // Ten fixed latents, one per column, repeated for each digit row.
  const styles = random.normal(kFixed, [10, gan.latent]);
  const gridZ = np.concatenate(Array.from({ length: 10 }, () => styles), 0);
  const gridY = int32(range(100, (i) => Math.floor(i / 10)));
  let sample = "";
  let last: Record<string, number> = {};
  if (digit === null || start === 0) {
    const trained = await trainGan({
      out: flags.out,
      data,
      batch: flags.batch,
      start,
      stop,
      every: flags.every,
      dataKey: kData,
      stepKey: kSteps,
      run,
      step: (state, x, y, k) => gan.step(state, x, y, k),
      snapshot: (state) => gan.sample(state, gridZ.mul(trunc), gridY),
      cols: 10,
      ckpt,
      config,
      title: `cGAN training (${labelInput} D, batch ${flags.batch})`,
    });
    run = trained.run;
    if (trained.diverged) {
      console.error(`examples/cgan.ts: ${trained.diverged}`);
      Deno.exit(1);
    }
    sample = trained.sample;
    last = trained.last;
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const took = () =>
    `total ${formatDuration((performance.now() - t0) / 1000)}, cpu ${formatDuration(cpuSeconds() - cpu0)}`;
  if (digit !== null) {
    const path = join(flags.out, `digit_${digit}.png`);
    const z = random.normal(random.foldIn(kFixed, 10 + digit), [drawCount, gan.latent]);
    await saveGrid(path, draw(z, int32(range(drawCount, () => digit))));
    console.log(
      `cgan: ${drawCount} samples of digit ${digit} from the model at step ${
        stop > start ? stop : start
      } in ${path}; ${took()}`,
    );
    return;
  }
  const grid = join(flags.out, "grid.png");
  await saveGrid(grid, draw(gridZ, gridY), { cols: 10 });
  const scores = gf.samples > 0
    ? await scoreGan(draw, {
      latent: gan.latent,
      count: gf.samples,
      key: random.foldIn(kFixed, 3),
      conditional: true,
      data,
    })
    : "";
  console.log(
    ganSummary("cgan", { stop, start, seconds: trainSeconds, last, sample }) +
      `${scores}${trunc < 1 ? `latents ×${trunc}; ` : ""}grid ${grid}; ` +
      `losses ${join(flags.out, "losses.csv")}; checkpoints ${ckpt.dir}; ${took()}`,
  );
});
