/**
 * Named optimizers as recipes: chains of the building blocks ending in the learning rate.
 * @module
 */
import { chain, type CountState, type GradientTransformation, identity } from "./base.ts";
import type { Schedule } from "./schedules.ts";
import {
  type AdamOptions,
  type AdamState,
  addDecayedWeights,
  type RmsState,
  type RssOptions,
  type RssState,
  scaleByAdam,
  scaleByLearningRate,
  scaleByMomentum,
  scaleByRms,
  scaleByRss,
  type TraceState,
} from "./transforms.ts";

/** Options of `sgd`. */
export interface SgdOptions {
  /** Momentum coefficient (default 0: plain gradient descent). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent, optionally with (Nesterov) momentum.
 *
 * @param learningRate A constant or a schedule.
 * @param opts `momentum`, `nesterov`.
 * @returns The optimizer.
 *
 * @example One step
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { applyUpdates, sgd } from "@wax/wax/optim";
 * const opt = sgd(0.1);
 * const p = { w: np.array([1]) };
 * const [u] = opt.update({ w: np.array([2]) }, opt.init(p), p);
 * assert(Math.abs((await applyUpdates(p, u).w.item()) - 0.8) < 1e-7);
 * ```
 */
export function sgd(
  learningRate: number | Schedule,
  opts: SgdOptions = {},
): GradientTransformation<[TraceState | null, CountState]> {
  const m: GradientTransformation<TraceState | null> = opts.momentum
    ? scaleByMomentum(opts.momentum, { nesterov: opts.nesterov })
    : identity();
  return chain(m, scaleByLearningRate(learningRate));
}

/**
 * Adam (Kingma & Ba).
 *
 * @param learningRate A constant or a schedule.
 * @param opts `b1` (0.9), `b2` (0.999), `eps` (1e-8), `epsRoot` (0).
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { adam } from "@wax/wax/optim";
 * const opt = adam(0.01);
 * const [u] = opt.update(np.array([5]), opt.init(np.zeros([1])));
 * assert(Math.abs((await u.item()) + 0.01) < 1e-6);
 * ```
 */
export function adam(
  learningRate: number | Schedule,
  opts: AdamOptions = {},
): GradientTransformation<[AdamState, CountState]> {
  return chain(scaleByAdam(opts), scaleByLearningRate(learningRate));
}

/** Options of `adamw`. */
export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay (default 1e-4, as in optax). */
  weightDecay?: number;
}

/**
 * AdamW: Adam with decoupled weight decay, `−lr · (adam(g) + weightDecay · params)`.
 * Needs the parameters in `update`.
 *
 * @param learningRate A constant or a schedule.
 * @param opts Adam's options and `weightDecay` (default 1e-4).
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { adamw } from "@wax/wax/optim";
 * const opt = adamw(0.1, { weightDecay: 0.5 });
 * const p = np.array([2]);
 * const [u] = opt.update(np.array([1]), opt.init(p), p);
 * assert(Math.abs((await u.item()) + 0.2) < 1e-6);
 * ```
 */
export function adamw(
  learningRate: number | Schedule,
  opts: AdamWOptions = {},
): GradientTransformation<[AdamState, null, CountState]> {
  return chain(scaleByAdam(opts), addDecayedWeights(opts.weightDecay ?? 1e-4), scaleByLearningRate(learningRate));
}

/** Options of `rmsprop`. */
export interface RmspropOptions {
  /** Decay of the mean of squares (default 0.9). */
  decay?: number;
  /** Added inside the root (default 1e-8). */
  eps?: number;
  /** Momentum on the rescaled gradients (default 0: none). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
}

/**
 * RMSProp, optionally with momentum.
 *
 * @param learningRate A constant or a schedule.
 * @param opts `decay`, `eps`, `momentum`, `nesterov`.
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { rmsprop } from "@wax/wax/optim";
 * const opt = rmsprop(0.1, { decay: 0 });
 * const [u] = opt.update(np.array([-4]), opt.init(np.zeros([1])));
 * assert(Math.abs((await u.item()) - 0.1) < 1e-6);
 * ```
 */
export function rmsprop(
  learningRate: number | Schedule,
  opts: RmspropOptions = {},
): GradientTransformation<[RmsState, TraceState | null, CountState]> {
  const m: GradientTransformation<TraceState | null> = opts.momentum
    ? scaleByMomentum(opts.momentum, { nesterov: opts.nesterov })
    : identity();
  return chain(scaleByRms({ decay: opts.decay, eps: opts.eps }), m, scaleByLearningRate(learningRate));
}

/**
 * Adagrad: per-coordinate steps shrinking with the sum of past squared gradients.
 *
 * @param learningRate A constant or a schedule.
 * @param opts `initialAccumulatorValue` (0.1), `eps` (1e-7).
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { adagrad } from "@wax/wax/optim";
 * const opt = adagrad(1, { initialAccumulatorValue: 0, eps: 0 });
 * const [u] = opt.update(np.array([3]), opt.init(np.zeros([1])));
 * assert((await u.item()) === -1);
 * ```
 */
export function adagrad(
  learningRate: number | Schedule,
  opts: RssOptions = {},
): GradientTransformation<[RssState, CountState]> {
  return chain(scaleByRss(opts), scaleByLearningRate(learningRate));
}
