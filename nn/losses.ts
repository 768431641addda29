/**
 * Losses, numerically stable for any logits and differentiable twice: everything is built
 * from `softplus` and `logSoftmax`, whose forms never overflow and whose derivatives are the
 * exact sigmoid/softmax.
 * @module
 */
import { type Array, np } from "../mod.ts";
import { logSoftmax, softplus } from "./activations.ts";

/** How a loss reduces its per-element (or per-example) values. */
export interface LossOptions {
  /** "mean" (default), "sum", or "none" (the unreduced values). */
  reduction?: "mean" | "sum" | "none";
}

function reduce(v: Array, opts: LossOptions, op: string): Array {
  const r = opts.reduction ?? "mean";
  if (r === "none") return v;
  if (r === "sum") return v.sum();
  if (r === "mean") return v.mean();
  throw new Error(`${op}: reduction must be "mean", "sum" or "none", got ${JSON.stringify(r)}`);
}

function sameShape(op: string, a: Array, b: Array) {
  if (a.shape.join() !== b.shape.join()) {
    throw new Error(`${op}: shapes differ: [${a.shape}] vs [${b.shape}]; pass arrays of one shape`);
  }
}

/** Sums every axis but the batch axis 0 (a scalar input is one example). */
const perExample = (v: Array) => (v.ndim <= 1 ? v : v.sum(v.shape.slice(1).map((_, i) => i + 1)));

/**
 * Mean squared error, `(pred − target)²` averaged over every element.
 *
 * @param pred Predictions.
 * @param target Targets of the same shape.
 * @param opts `reduction` (default "mean").
 * @returns The loss.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { mse } from "@wax/wax/nn";
 * assert((await mse(np.array([1, 2]), np.array([1, 4])).item()) === 2);
 * ```
 */
export function mse(pred: Array, target: Array, opts: LossOptions = {}): Array {
  sameShape("mse", pred, target);
  return reduce(np.square(pred.sub(target)), opts, "mse");
}

/**
 * Binary cross-entropy on logits, `softplus(x) − x·z` = `−[z log σ(x) + (1 − z) log(1 − σ(x))]`,
 * per element; labels `z` in [0, 1]. Finite with finite gradients for any logits.
 *
 * @param logits The logits `x`.
 * @param labels Targets `z` of the same shape.
 * @param opts `reduction` (default "mean").
 * @returns The loss.
 *
 * @example Extreme logits stay finite
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { bceWithLogits } from "@wax/wax/nn";
 * const l = await bceWithLogits(np.array([1e4, -1e4]), np.array([0, 0]), { reduction: "none" }).tolist();
 * assert(JSON.stringify(l) === "[10000,0]");
 * ```
 */
export function bceWithLogits(logits: Array, labels: Array, opts: LossOptions = {}): Array {
  sameShape("bceWithLogits", logits, labels);
  return reduce(softplus(logits).sub(logits.mul(labels)), opts, "bceWithLogits");
}

/**
 * Softmax cross-entropy over the last axis: `−Σ labels · logSoftmax(logits)` per example.
 * Labels are either integer class indices (shape `logits.shape[:-1]`, int32/uint32) or
 * probabilities / one-hot vectors (float, the shape of `logits`).
 *
 * @param logits `[..., classes]`.
 * @param labels Integer classes `[...]` or float targets `[..., classes]`.
 * @param opts `reduction` over examples (default "mean").
 * @returns The loss.
 *
 * @example Integer labels and one-hot agree
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { softmaxCrossEntropy } from "@wax/wax/nn";
 * const logits = np.array([[2, 0, 0], [0, 0, 5]]);
 * const a = await softmaxCrossEntropy(logits, np.array([0, 2], { dtype: "int32" })).item();
 * const b = await softmaxCrossEntropy(logits, np.array([[1, 0, 0], [0, 0, 1]])).item();
 * assert(Math.abs(a - b) < 1e-6);
 * ```
 */
export function softmaxCrossEntropy(logits: Array, labels: Array, opts: LossOptions = {}): Array {
  const classes = logits.shape[logits.ndim - 1];
  let targets = labels;
  if (labels.dtype === "int32" || labels.dtype === "uint32") {
    if (labels.shape.join() !== logits.shape.slice(0, -1).join()) {
      throw new Error(
        `softmaxCrossEntropy: integer labels [${labels.shape}] must have the logits' shape [${logits.shape}] without the class axis`,
      );
    }
    targets = np.equal(labels.expandDims(-1), np.arange(0, classes, 1, { dtype: labels.dtype })).astype("float32");
  } else sameShape("softmaxCrossEntropy", logits, labels);
  return reduce(targets.mul(logSoftmax(logits)).sum(-1).neg(), opts, "softmaxCrossEntropy");
}

/**
 * KL divergence `KL(N(mu, exp(logVar)) ‖ N(0, 1))` of a diagonal Gaussian (the VAE's
 * regulariser): `½ Σ (exp(logVar) + mu² − 1 − logVar)`, summed over every axis but the batch
 * axis 0, then reduced over the batch.
 *
 * @param mu Means `[N, ...]`.
 * @param logVar Log-variances of the same shape.
 * @param opts `reduction` over examples (default "mean").
 * @returns The divergence.
 *
 * @example Zero for the standard normal
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { gaussianKl } from "@wax/wax/nn";
 * assert((await gaussianKl(np.zeros([4, 8]), np.zeros([4, 8])).item()) === 0);
 * ```
 */
export function gaussianKl(mu: Array, logVar: Array, opts: LossOptions = {}): Array {
  sameShape("gaussianKl", mu, logVar);
  const terms = np.exp(logVar).add(np.square(mu)).sub(1).sub(logVar).mul(0.5);
  return reduce(perExample(terms), opts, "gaussianKl");
}

/**
 * Log-likelihood of data `x` in [0, 1] under independent Bernoullis with logits:
 * `Σ x·l − softplus(l)`, summed over every axis but the batch axis 0, then reduced over the
 * batch. Maximise it (or minimise its negative) for a VAE decoder.
 *
 * @param logits The decoder's logits `l`, `[N, ...]`.
 * @param x The data, same shape.
 * @param opts `reduction` over examples (default "mean").
 * @returns The log-likelihood (≤ 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { bernoulliLogLikelihood } from "@wax/wax/nn";
 * const ll = await bernoulliLogLikelihood(np.zeros([1, 2]), np.array([[1, 0]])).item();
 * assert(Math.abs(ll - 2 * Math.log(0.5)) < 1e-6);
 * ```
 */
export function bernoulliLogLikelihood(logits: Array, x: Array, opts: LossOptions = {}): Array {
  sameShape("bernoulliLogLikelihood", logits, x);
  return reduce(perExample(x.mul(logits).sub(softplus(logits))), opts, "bernoulliLogLikelihood");
}
