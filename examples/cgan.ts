/**
 * Trains a conditional GAN on MNIST: the compact DCGAN with the digit's label fed to both
 * networks (`MNIST_CGAN`), so you choose which digit it draws. Writes to `--out` as it goes:
 * grids of ten fixed latents for every digit (row r is digit r, so each column keeps one
 * style), the loss history and checkpoints that `--resume` continues exactly; stops with a
 * message and a checkpoint when training diverges. At the end: the 10×10 grid (`grid.png`) and
 * the samples' label accuracy, MNIST score and Fréchet distance by wax's classifier.
 * `--digit 7 --count 64` draws 64 sevens from the latest checkpoint (training first if none).
 *
 * Run: `deno run -A examples/cgan.ts [--steps 3000] [--batch 64] [--digit 7 --count 64] [--resume]`
 * @module
 */
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { np, random, save } from "../mod.ts";
import {
  batchesPerEpoch,
  batchStream,
  type Cgan,
  CheckpointManager,
  type ExampleSpec,
  FlagError,
  type Flags,
  formatDuration,
  formatMetric,
  GAN_METRICS,
  GanMonitor,
  type GanState,
  loadMnist,
  makeCgan,
  MNIST_CGAN,
  MnistMetrics,
  type RunConfig,
  runExample,
  saveGrid,
  totalSteps,
  TrainLog,
} from "../models/mod.ts";

const spec: ExampleSpec = {
  name: "cgan",
  summary: "Trains a conditional GAN on MNIST that draws the digit you ask for; writes a 10×10 grid (row r is\n" +
    "digit r), losses.csv/png, checkpoints and the samples' label accuracy and MNIST score to --out.",
  defaults: { steps: 3000, batch: 64, lr: 2e-4, every: 500 },
  extra: {
    width: { type: "string", default: String(MNIST_CGAN.width), arg: "N", help: "channels of the compact nets" },
    labels: {
      type: "string",
      default: MNIST_CGAN.labelInput,
      choices: ["projection", "concat"],
      help: "how D reads the label",
    },
    smooth: { type: "string", default: "0", arg: "X", help: "one-sided label smoothing of D's real targets" },
    samples: { type: "string", default: "1000", arg: "N", help: "samples scored at the end (0: no scoring)" },
    digit: { type: "string", arg: "D", help: "draw --count samples of digit D from the latest checkpoint" },
    count: { type: "string", default: "64", arg: "N", help: "how many samples --digit draws" },
  },
};

/** A numeric extra flag (a bad value is a `FlagError`: the usage, the reason, exit status 2). */
function numberFlag(flags: Flags, name: string, ok: (v: number) => boolean, what: string): number {
  const raw = String(flags.extra[name]);
  const v = Number(raw);
  if (raw.trim() === "" || !ok(v)) throw new FlagError(`--${name} must be ${what}, got ${JSON.stringify(raw)}`);
  return v;
}

const cpuSeconds = () => {
  const u = cpuUsage();
  return (u.user + u.system) / 1e6;
};
const int32 = (v: number[]) => np.array(v, { dtype: "int32" });
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

