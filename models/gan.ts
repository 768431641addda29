/**
 * What every GAN here shares: the training state, a generic jitted step (one discriminator
 * update, then one generator update), the metrics it reports, a divergence monitor and latent
 * walks. `dcgan.ts` and `cgan.ts` supply the networks.
 *
 * A step draws one batch of fakes, updates D on a real and a fake batch (normalised apart when
 * D has batch norm), then updates G through the updated D on the same fakes with the
 * non-saturating loss; the generator's forward pass is linearized once and serves both. The
 * step is one jitted function that donates the old state, so a training loop stays flat.
 * @module
 */
import { join } from "node:path";
import { type Array, jit, np, random, save, stopGradient, tree, valueAndGrad, vjp } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import * as optim from "../optim/mod.ts";
import { batchStream, type Dataset, loadMnist } from "./data/mod.ts";
import { saveGrid } from "./image.ts";
import { MnistMetrics } from "./metrics_mnist.ts";
import { type CheckpointManager, type RunConfig, TrainLog } from "./train/mod.ts";

/** The optimizer and sampling settings of a GAN. */
export interface GanTrainConfig {
  /** Adam learning rate of the generator. */
  learningRate: number;
  /** Adam learning rate of the discriminator. */
  dLearningRate: number;
  /** Cosine-decay both learning rates to 0 over this many steps (0: constant rates). */
  decaySteps: number;
  /** Adam's β1. */
  beta1: number;
  /** Adam's β2. */
  beta2: number;
  /** One-sided label smoothing: D's target for real images is `1 − labelSmoothing`. */
  labelSmoothing: number;
  /** Sample with the running batch-norm statistics (true) or with the batch's own (false). */
  evalBatchNorm: boolean;
  /** Decay of an exponential moving average of the generator's weights used for sampling (0: none). */
  ema: number;
}

/** The state of the Adam optimizer of either network. */
export type GanOptState = optim.StateOf<ReturnType<typeof optim.adam>>;

/** Everything a GAN training run carries from step to step (`D`: the discriminator's parameters). */
export type GanState<D extends tree.ArrayTree = tree.ArrayTree> = {
  /** Generator parameters. */
  g: tree.PyTree;
  /** Generator batch-norm statistics. */
  gState: tree.PyTree;
  /** The moving average of the generator's weights (null without `ema`). */
  gEma: tree.PyTree;
  /** Discriminator parameters. */
  d: D;
  /** Generator optimizer state (Adam). */
  gOpt: GanOptState;
  /** Discriminator optimizer state (Adam). */
  dOpt: GanOptState;
};

/** What one GAN step reports (scalars on the device). */
export interface GanMetrics {
  /** Discriminator loss (BCE on real plus BCE on fake; with an InfoGAN code, plus its weighted cross-entropy). */
  d: Array;
  /** Generator loss (non-saturating BCE through the updated discriminator; plus the code's term, as for D). */
  g: Array;
  /** Share of real images D scored as real (logit > 0), before its update. */
  accReal: Array;
  /** Share of fakes D scored as fake (logit < 0), before its update. */
  accFake: Array;
}

/** The metric names of `GanMetrics`, in CSV column order. */
export const GAN_METRICS: (keyof GanMetrics)[] = ["d", "g", "accReal", "accFake"];

/**
 * The parts of a GAN that the generic step needs; `labels` is null for an unconditional GAN,
 * `D` is the discriminator's parameter tree.
 */
export interface GanParts<D extends tree.ArrayTree = tree.ArrayTree> {
  /** Latent size. */
  latent: number;
  /** Fresh generator parameters and batch-norm state, and discriminator parameters. */
  init(key: Array, imageShape: number[]): { g: tree.PyTree; gState: tree.PyTree; d: D };
  /** Generator forward pass. */
  generate(
    g: tree.PyTree,
    gState: tree.PyTree,
    z: Array,
    labels: Array | null,
    training: boolean,
  ): [Array, tree.PyTree];
  /**
   * Discriminator logits `[N]` (training mode: dropout from `key`, batch statistics); with
   * `info`, `[N, 1 + codes]`: the real/fake logit, then the logits of the latent's code.
   */
  discriminate(d: D, x: Array, labels: Array | null, key: Array): Array;
  /**
   * InfoGAN's categorical code (Chen et al., 2016): the code `code(z)` (int32 `[N]`) each latent
   * gives the generator, and the weight of the cross-entropy with which D's extra head must
   * recover it from the fake (added to both losses, so G learns to make the code visible).
   */
  info?: { code(z: Array): Array; weight: number };
}

