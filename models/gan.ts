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
import { type Array, jit, np, random, stopGradient, tree, valueAndGrad, vjp } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import * as optim from "../optim/mod.ts";

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
  /** "bce" (the non-saturating GAN loss) or "lsgan" (least squares, targets 1 and 0). */
  loss: "bce" | "lsgan";
  /** Share of each batch's fakes, those D rates most real, that G learns from (1: all; Sinha et al. 2020). */
  topK: number;
  /** Sample with the running batch-norm statistics (true) or with the batch's own (false). */
  evalBatchNorm: boolean;
  /** Decay of an exponential moving average of the generator's weights used for sampling (0: none). */
  ema: number;
}

/** Everything a GAN training run carries from step to step. */
export type GanState = {
  /** Generator parameters. */
  g: tree.PyTree;
  /** Generator batch-norm statistics. */
  gState: tree.PyTree;
  /** The moving average of the generator's weights (null without `ema`). */
  gEma: tree.PyTree;
  /** Discriminator parameters. */
  d: tree.PyTree;
  /** Generator optimizer state (Adam). */
  gOpt: tree.PyTree;
  /** Discriminator optimizer state (Adam). */
  dOpt: tree.PyTree;
};

/** What one GAN step reports (scalars on the device). */
export interface GanMetrics {
  /** Discriminator loss (BCE on real plus BCE on fake). */
  d: Array;
  /** Generator loss (non-saturating BCE through the updated discriminator). */
  g: Array;
  /** Share of real images D scored as real (logit > 0), before its update. */
  accReal: Array;
  /** Share of fakes D scored as fake (logit < 0), before its update. */
  accFake: Array;
}

/** The metric names of `GanMetrics`, in CSV column order. */
export const GAN_METRICS: (keyof GanMetrics)[] = ["d", "g", "accReal", "accFake"];

/** The parts of a GAN that the generic step needs; `labels` is null for an unconditional GAN. */
export interface GanParts {
  /** Latent size. */
  latent: number;
  /** Fresh generator parameters and batch-norm state, and discriminator parameters. */
  init(key: Array, imageShape: number[]): { g: tree.PyTree; gState: tree.PyTree; d: tree.PyTree };
  /** Generator forward pass. */
  generate(
    g: tree.PyTree,
    gState: tree.PyTree,
    z: Array,
    labels: Array | null,
    training: boolean,
  ): [Array, tree.PyTree];
  /** Discriminator logits `[N]` (training mode: dropout from `key`, batch statistics). */
  discriminate(d: tree.PyTree, x: Array, labels: Array | null, key: Array): Array;
}

/** A GAN's optimizers, state and step, built from its parts and configuration. */
export interface GanTrainer {
  /** Fresh parameters and optimizer states. */
  init(key: Array, imageShape?: number[]): GanState;
  /** One D update, then one G update; donates `state`. */
  step(state: GanState, real: Array, labels: Array | null, key: Array): [GanState, GanMetrics];
  /** Generated images for `z` (and labels). */
  sample(state: GanState, z: Array, labels: Array | null): Array;
}

/**
 * The generic GAN trainer behind `makeDcgan` and `makeCgan`.
 *
 * @param parts The networks' init and forward passes.
 * @param cfg Learning rates, betas, label smoothing, batch-norm mode of sampling.
 * @returns init, a jitted step and a jitted sampler.
 */