await runExample(spec, async (flags) => {
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  const width = numberFlag(flags, "width", (v) => Number.isInteger(v) && v >= 1, "an integer ≥ 1");
  const smooth = numberFlag(flags, "smooth", (v) => v >= 0 && v < 1, "a number in [0, 1)");
  const count = numberFlag(flags, "samples", (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0");
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
    labelSmoothing: smooth,
    classes: 10,
  });
  const config: RunConfig = {
    model: "cgan",
    labels: labelInput,
    latent: gan.latent,
    width,
    image: data.shape.join("x"),
    batch: flags.batch,
    lr: flags.lr,
    smooth,
    seed: flags.seed,
  };
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
  // Ten fixed latents, one per column, repeated for each digit row.
  const styles = random.normal(kFixed, [10, gan.latent]);
  const gridZ = np.concatenate(Array.from({ length: 10 }, () => styles), 0);
  const gridY = int32(range(100, (i) => Math.floor(i / 10)));
  let sample = "";
  let last: Record<string, number> = {};
  if (digit === null || start === 0) {
    const log = await TrainLog.open({ out: flags.out, names: GAN_METRICS, total: stop, start, title: "cGAN training" });
    log.log(`MNIST: ${data.size} training images (${data.source}); steps ${start}..${stop} of batch ${flags.batch}`);
    const monitor = new GanMonitor();
    for await (const b of batchStream(data, { batchSize: flags.batch, key: kData, start, steps: stop })) {
      const [state, metrics] = gan.step(run.state, b.x, b.y, random.foldIn(kSteps, b.step));
      run = { state, key: run.key };
      const done = b.step + 1;
      const values = await log.step(done, b.epoch, { ...metrics });
      const trouble = values && monitor.check(done, values);
      if (trouble) {
        const finite = Object.values(values).every(Number.isFinite);
        const path = finite
          ? await ckpt.save(done, run, { epoch: b.epoch, config })
          : (await save(join(flags.out, "diverged.safetensors"), run), join(flags.out, "diverged.safetensors"));
        await log.save();
        log.done();
        const latest = finite ? null : await ckpt.latest();
        const good = finite
          ? ""
          : latest
          ? `; the last good checkpoint is ${latest.path}`
          : "; there is no earlier checkpoint";
        console.error(`examples/cgan.ts: ${trouble} State at step ${done} saved to ${path}${good}.`);
        Deno.exit(1);
      }
      if (done % flags.every === 0 || done === stop) {
        sample = join(flags.out, `step_${String(done).padStart(5, "0")}.png`);
        await saveGrid(sample, gan.sample(run.state, gridZ, gridY), { cols: 10 });
        await ckpt.save(done, run, { epoch: b.epoch, config });
        await log.save();
      }
    }
    log.done();
    last = log.last ?? {};
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const took = () =>
    `total ${formatDuration((performance.now() - t0) / 1000)}, cpu ${formatDuration(cpuSeconds() - cpu0)}`;
  if (digit !== null) {
    const path = join(flags.out, `digit_${digit}.png`);
    const z = random.normal(random.foldIn(kFixed, 10 + digit), [drawCount, gan.latent]);
    await saveGrid(path, gan.sample(run.state, z, int32(range(drawCount, () => digit))));
    console.log(
      `cgan: ${drawCount} samples of digit ${digit} from the model at step ${
        stop > start ? stop : start
      } in ${path}; ${took()}`,
    );
    return;
  }
  const grid = join(flags.out, "grid.png");
  await saveGrid(grid, gan.sample(run.state, gridZ, gridY), { cols: 10 });
  const scores = count > 0 ? await score(gan, run.state, random.foldIn(kFixed, 3), count, data) : "";
  console.log(
    `cgan: ${stop} steps${start ? ` (resumed at step ${start})` : ""} in ${formatDuration(trainSeconds)}; ` +
      `last D loss ${formatMetric(last.d ?? NaN)}, G loss ${formatMetric(last.g ?? NaN)}, ` +
      `D accuracy real ${formatMetric(last.accReal ?? NaN)} fake ${formatMetric(last.accFake ?? NaN)}; ` +
      `samples ${sample || "(none: nothing to do)"}; ${scores}grid ${grid}; ` +
      `losses ${join(flags.out, "losses.csv")}; checkpoints ${ckpt.dir}; ${took()}`,
  );
});

/** Label accuracy, MNIST score, confident share and Fréchet distance of `count` samples (digits in turn). */
async function score(
  gan: Cgan,
  state: GanState,
  key: np.Array,
  count: number,
  data: Awaited<ReturnType<typeof loadMnist>>,
): Promise<string> {
  const metrics = await MnistMetrics.load();
  const test = await loadMnist({ split: "test" });
  const labels = range(count, (i) => i % 10);
  const parts = [];
  for (let i = 0; i * 500 < count; i++) {
    const n = Math.min(500, count - i * 500);
    const z = random.normal(random.foldIn(key, i), [n, gan.latent]);
    parts.push(gan.sample(state, z, int32(labels.slice(i * 500, i * 500 + n))));
  }
  const fake = await metrics.evaluate(np.concatenate(parts, 0), { reference: test, labels });
  const n = Math.min(count, data.size);
  const real = await metrics.evaluate(np.array(data.images.subarray(0, n * 784), { shape: [n, 1, 28, 28] }), {
    reference: test,
    labels: data.labels.subarray(0, n),
  });
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  return `${count} samples: label accuracy ${pct(fake.labelAccuracy!)} (real ${pct(real.labelAccuracy!)}), ` +
    `MNIST score ${fake.score.toFixed(2)} (real ${real.score.toFixed(2)}), confident ${pct(fake.confident)} ` +
    `(real ${pct(real.confident)}), Fréchet ${fake.frechet!.toFixed(2)} (real-vs-real ${real.frechet!.toFixed(2)}); `;
}