/** A GAN's optimizers, state and step, built from its parts and configuration. */
export interface GanTrainer<D extends tree.ArrayTree = tree.ArrayTree> {
  /** Fresh parameters and optimizer states. */
  init(key: Array, imageShape?: number[]): GanState<D>;
  /** One D update, then one G update; donates `state`. */
  step(state: GanState<D>, real: Array, labels: Array | null, key: Array): [GanState<D>, GanMetrics];
  /** Generated images for `z` (and labels). */
  sample(state: GanState<D>, z: Array, labels: Array | null): Array;
}

/**
 * The generic GAN trainer behind `makeDcgan` and `makeCgan`.
 *
 * @param parts The networks' init and forward passes.
 * @param cfg Learning rates, betas, label smoothing, batch-norm mode of sampling.
 * @returns init, a jitted step and a jitted sampler.
 */
export function makeGanTrainer<D extends tree.ArrayTree>(
  parts: GanParts<D>,
  cfg: GanTrainConfig,
): GanTrainer<D> {
  const betas = { b1: cfg.beta1, b2: cfg.beta2 };
  const rate = (lr: number) => (cfg.decaySteps > 0 ? optim.cosineDecay(lr, cfg.decaySteps) : lr);
  const gOptim = optim.adam(rate(cfg.learningRate), betas);
  const dOptim = optim.adam(rate(cfg.dLearningRate), betas);
  const realTarget = 1 - cfg.labelSmoothing;
  const bce = (logits: Array, target: number) => nn.bceWithLogits(logits, np.full(logits.shape, target));

  const trainStep = (state: GanState<D>, real: Array, labels: Array | null, key: Array): [GanState<D>, GanMetrics] => {
    const [kz, kr, kf, kg] = random.split(key, 4);
    const n = real.shape[0];
    const z = random.normal(kz, [n, parts.latent]);
    // D's real/fake logits, and the code's logits and loss when the parts have an InfoGAN code.
    const code = parts.info ? parts.info.code(z) : null;
    const heads = (o: Array): [Array, Array | number] => {
      if (!parts.info || !code) return [o, 0];
      const q = np.sliceAxis(o, 1, 1, o.shape[1]);
      return [np.sliceAxis(o, 1, 0, 1).reshape([n]), nn.softmaxCrossEntropy(q, code).mul(parts.info.weight)];
    };
    // One generator forward pass, linearized: its pullback serves the generator update below.
    const [[fake, gState], pullback] = vjp(
      (g: tree.PyTree) => parts.generate(g, state.gState, z, labels, true),
      state.g,
    );
    // Discriminator update on a real batch and a (constant) fake batch, each normalised on its own.
    const constFake = stopGradient(fake);
    const dLoss = (d: D): [Array, [Array, Array]] => {
      const [r] = heads(parts.discriminate(d, real, labels, kr));
      const [f, info] = heads(parts.discriminate(d, constFake, labels, kf));
      return [bce(r, realTarget).add(bce(f, 0)).add(info), [r, f]];
    };
    const [[dl, [r, f]], dg] = valueAndGrad(dLoss, { hasAux: true })(state.d);
    const [dUpd, dOpt] = dOptim.update(dg, state.dOpt, state.d);
    const d = optim.applyUpdates(state.d, dUpd);
    const accReal = stopGradient(r).greater(0).astype("float32").mean();
    const accFake = stopGradient(f).less(0).astype("float32").mean();
    // Generator update: non-saturating loss through the updated discriminator, same fakes.
    const gLoss = (x: Array) => {
      const [o, info] = heads(parts.discriminate(d, x, labels, kg));
      return bce(o, 1).add(info);
    };
    const [gl, dFake] = valueAndGrad(gLoss)(fake);
    const [gg] = pullback([dFake, tree.map((x: Array) => np.zerosLike(x), gState)]);
    const [gUpd, gOpt] = gOptim.update(gg, state.gOpt, state.g);
    const g = optim.applyUpdates(state.g, gUpd);
    // The average starts fast (decay (1 + t) / (10 + t) at step t) so the init fades within ~100 steps.
    let gEma: tree.PyTree = null;
    if (cfg.ema > 0) {
      const t = gOpt[0].count.astype("float32");
      const decay = np.minimum(t.add(1).div(t.add(10)), cfg.ema);
      gEma = tree.map((e: Array, p: Array) => e.add(p.sub(e).mul(np.subtract(1, decay))), state.gEma, g);
    }
    return [{ g, gState, gEma, d, gOpt, dOpt }, { d: dl, g: gl, accReal, accFake }];
  };

  const sampleFn = (state: GanState<D>, z: Array, labels: Array | null) =>
    parts.generate(state.gEma ?? state.g, state.gState, z, labels, !cfg.evalBatchNorm)[0];

  return {
    init(key: Array, imageShape = [1, 28, 28]): GanState<D> {
      const s = parts.init(key, imageShape);
      const gEma = cfg.ema > 0 ? tree.map((x: Array) => x.add(0), s.g) : null;
      return { ...s, gEma, gOpt: gOptim.init(s.g), dOpt: dOptim.init(s.d) };
    },
    step: jit(trainStep, { donateArgnums: [0] }),
    sample: jit(sampleFn),
  };
}

