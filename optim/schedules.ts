/**
 * Learning-rate schedules: functions of the step count (an int32 scalar array) to a float32
 * scalar, built from array ops so a jitted step evaluates them without a host round trip.
 * @module
 */
import { type Array, np } from "../mod.ts";

/** A schedule: step count (int32 scalar array, or a number) to a value (float32 scalar). */
export type Schedule = (count: Array | number) => Array;

const asCount = (c: Array | number): Array => (typeof c === "number" ? np.array(c) : c.astype("float32"));

/**
 * A constant schedule.
 *
 * @param value The value at every step.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { constant } from "@wax/wax/optim";
 * assert((await constant(0.1)(1000).item()) === 0.10000000149011612);
 * ```
 */
export function constant(value: number): Schedule {
  return () => np.array(value);
}

/** Options of `exponentialDecay`. */
export interface ExponentialDecayOptions {
  /** Steps per decay by `decayRate` (required, > 0). */
  transitionSteps: number;
  /** Factor per `transitionSteps` steps. */
  decayRate: number;
  /** Decay in whole steps of `transitionSteps` (default false: smoothly). */
  staircase?: boolean;
  /** Steps to hold `initValue` before decaying (default 0). */
  transitionBegin?: number;
  /** Bound the value at `endValue` (a floor when decaying, a ceiling when growing). */
  endValue?: number;
}

/**
 * Exponential decay: `initValue · decayRate^((count − transitionBegin) / transitionSteps)`.
 *
 * @param initValue The value before decaying.
 * @param opts `transitionSteps`, `decayRate`, `staircase`, `transitionBegin`, `endValue`.
 * @returns The schedule.
 *
 * @example Halve every 10 steps
 * ```ts
 * import assert from "node:assert";
 * import { exponentialDecay } from "@wax/wax/optim";
 * const s = exponentialDecay(1, { transitionSteps: 10, decayRate: 0.5 });
 * assert(Math.abs((await s(20).item()) - 0.25) < 1e-7);
 * ```
 */
export function exponentialDecay(initValue: number, opts: ExponentialDecayOptions): Schedule {
  const { transitionSteps, decayRate, staircase = false, transitionBegin = 0, endValue } = opts;
  if (!(transitionSteps > 0)) {
    throw new RangeError(`exponentialDecay: transitionSteps must be > 0, got ${transitionSteps}`);
  }
  return (count) => {
    let p = np.maximum(asCount(count).sub(transitionBegin), 0).div(transitionSteps);
    if (staircase) p = np.floor(p);
    let v = np.power(decayRate, p).mul(initValue);
    if (endValue !== undefined) v = decayRate < 1 ? np.maximum(v, endValue) : np.minimum(v, endValue);
    return v;
  };
}

/** Options of `cosineDecay`. */
export interface CosineDecayOptions {
  /** The final value as a fraction of `initValue` (default 0). */
  alpha?: number;
}

/**
 * Cosine decay from `initValue` to `alpha · initValue` over `decaySteps`, then constant.
 *
 * @param initValue The starting value.
 * @param decaySteps Steps to decay over.
 * @param opts `alpha` (default 0).
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { cosineDecay } from "@wax/wax/optim";
 * const s = cosineDecay(2, 100);
 * assert((await s(0).item()) === 2 && Math.abs(await s(50).item() - 1) < 1e-6 && (await s(500).item()) === 0);
 * ```
 */
export function cosineDecay(initValue: number, decaySteps: number, opts: CosineDecayOptions = {}): Schedule {
  const alpha = opts.alpha ?? 0;
  return (count) => {
    const t = np.minimum(asCount(count), decaySteps).div(decaySteps);
    const cos = np.cos(t.mul(Math.PI)).add(1).mul(0.5);
    return cos.mul(1 - alpha).add(alpha).mul(initValue);
  };
}

/** Options of `warmupCosineDecay`. */
export interface WarmupCosineDecayOptions {
  /** Value at step 0 (default 0). */
  initValue?: number;
  /** Value reached at the end of warmup. */
  peakValue: number;
  /** Steps of linear warmup. */
  warmupSteps: number;
  /** Total steps, warmup included, to reach `endValue`. */
  decaySteps: number;
  /** Final value (default 0). */
  endValue?: number;
}

/**
 * Linear warmup from `initValue` to `peakValue`, then cosine decay to `endValue` at
 * `decaySteps` (warmup included, as in optax).
 *
 * @param opts `peakValue`, `warmupSteps`, `decaySteps`, `initValue`, `endValue`.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { warmupCosineDecay } from "@wax/wax/optim";
 * const s = warmupCosineDecay({ peakValue: 1, warmupSteps: 10, decaySteps: 110 });
 * assert(Math.abs(await s(5).item() - 0.5) < 1e-6 && Math.abs(await s(60).item() - 0.5) < 1e-6);
 * ```
 */
export function warmupCosineDecay(opts: WarmupCosineDecayOptions): Schedule {
  const { initValue = 0, peakValue, warmupSteps, decaySteps, endValue = 0 } = opts;
  const span = Math.max(decaySteps - warmupSteps, 1);
  return (count) => {
    const c = asCount(count);
    const warm = np.minimum(c, warmupSteps).div(Math.max(warmupSteps, 1)).mul(peakValue - initValue).add(initValue);
    const t = np.clip(c.sub(warmupSteps), 0, span).div(span);
    const decay = np.cos(t.mul(Math.PI)).add(1).mul(0.5 * (peakValue - endValue)).add(endValue);
    return np.where(c.less(warmupSteps), warm, decay);
  };
}

/**
 * Piecewise constant: starts at `initValue` and multiplies by `scales[b]` once the count
 * reaches each boundary `b` (optax's `piecewise_constant_schedule`).
 *
 * @param initValue The value before the first boundary.
 * @param scales Boundary step → factor, e.g. `{ 1000: 0.1, 2000: 0.1 }`.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { piecewiseConstant } from "@wax/wax/optim";
 * const s = piecewiseConstant(1, { 10: 0.5, 20: 0.5 });
 * const v = [await s(9).item(), await s(10).item(), await s(25).item()];
 * assert(JSON.stringify(v) === "[1,0.5,0.25]");
 * ```
 */
export function piecewiseConstant(initValue: number, scales: Record<number, number>): Schedule {
  const bounds = Object.entries(scales).map(([b, s]) => [Number(b), s] as const).sort((a, b) => a[0] - b[0]);
  return (count) => {
    const c = asCount(count);
    let v = np.array(initValue);
    for (const [b, s] of bounds) v = np.where(c.less(b), v, v.mul(s));
    return v;
  };
}
