/**
 * The building blocks: one small factory per transformation, each with a typed state.
 * @module
 */
import { type Array, np, tree } from "../mod.ts";
import { type CountState, globalNorm, type GradientTransformation } from "./base.ts";
import { mapLike, needParams, zeroCount } from "./_util.ts";
import type { Schedule } from "./schedules.ts";

/** A tree of arrays shaped like `p`, filled with `v`. */
const fullLike = (p: tree.PyTree, v: number): tree.ArrayTree =>
  tree.unflatten(tree.structure(p), tree.leaves<Array>(p).map((x) => np.fullLike(x, v)));
const zerosLike = (p: tree.PyTree): tree.ArrayTree => fullLike(p, 0);

/** State of `scaleByAdam`. */
export type AdamState = {
  /** Steps taken (int32 scalar). */
  count: Array;
  /** First-moment (mean) estimates, like the parameters. */
  mu: tree.ArrayTree;
  /** Second-moment estimates, like the parameters. */
  nu: tree.ArrayTree;
};

/** Options of `scaleByAdam`. */
export interface AdamOptions {
  /** Decay of the first moment (default 0.9). */
  b1?: number;
  /** Decay of the second moment (default 0.999). */
  b2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  eps?: number;
  /** Added inside the root (default 0). */
  epsRoot?: number;
}

/**
 * Adam's rescaling: bias-corrected first moment over the root of the bias-corrected second
 * moment, `m̂ / (sqrt(v̂ + epsRoot) + eps)`.
 *
 * @param opts `b1`, `b2`, `eps`, `epsRoot`.
 * @returns The transformation.
 *
 * @example The first step is the sign of the gradient
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { scaleByAdam } from "@wax/wax/optim";
 * const t = scaleByAdam();
 * const [u] = t.update(np.array([0.3, -2]), t.init(np.zeros([2])));
 * const v = await u.data();
 * assert(Math.abs(v[0] - 1) < 1e-4 && Math.abs(v[1] + 1) < 1e-4);
 * ```
 */
export function scaleByAdam(opts: AdamOptions = {}): GradientTransformation<AdamState> {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 } = opts;
  return {
    init: (params) => ({ count: zeroCount(), mu: zerosLike(params), nu: zerosLike(params) }),
    update(grads, state) {
      const mu = mapLike((m, g) => m.mul(b1).add(g.mul(1 - b1)), state.mu, grads);
      const nu = mapLike((v, g) => v.mul(b2).add(np.square(g).mul(1 - b2)), state.nu, grads);
      const count = state.count.add(1);
      const t = count.astype("float32");
      const c1 = np.subtract(1, np.power(b1, t));
      const c2 = np.subtract(1, np.power(b2, t));
      const u = mapLike((_g, m, v) => m.div(c1).div(np.sqrt(v.div(c2).add(epsRoot)).add(eps)), grads, mu, nu);
      return [u, { count, mu, nu }];
    },
  };
}

/** State of `scaleByRms`. */
export type RmsState = {
  /** Running mean of squared gradients. */
  nu: tree.ArrayTree;
};

/** Options of `scaleByRms`. */
export interface RmsOptions {
  /** Decay of the running mean of squares (default 0.9). */
  decay?: number;
  /** Added inside the root (default 1e-8). */
  eps?: number;
  /** Initial value of the running mean (default 0). */
  initialScale?: number;
}

/**
 * RMSProp's rescaling: `g / sqrt(ν + eps)` with `ν ← decay·ν + (1 − decay)·g²`.
 *
 * @param opts `decay`, `eps`, `initialScale`.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { scaleByRms } from "@wax/wax/optim";
 * const t = scaleByRms({ decay: 0.75 });
 * const [u] = t.update(np.array([2]), t.init(np.zeros([1])));
 * assert(Math.abs((await u.item()) - 2) < 1e-5);
 * ```
 */
export function scaleByRms(opts: RmsOptions = {}): GradientTransformation<RmsState> {
  const { decay = 0.9, eps = 1e-8, initialScale = 0 } = opts;
  return {
    init: (params) => ({ nu: fullLike(params, initialScale) }),
    update(grads, state) {
      const nu = mapLike((v, g) => v.mul(decay).add(np.square(g).mul(1 - decay)), state.nu, grads);
      return [mapLike((g, v) => g.mul(np.rsqrt(v.add(eps))), grads, nu), { nu }];
    },
  };
}

/** State of `scaleByRss`. */
export type RssState = {
  /** Sum of squared gradients so far. */
  sumOfSquares: tree.ArrayTree;
};

/** Options of `scaleByRss`. */
export interface RssOptions {
  /** Initial value of the sum of squares (default 0.1). */
  initialAccumulatorValue?: number;
  /** Added inside the root (default 1e-7). */
  eps?: number;
}

/**
 * Adagrad's rescaling: `g / sqrt(Σ g² + eps)` over every step so far.
 *
 * @param opts `initialAccumulatorValue`, `eps`.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { scaleByRss } from "@wax/wax/optim";
 * const t = scaleByRss({ initialAccumulatorValue: 0, eps: 0 });
 * const [u] = t.update(np.array([3]), t.init(np.zeros([1])));
 * assert((await u.item()) === 1);
 * ```
 */
export function scaleByRss(opts: RssOptions = {}): GradientTransformation<RssState> {
  const { initialAccumulatorValue = 0.1, eps = 1e-7 } = opts;
  return {
    init: (params) => ({ sumOfSquares: fullLike(params, initialAccumulatorValue) }),
    update(grads, state) {
      const sumOfSquares = mapLike((s, g) => s.add(np.square(g)), state.sumOfSquares, grads);
      const u = mapLike((g, s) => np.where(s.greater(0), g.mul(np.rsqrt(s.add(eps))), 0), grads, sumOfSquares);
      return [u, { sumOfSquares }];
    },
  };
}