/** Options of `GanMonitor`. */
export interface GanMonitorOptions {
  /** Steps D may win outright before the run is called diverged (default 1000). */
  patience?: number;
  /** D "wins outright" when its accuracy on fakes is at least this (default 0.99)… */
  fakeAccuracy?: number;
  /** …and the generator loss is above this (default 5: D gives fakes under 1 % probability). */
  gLoss?: number;
}

/**
 * Watches a GAN's logged metrics for divergence: a NaN or infinite value, or the discriminator
 * winning outright (rejecting nearly every fake while the generator loss stays high) for
 * `patience` steps, after which the generator gets almost no gradient and rarely recovers.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { GanMonitor } from "@wax/wax/models";
 * const watch = new GanMonitor({ patience: 200 });
 * assert.equal(watch.check(100, { d: 1.2, g: 0.9, accReal: 0.6, accFake: 0.7 }), null);
 * assert.match(watch.check(200, { d: NaN, g: NaN, accReal: 0, accFake: 0 })!, /NaN/);
 * ```
 */
export class GanMonitor {
  #opts: Required<GanMonitorOptions>;
  #since: number | null = null;

  /**
   * A monitor.
   * @param opts patience, fakeAccuracy, gLoss.
   */
  constructor(opts: GanMonitorOptions = {}) {
    this.#opts = { patience: 1000, fakeAccuracy: 0.99, gLoss: 5, ...opts };
  }

  /**
   * Checks one logging interval's means.
   *
   * @param step Steps completed.
   * @param m The means of `d`, `g`, `accReal`, `accFake` over the interval.
   * @returns null while training looks sound, else what happened and what to try.
   */
  check(step: number, m: Record<string, number>): string | null {
    const bad = Object.entries(m).filter(([, v]) => !Number.isFinite(v));
    const show = `D loss ${fmt(m.d)}, G loss ${fmt(m.g)}, D accuracy on real ${fmt(m.accReal)}, on fake ${
      fmt(m.accFake)
    }`;
    if (bad.length) {
      return `Training diverged at step ${step}: ${bad.map(([k, v]) => `${k} is ${v}`).join(", ")} (${show}). ` +
        `The updates blew up; start again with a lower --lr (half, say) or another --seed.`;
    }
    const { patience, fakeAccuracy, gLoss } = this.#opts;
    if (m.accFake >= fakeAccuracy && m.g > gLoss) {
      this.#since ??= step;
      if (step - this.#since >= patience) {
        return `Training diverged: the discriminator has won outright since step ${this.#since} ` +
          `(${step - this.#since} steps; now ${show}), so the generator gets almost no gradient and is unlikely to ` +
          `recover. Start again with a lower --lr, label smoothing (--smooth 0.1) or another --seed.`;
      }
    } else {
      this.#since = null;
    }
    return null;
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(3))) : String(v);
}

/**
 * Latents for a latent walk: `rows` pairs of random latents, each joined by `cols` points along
 * the great circle between them (spherical interpolation, which keeps the norm a Gaussian
 * latent has; a straight line passes through unlikely short vectors).
 *
 * With `fixFirst`, the first coordinate stays at the row's start value along the row: a model
 * that reads a code or a cluster from it (`latentCode`) then keeps it, and the walk morphs one
 * kind of digit instead of jumping between kinds.
 *
 * @param key Draws the endpoints.
 * @param opts `rows`, `cols` (points per row, ends included), `latent` size, `fixFirst`.
 * @returns Latents `[rows · cols, latent]`, row by row.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { latentWalk } from "@wax/wax/models";
 * const z = await latentWalk(random.key(0), { rows: 2, cols: 5, latent: 8 });
 * assert.equal(z.shape.join(), "10,8");
 * ```
 */