export function makeGanTrainer(
  parts: GanParts,
  cfg: GanTrainConfig,
): GanTrainer {
  const betas = { b1: cfg.beta1, b2: cfg.beta2 };
  const rate = (lr: number) => (cfg.decaySteps > 0 ? optim.cosineDecay(lr, cfg.decaySteps) : lr);
  const gOptim = optim.adam(rate(cfg.learningRate), betas);
  const dOptim = optim.adam(rate(cfg.dLearningRate), betas);
  type Opt = optim.StateOf<typeof gOptim>;
  const realTarget = 1 - cfg.labelSmoothing;
  // Per-example loss of D's outputs against a target, and the output that separates real from fake.
  const dist = cfg.loss === "lsgan"
    ? (out: Array, t: number) => out.sub(t).square()
    : (out: Array, t: number) => nn.bceWithLogits(out, np.full(out.shape, t), { reduction: "none" });
  const middle = cfg.loss === "lsgan" ? 0.5 : 0;

  const trainStep = (state: GanState, real: Array, labels: Array | null, key: Array): [GanState, GanMetrics] => {
    const [kz, kr, kf, kg] = random.split(key, 4);
    const n = real.shape[0];
    const k = Math.max(1, Math.round(cfg.topK * n));
    const z = random.normal(kz, [n, parts.latent]);
    // One generator forward pass, linearized: its pullback serves the generator update below.
    const [[fake, gState], pullback] = vjp(
      (g: tree.PyTree) => parts.generate(g, state.gState, z, labels, true),
      state.g,
    ) as [[Array, tree.PyTree], (ct: [Array, tree.PyTree]) => [tree.PyTree]];
    // Discriminator update on a real batch and a (constant) fake batch, each normalised on its own.
    const constFake = stopGradient(fake);
    const dLoss = (d: tree.PyTree): [Array, [Array, Array]] => {
      const r = parts.discriminate(d, real, labels, kr);
      const f = parts.discriminate(d, constFake, labels, kf);
      return [dist(r, realTarget).mean().add(dist(f, 0).mean()), [r, f]];
    };
    const [[dl, [r, f]], dg] = valueAndGrad(dLoss, { hasAux: true })(state.d) as [[Array, Array[]], tree.PyTree];
    const [dUpd, dOpt] = dOptim.update(dg, state.dOpt as Opt, state.d);
    const d = optim.applyUpdates(state.d, dUpd);
    const accReal = stopGradient(r).greater(middle).astype("float32").mean();
    const accFake = stopGradient(f).less(middle).astype("float32").mean();
    // Generator update: non-saturating loss through the updated discriminator, same fakes.
    const gLoss = (x: Array) => {
      const out = parts.discriminate(d, x, labels, kg);
      const each = dist(out, 1);
      if (k >= n) return each.mean();
      // Only the k fakes D rates most real: rank by counting the better-rated ones.
      const o = stopGradient(out);
      const rank = o.reshape([1, n]).greater(o.reshape([n, 1])).astype("float32").sum(1);
      return np.where(rank.less(k), each, 0).sum().div(k);
    };
    const [gl, dFake] = valueAndGrad(gLoss)(fake) as [Array, Array];
    const [gg] = pullback([dFake, tree0(gState)]);
    const [gUpd, gOpt] = gOptim.update(gg, state.gOpt as Opt, state.g);
    const g = optim.applyUpdates(state.g, gUpd);
    // The average starts fast (decay (1 + t) / (10 + t) at step t) so the init fades within ~100 steps.
    let gEma: tree.PyTree = null;
    if (cfg.ema > 0) {
      const t = (gOpt as Opt)[0].count.astype("float32");
      const decay = np.minimum(t.add(1).div(t.add(10)), cfg.ema);
      gEma = tree.map((e: Array, p: Array) => e.add(p.sub(e).mul(np.subtract(1, decay))), state.gEma, g);
    }
    return [{ g, gState, gEma, d, gOpt, dOpt }, { d: dl, g: gl, accReal, accFake }];
  };

  const sampleFn = (state: GanState, z: Array, labels: Array | null) =>
    parts.generate(state.gEma ?? state.g, state.gState, z, labels, !cfg.evalBatchNorm)[0];

  return {
    init(key: Array, imageShape = [1, 28, 28]): GanState {
      const s = parts.init(key, imageShape);
      const gEma = cfg.ema > 0 ? tree.map((x: Array) => x.add(0), s.g) : null;
      return { ...s, gEma, gOpt: gOptim.init(s.g), dOpt: dOptim.init(s.d) };
    },
    step: jit(trainStep, { donateArgnums: [0] }),
    sample: jit(sampleFn),
  };
}

/** Zeros shaped like every array of a tree (the cotangent of outputs we do not differentiate). */
function tree0(t: tree.PyTree): tree.PyTree {
  if (t === null || t === undefined || typeof t !== "object") return t;
  if ("shape" in t && "dtype" in t) return np.zerosLike(t as Array);
  if (globalThis.Array.isArray(t)) return t.map(tree0);
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, tree0(v as tree.PyTree)]));
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
 * @param key Draws the endpoints.
 * @param opts `rows`, `cols` (points per row, ends included) and `latent` size.
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
export async function latentWalk(key: Array, opts: { rows: number; cols: number; latent: number }): Promise<Array> {
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
    }
  }
  return np.array(out, { shape: [rows * cols, latent] });
}