/** State of `scaleByMomentum`. */
export type TraceState = {
  /** The momentum buffer (a decaying sum of past updates). */
  trace: tree.ArrayTree;
};

/** Options of `scaleByMomentum`. */
export interface MomentumOptions {
  /** Nesterov's variant: `g + decay·trace` (default false). */
  nesterov?: boolean;
}

/**
 * Heavy-ball momentum: `trace ← g + decay·trace`, updates `trace` (or `g + decay·trace`
 * with Nesterov).
 *
 * @param decay The momentum coefficient, e.g. 0.9.
 * @param opts `nesterov` (default false).
 * @returns The transformation.
 *
 * @example Constant gradients accumulate
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { scaleByMomentum } from "@wax/wax/optim";
 * const t = scaleByMomentum(0.5);
 * let s = t.init(np.zeros([1]));
 * let u = np.zeros([1]);
 * for (let i = 0; i < 2; i++) [u, s] = t.update(np.ones([1]), s);
 * assert((await u.item()) === 1.5);
 * ```
 */
export function scaleByMomentum(decay: number, opts: MomentumOptions = {}): GradientTransformation<TraceState> {
  return {
    init: (params) => ({ trace: zerosLike(params) }),
    update(grads, state) {
      const trace = mapLike((t, g) => g.add(t.mul(decay)), state.trace, grads);
      const u = mapLike((g, t) => (opts.nesterov ? g.add(t.mul(decay)) : t), grads, trace);
      return [u, { trace }];
    },
  };
}

/**
 * Decoupled weight decay: adds `weightDecay · params` to the updates (AdamW's decay when
 * placed before the learning rate). Needs the parameters.
 *
 * @param weightDecay The decay coefficient.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { addDecayedWeights } from "@wax/wax/optim";
 * const [u] = addDecayedWeights(0.1).update(np.array([1]), null, np.array([5]));
 * assert((await u.item()) === 1.5);
 * ```
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation<null> {
  return {
    init: () => null,
    update(grads, state, params) {
      const p = needParams("addDecayedWeights", params);
      return [mapLike((g, w) => g.add(w.mul(weightDecay)), grads, p), state];
    },
  };
}

/**
 * Rescales the whole update tree so its global L2 norm is at most `maxNorm`.
 *
 * @param maxNorm The largest allowed global norm.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { clipByGlobalNorm } from "@wax/wax/optim";
 * const [u] = clipByGlobalNorm(1).update({ a: np.array([3]), b: np.array([4]) }, null);
 * assert(Math.abs((await u.a.item()) - 0.6) < 1e-6);
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<null> {
  return {
    init: () => null,
    update(grads, state) {
      const norm = globalNorm(grads);
      const factor = np.where(norm.greater(maxNorm), np.divide(maxNorm, np.maximum(norm, 1e-30)), 1);
      return [mapLike((g) => g.mul(factor), grads), state];
    },
  };
}

/**
 * Clips every update element into `[-maxDelta, maxDelta]`.
 *
 * @param maxDelta The largest allowed magnitude.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { clip } from "@wax/wax/optim";
 * const [u] = clip(1).update(np.array([-3, 0.5]), null);
 * assert(JSON.stringify(await u.tolist()) === "[-1,0.5]");
 * ```
 */
export function clip(maxDelta: number): GradientTransformation<null> {
  return {
    init: () => null,
    update: (grads, state) => [mapLike((g) => np.clip(g, -maxDelta, maxDelta), grads), state],
  };
}

/**
 * Multiplies updates by a fixed factor.
 *
 * @param factor The factor.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { scale } from "@wax/wax/optim";
 * const [u] = scale(-2).update(np.array([1.5]), null);
 * assert((await u.item()) === -3);
 * ```
 */
export function scale(factor: number): GradientTransformation<null> {
  return { init: () => null, update: (grads, state) => [mapLike((g) => g.mul(factor), grads), state] };
}

/**
 * Multiplies updates by `schedule(count)` and counts the step.
 *
 * @param schedule The schedule of the step count.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { exponentialDecay, scaleBySchedule } from "@wax/wax/optim";
 * const t = scaleBySchedule(exponentialDecay(1, { transitionSteps: 1, decayRate: 0.5 }));
 * let s = t.init(null);
 * let u = np.ones([1]);
 * for (let i = 0; i < 3; i++) [u, s] = t.update(np.ones([1]), s);
 * assert((await u.item()) === 0.25 && (await s.count.item()) === 3);
 * ```
 */
export function scaleBySchedule(schedule: Schedule): GradientTransformation<CountState> {
  return {
    init: () => ({ count: zeroCount() }),
    update(grads, state) {
      const f = schedule(state.count);
      return [mapLike((g) => g.mul(f), grads), { count: state.count.add(1) }];
    },
  };
}

/**
 * The final step of most optimizers: `−lr · updates`, with `lr` a number or a schedule of
 * the step count (kept in the state).
 *
 * @param learningRate A constant or a schedule.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { scaleByLearningRate } from "@wax/wax/optim";
 * const t = scaleByLearningRate(0.5);
 * const [u] = t.update(np.array([2]), t.init(null));
 * assert((await u.item()) === -1);
 * ```
 */
export function scaleByLearningRate(learningRate: number | Schedule): GradientTransformation<CountState> {
  const lr = learningRate;
  return scaleBySchedule(typeof lr === "number" ? () => np.array(-lr) : (c) => lr(c).neg());
}
