/**
 * Trains a DCGAN on MNIST: by default the compact configuration that draws convincing digits in
 * a few minutes on two cores (`MNIST_DCGAN`), or the TensorFlow tutorial's (`--arch tutorial`).
 * Writes to `--out` as it goes: sample grids of the same 36 latents, the loss history
 * (`losses.csv`, `losses.png`: D and G losses, D's accuracy on real and on fake images) and
 * checkpoints that `--resume` continues exactly. Stops with a message and a checkpoint when
 * training diverges. At the end: 100 digits that do not exist (`digits.png`), a latent walk
 * (`walk.png`), and the samples' MNIST score, confident share and Fréchet distance by wax's
 * classifier, beside the same numbers for real digits.
 *
 * Run: `deno run -A examples/dcgan.ts [--steps 3000] [--batch 64] [--lr 2e-4] [--arch compact|tutorial] [--resume]`
 * @module
 */
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { np, random, save } from "../mod.ts";
import {
  batchesPerEpoch,
  batchStream,
  CheckpointManager,
  type Dcgan,
  type ExampleSpec,
  FlagError,
  type Flags,
  formatDuration,
  formatMetric,
  GAN_METRICS,
  GanMonitor,
  latentWalk,
  loadMnist,
  makeDcgan,
  MNIST_DCGAN,
  MnistMetrics,
  type RunConfig,
  runExample,
  saveGrid,
  totalSteps,
  TrainLog,
  TUTORIAL_DCGAN,
} from "../models/mod.ts";