export async function latentWalk(
  key: Array,
  opts: { rows: number; cols: number; latent: number; fixFirst?: boolean },
): Promise<Array> {
  const { rows, cols, latent } = opts;
  if (!(Number.isInteger(rows) && rows >= 1 && Number.isInteger(cols) && cols >= 2)) {
    throw new RangeError(`latentWalk: rows must be ≥ 1 and cols ≥ 2 (integers), got ${rows} and ${cols}`);
  }
  const ends = await random.normal(key, [rows, 2, latent]).data();
  const out = new Float32Array(rows * cols * latent);
  for (let r = 0; r < rows; r++) {
    const a = ends.subarray((2 * r) * latent, (2 * r + 1) * latent);
    const b = ends.subarray((2 * r + 1) * latent, (2 * r + 2) * latent);
    let [ab, aa, bb] = [0, 0, 0];
    for (let i = 0; i < latent; i++) [ab, aa, bb] = [ab + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i]];
    const omega = Math.acos(Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb))));
    for (let c = 0; c < cols; c++) {
      const t = c / (cols - 1);
      const [wa, wb] = omega < 1e-6
        ? [1 - t, t]
        : [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)];
      for (let i = 0; i < latent; i++) out[(r * cols + c) * latent + i] = wa * a[i] + wb * b[i];
      if (opts.fixFirst) out[(r * cols + c) * latent] = a[0];
    }
  }
  return np.array(out, { shape: [rows * cols, latent] });
}

/** What `trainGan` needs: where the run writes, its data and schedule, and how to step and picture it. */
export interface TrainGanOptions<D extends tree.ArrayTree> {
  /** Output folder: `losses.csv`/`.png`, `step_NNNNN.png` snapshots, `diverged.safetensors`. */
  out: string;
  /** The training images (and labels). */
  data: Dataset;
  /** Batch size. */
  batch: number;
  /** The step to start at (above 0 when resumed) and the step to stop at. */
  start: number;
  /** Steps in the whole run. */
  stop: number;
  /** Snapshot and checkpoint every this many steps (and at the end). */
  every: number;
  /** Draws the data order. */
  dataKey: Array;
  /** Folded with the step number: each step's key. */
  stepKey: Array;
  /** The run's tree (saved in checkpoints): its `state` is trained. */
  run: { state: GanState<D>; key: Array };
  /** One training step on a batch of images `x` with labels `y`. */
  step(state: GanState<D>, x: Array, y: Array, key: Array): [GanState<D>, GanMetrics];
  /** The images of a snapshot (the same latents each time). */
  snapshot(state: GanState<D>): Array;
  /** Columns of the snapshot grids. */
  cols: number;
  /** Where checkpoints go. */
  ckpt: CheckpointManager;
  /** The run's configuration (a checkpoint of another configuration is refused). */
  config: RunConfig;
  /** Title of the loss curves. */
  title: string;
}

/** What `trainGan` returns. */
export interface TrainGanResult<D extends tree.ArrayTree> {
  /** The run's tree after the last step. */
  run: { state: GanState<D>; key: Array };
  /** The last logged interval's metric means. */
  last: Record<string, number>;
  /** The last snapshot written ("" if none). */
  sample: string;
  /** Null, or what went wrong and what to try, and where the state was saved, when training diverged. */
  diverged: string | null;
}

