/**
 * Activation functions: plain `Array -> Array` functions, usable directly or as layers in
 * `serial(...)`. Each is built from wax primitives, so it works under every transform, and
 * each is written so its gradients stay finite for extreme inputs. They follow `jax.nn`
 * where inputs are special: a NaN input gives a NaN output, and the derivative at a kink is
 * the one `jax.nn` uses (relu'(0) = 0, leakyRelu'(0) = 1, elu'(0) = alpha).
 * @module
 */
import { type Array, np } from "../mod.ts";
import { normAxes } from "../core/shape.ts";

/**
 * Rectified linear unit, `max(x, 0)`. NaN stays NaN and the derivative at 0 is 0, as in
 * `jax.nn.relu`.
 *
 * @param x The input.
 * @returns `max(x, 0)` elementwise.
 *
 * @example Clamp negatives
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { relu } from "@wax/wax/nn";
 * assert(JSON.stringify(await relu(np.array([-1, 2])).tolist()) === "[0,2]");
 * ```
 */
export function relu(x: Array): Array {
  // `x <= 0` is false for NaN, so NaN passes through; the select gives derivative 0 at 0.
  return np.where(np.lessEqual(x, 0), 0, x);
}

/** Options of `leakyRelu`. */
export interface LeakyReluOptions {
  /** Slope for negative inputs (default 0.01). */
  negativeSlope?: number;
}

/**
 * Leaky ReLU, `x` for `x >= 0` and `negativeSlope * x` otherwise (so the derivative at 0
 * is 1, as in `jax.nn.leaky_relu`).
 *
 * @param x The input.
 * @param opts `negativeSlope` (default 0.01).
 * @returns The activation, elementwise.
 *
 * @example The DCGAN discriminator's slope
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { leakyRelu } from "@wax/wax/nn";
 * const y = await leakyRelu(np.array([-10, 3]), { negativeSlope: 0.2 }).tolist();
 * assert(JSON.stringify(y) === "[-2,3]");
 * ```
 */
export function leakyRelu(x: Array, opts: LeakyReluOptions = {}): Array {
  return np.where(np.greaterEqual(x, 0), x, x.mul(opts.negativeSlope ?? 0.01));
}

/** Options of `elu`. */
export interface EluOptions {
  /** Scale of the negative part (default 1). */
  alpha?: number;
}

/**
 * Exponential linear unit: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise (derivative
 * `alpha` at 0, as in `jax.nn.elu`).
 *
 * @param x The input.
 * @param opts `alpha` (default 1).
 * @returns The activation, elementwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { elu } from "@wax/wax/nn";
 * const y = await elu(np.array([-100, 2])).data();
 * assert(Math.abs(y[0] + 1) < 1e-6 && y[1] === 2);
 * ```
 */
export function elu(x: Array, opts: EluOptions = {}): Array {
  // The negative branch sees 0 where x > 0 (no overflow in expm1) and x elsewhere, NaN included.
  const pos = x.greater(0);
  const neg = np.expm1(np.where(pos, 0, x)).mul(opts.alpha ?? 1);
  return np.where(pos, x, neg);
}

/** Options of `gelu`. */
export interface GeluOptions {
  /** Use the tanh approximation (default true, like `jax.nn.gelu`); false uses `erf`. */
  approximate?: boolean;
}

/**
 * Gaussian error linear unit, `x * Φ(x)`.
 *
 * @param x The input.
 * @param opts `approximate` (default true: the tanh form).
 * @returns The activation, elementwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { gelu } from "@wax/wax/nn";
 * const y = await gelu(np.array([1]), { approximate: false }).item();
 * assert(Math.abs(y - 0.8413447) < 1e-5);
 * ```
 */
export function gelu(x: Array, opts: GeluOptions = {}): Array {
  if (opts.approximate ?? true) {
    const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(np.tanh(inner).add(1)).mul(0.5);
  }
  return x.mul(np.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
}

/**
 * Logistic sigmoid, `1 / (1 + exp(-x))`.
 *
 * @param x The input.
 * @returns Values in (0, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { sigmoid } from "@wax/wax/nn";
 * assert((await sigmoid(np.array(0)).item()) === 0.5);
 * ```
 */
export function sigmoid(x: Array): Array {
  return np.sigmoid(x);
}

/**
 * Hyperbolic tangent.
 *
 * @param x The input.
 * @returns Values in (-1, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { tanh } from "@wax/wax/nn";
 * assert((await tanh(np.array(0)).item()) === 0);
 * ```
 */
export function tanh(x: Array): Array {
  return np.tanh(x);
}

/**
 * Softplus, `log(1 + exp(x))`, computed as `max(x, 0) + log1p(exp(−|x|))`: no overflow, one
 * exponential per element, and finite, exact derivatives of every order for any input.
 *
 * @param x The input.
 * @returns The activation, elementwise.
 *
 * @example No overflow at large inputs
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { softplus } from "@wax/wax/nn";
 * const y = await softplus(np.array([-1e4, 0, 1e4])).data();
 * assert(y[0] === 0 && Math.abs(y[1] - Math.LN2) < 1e-6 && y[2] === 1e4);
 * ```
 */
export function softplus(x: Array): Array {
  // max(x, 0) + log1p(exp(−|x|)): one exp and one log1p, and exp never sees a positive input.
  // |x| is a select on x > 0 rather than abs, so the derivative at 0 is σ(0) = 1/2, not abs'(0)'s 0.
  const pos = x.greater(0);
  return np.where(pos, x, 0).add(np.log1p(np.exp(np.where(pos, x.neg(), x))));
}

/** Options of `softmax` and `logSoftmax`. */
export interface SoftmaxOptions {
  /** The axis (or axes) to normalise over (default -1). */
  axis?: number | number[];
}

/**
 * Log of the softmax, `x - logsumexp(x)`, stable for any logits.
 *
 * @param x Logits.
 * @param opts `axis` (default -1).
 * @returns Log-probabilities along `axis`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { logSoftmax } from "@wax/wax/nn";
 * const y = await logSoftmax(np.array([1e4, 0])).data();
 * assert(y[0] === 0 && y[1] === -1e4);
 * ```
 */
export function logSoftmax(x: Array, opts: SoftmaxOptions = {}): Array {
  return logSoftmaxOf("logSoftmax", x, opts);
}
function logSoftmaxOf(op: string, x: Array, opts: SoftmaxOptions): Array {
  const axis = normAxes(op, opts.axis ?? -1, x.shape);
  return x.sub(np.logsumexp(x, { axis, keepdims: true }));
}

/**
 * Softmax along an axis, `exp(x - logsumexp(x))`; a NaN in a slice makes that whole slice
 * NaN, as in `jax.nn.softmax`.
 *
 * @param x Logits.
 * @param opts `axis` (default -1).
 * @returns Probabilities summing to 1 along `axis`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { softmax } from "@wax/wax/nn";
 * const p = await softmax(np.array([[1, 1], [0, 1e4]])).tolist();
 * assert(JSON.stringify(p) === "[[0.5,0.5],[0,1]]");
 * ```
 */
export function softmax(x: Array, opts: SoftmaxOptions = {}): Array {
  return np.exp(logSoftmaxOf("softmax", x, opts));
}