const spec: ExampleSpec = {
  name: "dcgan",
  summary: "Trains a DCGAN on MNIST; writes sample grids, losses.csv/png, checkpoints, 100 digits that do not\n" +
    "exist, a latent walk and the samples' MNIST score and Fréchet distance to --out.",
  defaults: { steps: 3000, batch: 64, lr: 2e-4, every: 500 },
  extra: {
    arch: { type: "string", default: "compact", choices: ["compact", "tutorial"], help: "the networks" },
    width: { type: "string", default: String(MNIST_DCGAN.width), arg: "N", help: "channels of the compact nets" },
    smooth: { type: "string", default: "0", arg: "X", help: "one-sided label smoothing of D's real targets" },
    samples: { type: "string", default: "1000", arg: "N", help: "samples scored at the end (0: no scoring)" },
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

await runExample(spec, async (flags) => {
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  const arch = flags.extra.arch === "tutorial" ? "tutorial" : "compact";
  const width = numberFlag(flags, "width", (v) => Number.isInteger(v) && v >= 1, "an integer ≥ 1");
  const smooth = numberFlag(flags, "smooth", (v) => v >= 0 && v < 1, "a number in [0, 1)");
  const count = numberFlag(flags, "samples", (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0");
  const data = await loadMnist({ split: "train" });
  const stop = totalSteps(flags, batchesPerEpoch(data.size, { batchSize: flags.batch }));
  const base = arch === "tutorial" ? TUTORIAL_DCGAN : { ...MNIST_DCGAN, width };
  const gan = makeDcgan({ ...base, learningRate: flags.lr, dLearningRate: flags.lr, labelSmoothing: smooth });
  const config: RunConfig = {
    model: "dcgan",
    arch,
    latent: gan.latent,
    width: arch === "tutorial" ? null : width,
    image: data.shape.join("x"),
    batch: flags.batch,
    lr: flags.lr,
    smooth,
    seed: flags.seed,
  };
  // One key per purpose: init, the fixed latents of the pictures, the data order, the steps.
  const key = random.key(flags.seed);
  const [kInit, kFixed, kData, kSteps] = random.split(key, 4);
  let run = { state: gan.init(kInit), key };
  const ckpt = new CheckpointManager(join(flags.out, "checkpoints"));
  let start = 0;
  if (flags.resume) {
    const r = await ckpt.restore(run, config);
    run = r.tree;
    start = r.step;
  }
  const fixedZ = random.normal(kFixed, [36, gan.latent]); // the same latents at every snapshot
  const log = await TrainLog.open({ out: flags.out, names: GAN_METRICS, total: stop, start, title: "DCGAN training" });
  log.log(
    `MNIST: ${data.size} training images (${data.source}); ${arch} nets; steps ${start}..${stop} of batch ${flags.batch}`,
  );
  const monitor = new GanMonitor();
  let sample = "";
  for await (const b of batchStream(data, { batchSize: flags.batch, key: kData, start, steps: stop })) {
    const [state, metrics] = gan.step(run.state, b.x, random.foldIn(kSteps, b.step));
    run = { state, key: run.key };
    const done = b.step + 1;
    const values = await log.step(done, b.epoch, { ...metrics });
    const trouble = values && monitor.check(done, values);
    if (trouble) {
      const finite = Object.values(values).every(Number.isFinite);
      // A state with NaNs goes beside the checkpoints, so --resume still starts from the last good one.
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
      console.error(`examples/dcgan.ts: ${trouble} State at step ${done} saved to ${path}${good}.`);
      Deno.exit(1);
    }
    if (done % flags.every === 0 || done === stop) {
      sample = join(flags.out, `step_${String(done).padStart(5, "0")}.png`);
      await saveGrid(sample, gan.sample(run.state, fixedZ), { cols: 6 });
      await ckpt.save(done, run, { epoch: b.epoch, config });
      await log.save();
    }
  }
  log.done();
  const trainSeconds = (performance.now() - t0) / 1000;
  // The generator is what we keep: 100 digits that do not exist, and a latent walk.
  const digits = join(flags.out, "digits.png");
  const walk = join(flags.out, "walk.png");
  await saveGrid(digits, gan.sample(run.state, random.normal(random.foldIn(kFixed, 1), [100, gan.latent])), {
    cols: 10,
  });
  const walkZ = await latentWalk(random.foldIn(kFixed, 2), { rows: 6, cols: 10, latent: gan.latent });
  await saveGrid(walk, gan.sample(run.state, walkZ), { cols: 10 });
  const scores = count > 0 ? await score(gan, run.state, random.foldIn(kFixed, 3), count, data) : "";
  const last = log.last ?? {};
  console.log(
    `dcgan: ${stop} steps${start ? ` (resumed at step ${start})` : ""} in ${formatDuration(trainSeconds)}; ` +
      `last D loss ${formatMetric(last.d ?? NaN)}, G loss ${formatMetric(last.g ?? NaN)}, ` +
      `D accuracy real ${formatMetric(last.accReal ?? NaN)} fake ${formatMetric(last.accFake ?? NaN)}; ` +
      `samples ${sample || "(none: nothing to do)"}; ${scores}digits ${digits}; walk ${walk}; ` +
      `losses ${join(flags.out, "losses.csv")}; checkpoints ${ckpt.dir}; ` +
      `total ${formatDuration((performance.now() - t0) / 1000)}, cpu ${formatDuration(cpuSeconds() - cpu0)}`,
  );
});

/** The MNIST score, confident share and Fréchet distance of `count` samples, beside real digits'. */
async function score(
  gan: Dcgan,
  state: Parameters<Dcgan["sample"]>[0],
  key: np.Array,
  count: number,
  data: Awaited<ReturnType<typeof loadMnist>>,
): Promise<string> {
  const metrics = await MnistMetrics.load();
  const test = await loadMnist({ split: "test" });
  const parts = [];
  for (let i = 0; i * 500 < count; i++) {
    parts.push(gan.sample(state, random.normal(random.foldIn(key, i), [Math.min(500, count - i * 500), gan.latent])));
  }
  const fake = await metrics.evaluate(np.concatenate(parts, 0), { reference: test });
  const n = Math.min(count, data.size);
  const realImages = np.array(data.images.subarray(0, n * 784), { shape: [n, 1, 28, 28] });
  const real = await metrics.evaluate(realImages, { reference: test });
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  return `${count} samples: MNIST score ${fake.score.toFixed(2)} (real ${real.score.toFixed(2)}), confident ` +
    `${pct(fake.confident)} (real ${pct(real.confident)}), Fréchet ${fake.frechet!.toFixed(2)} ` +
    `(real-vs-real ${real.frechet!.toFixed(2)}); `;
}