/**
 * Trains a GAN from `start` to `stop`: logs D and G losses and D's accuracy on real and fake
 * images (`losses.csv`/`.png`), writes a snapshot grid and a checkpoint every `every` steps, and
 * stops early when `GanMonitor` sees divergence, after saving the state (a checkpoint, or
 * `diverged.safetensors` beside them when it holds NaNs, so `--resume` restarts from the last good one).
 *
 * @param opts The run (see `TrainGanOptions`).
 * @returns The trained run, the last metrics, the last snapshot and the divergence message, if any.
 *
 * @example A few steps of a tiny DCGAN on 64 MNIST digits
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { CheckpointManager, loadMnist, makeDcgan, MNIST_DCGAN, trainGan } from "@wax/wax/models";
 * const out = await Deno.makeTempDir();
 * const data = await loadMnist({ split: "test", limit: 64 });
 * const gan = makeDcgan({ ...MNIST_DCGAN, width: 4, clusters: 0 });
 * const z = random.normal(random.key(1), [4, gan.latent]);
 * const r = await trainGan({
 *   out, data, batch: 16, start: 0, stop: 4, every: 2, dataKey: random.key(2), stepKey: random.key(3),
 *   run: { state: gan.init(random.key(0)), key: random.key(0) }, step: (s, x, _y, k) => gan.step(s, x, k),
 *   snapshot: (s) => gan.sample(s, z), cols: 2, ckpt: new CheckpointManager(`${out}/checkpoints`),
 *   config: { model: "doc" }, title: "doc",
 * });
 * assert.equal(r.diverged, null);
 * assert.deepEqual(await new CheckpointManager(`${out}/checkpoints`).steps(), [2, 4]);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export async function trainGan<D extends tree.ArrayTree>(opts: TrainGanOptions<D>): Promise<TrainGanResult<D>> {
  const { out, data, batch, start, stop, ckpt, config } = opts;
  const log = await TrainLog.open({ out, names: GAN_METRICS, total: stop, start, title: opts.title });
  log.log(`MNIST: ${data.size} training images (${data.source}); steps ${start}..${stop} of batch ${batch}`);
  const monitor = new GanMonitor();
  let run = opts.run;
  let sample = "";
  const stream = batchStream(data, { batchSize: batch, key: opts.dataKey, start, steps: stop });
  for await (const b of stream) {
    const [state, metrics] = opts.step(run.state, b.x, b.y, random.foldIn(opts.stepKey, b.step));
    run = { state, key: run.key };
    const done = b.step + 1;
    const values = await log.step(done, b.epoch, { ...metrics });
    const trouble = values && monitor.check(done, values);
    if (trouble) {
      const finite = Object.values(values).every(Number.isFinite);
      const bad = join(out, "diverged.safetensors");
      const path = finite ? await ckpt.save(done, run, { epoch: b.epoch, config }) : (await save(bad, run), bad);
      await log.save();
      log.done();
      const latest = finite ? null : await ckpt.latest();
      const good = finite
        ? ""
        : latest
        ? `; the last good checkpoint is ${latest.path}`
        : "; there is no earlier checkpoint";
      return { run, last: values, sample, diverged: `${trouble} State at step ${done} saved to ${path}${good}.` };
    }
    if (done % opts.every === 0 || done === stop) {
      sample = join(out, `step_${String(done).padStart(5, "0")}.png`);
      await saveGrid(sample, opts.snapshot(run.state), { cols: opts.cols });
      await ckpt.save(done, run, { epoch: b.epoch, config });
      await log.save();
    }
  }
  log.done();
  return { run, last: log.last ?? {}, sample, diverged: null };
}

/**
 * The samples' MNIST score, confident share and Fréchet distance to the test set by wax's
 * classifier (and, for a conditional GAN, the share classified as the digit asked for), beside
 * the same numbers for as many real training digits: one line of the examples' summary.
 *
 * @param draw Samples for latents `z` (and, when `conditional`, the digits `labels`, int32).
 * @param opts `latent` size, `count` samples, the `key` of their latents, `conditional`, the training `data`.
 * @returns "N samples: [label accuracy A% (real …), ]MNIST score S (real …), confident C% (real …), Fréchet F (real-vs-real …); ".
 *
 * @example
 * ```ts ignore
 * console.log(await scoreGan((z) => gan.sample(state, z), { latent: 64, count: 1000, key, data }));
 * ```
 */
export async function scoreGan(
  draw: (z: Array, labels: Array | null) => Array,
  opts: { latent: number; count: number; key: Array; conditional?: boolean; data: Dataset },
): Promise<string> {
  const { latent, count, key, data } = opts;
  const conditional = opts.conditional ?? false;
  const metrics = await MnistMetrics.load();
  const test = await loadMnist({ split: "test" });
  const labels = globalThis.Array.from({ length: count }, (_, i) => i % 10);
  const parts = [];
  for (let i = 0; i * 500 < count; i++) {
    const n = Math.min(500, count - i * 500);
    const z = random.normal(random.foldIn(key, i), [n, latent]);
    parts.push(draw(z, conditional ? np.array(labels.slice(i * 500, i * 500 + n), { dtype: "int32" }) : null));
  }
  const fake = await metrics.evaluate(np.concatenate(parts, 0), {
    reference: test,
    labels: conditional ? labels : undefined,
  });
  const n = Math.min(count, data.size);
  const real = await metrics.evaluate(np.array(data.images.subarray(0, n * 784), { shape: [n, 1, 28, 28] }), {
    reference: test,
    labels: conditional ? data.labels.subarray(0, n) : undefined,
  });
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const acc = conditional ? `label accuracy ${pct(fake.labelAccuracy!)} (real ${pct(real.labelAccuracy!)}), ` : "";
  return `${count} samples: ${acc}MNIST score ${fake.score.toFixed(2)} (real ${real.score.toFixed(2)}), confident ` +
    `${pct(fake.confident)} (real ${pct(real.confident)}), Fréchet ${fake.frechet!.toFixed(2)} ` +
    `(real-vs-real ${real.frechet!.toFixed(2)}); `;
}
