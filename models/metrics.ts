/**
 * Metrics on the host, in float64: accuracy, the Inception Score of class probabilities (the
 * "MNIST score" with wax's classifier), the Fréchet distance between two Gaussians fitted to
 * features (with a symmetric eigendecomposition and the matrix square root it gives), label
 * accuracy of conditional samples, and the area under the ROC curve.
 * @module
 */

/**
 * The index of the largest value of each row of a `[n, classes]` matrix.
 *
 * @param m The matrix, row-major.
 * @param classes Its number of columns.
 * @returns One index per row.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { argmaxRows } from "@wax/wax/models";
 * assert.deepEqual([...argmaxRows([0.1, 0.9, 0.7, 0.3], 2)], [1, 0]);
 * ```
 */
export function argmaxRows(m: ArrayLike<number>, classes: number): Int32Array {
  const n = Math.floor(m.length / classes);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (m[i * classes + k] > m[i * classes + best]) best = k;
    out[i] = best;
  }
  return out;
}

/**
 * The fraction of predictions equal to their labels.
 *
 * @param predicted Predicted classes.
 * @param labels True classes, as many.
 * @returns A number in [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { accuracy } from "@wax/wax/models";
 * assert.equal(accuracy([1, 2, 3, 4], [1, 2, 0, 4]), 0.75);
 * ```
 */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length || predicted.length === 0) {
    throw new Error(
      `accuracy: ${predicted.length} predictions for ${labels.length} labels; give as many, at least one`,
    );
  }
  let hit = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hit++;
  return hit / labels.length;
}

/**
 * Label accuracy of conditional samples: the fraction whose most likely class (by a classifier's
 * probabilities) is the class they were asked for.
 *
 * @param probs Probabilities `[n, classes]`.
 * @param requested The class asked for, per sample.
 * @returns A number in [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { labelAccuracy } from "@wax/wax/models";
 * assert.equal(labelAccuracy([0.8, 0.2, 0.4, 0.6], [0, 0]), 0.5);
 * ```
 */
export function labelAccuracy(probs: ArrayLike<number>, requested: ArrayLike<number>): number {
  return accuracy(argmaxRows(probs, probs.length / requested.length), requested);
}

/**
 * The fraction of samples whose largest class probability exceeds `threshold`.
 *
 * @param probs Probabilities `[n, classes]`.
 * @param classes The number of classes.
 * @param threshold The confidence bar (default 0.9).
 * @returns A number in [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confidentFraction } from "@wax/wax/models";
 * assert.equal(confidentFraction([0.95, 0.05, 0.5, 0.5], 2), 0.5);
 * ```
 */
export function confidentFraction(probs: ArrayLike<number>, classes: number, threshold = 0.9): number {
  const n = probs.length / classes;
  let count = 0;
  for (let i = 0; i < n; i++) {
    let max = 0;
    for (let k = 0; k < classes; k++) max = Math.max(max, probs[i * classes + k]);
    if (max > threshold) count++;
  }
  return count / n;
}

/**
 * The Inception Score of class probabilities: `exp(mean over x of KL(p(y|x) ‖ p(y)))`, where
 * `p(y)` is the mean of the rows. It is 1 when every row is the same and at most `classes`,
 * reached when each row is one-hot and the classes are used equally. With wax's MNIST
 * classifier it is the "MNIST score".
 *
 * @param probs Probabilities `[n, classes]` (rows sum to 1).
 * @param classes The number of classes.
 * @returns The score.
 *
 * @example One-hot rows spread over 4 classes score 4
 * ```ts
 * import assert from "node:assert";
 * import { inceptionScore } from "@wax/wax/models";
 * const probs = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
 * assert(Math.abs(inceptionScore(probs, 4) - 4) < 1e-12);
 * ```
 */
export function inceptionScore(probs: ArrayLike<number>, classes: number): number {
  const n = probs.length / classes;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`inceptionScore: ${probs.length} probabilities do not form rows of ${classes}`);
  }
  const marginal = new Float64Array(classes);
  for (let i = 0; i < n; i++) for (let k = 0; k < classes; k++) marginal[k] += probs[i * classes + k] / n;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < classes; k++) {
      const p = probs[i * classes + k];
      if (p > 0) kl += p * (Math.log(p) - Math.log(marginal[k]));
    }
  }
  return Math.exp(kl / n);
}

/** A Gaussian fitted to feature vectors: mean and covariance, in float64. */
export interface Gaussian {
  /** Dimension. */
  dim: number;
  /** Mean `[dim]`. */
  mean: Float64Array;
  /** Covariance `[dim, dim]`, row-major (divided by n − 1). */
  cov: Float64Array;
}

/**
 * Mean and covariance (divided by n − 1) of `n` feature vectors.
 *
 * @param features The vectors `[n, dim]`, row-major.
 * @param dim Their dimension.
 * @returns The Gaussian.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gaussianStats } from "@wax/wax/models";
 * const g = gaussianStats([0, 0, 2, 2], 2); // points (0,0) and (2,2)
 * assert.deepEqual([...g.mean], [1, 1]);
 * assert.deepEqual([...g.cov], [2, 2, 2, 2]);
 * ```
 */
export function gaussianStats(features: ArrayLike<number>, dim: number): Gaussian {
  const n = features.length / dim;
  if (!Number.isInteger(n) || n < 2) {
    throw new Error(`gaussianStats: need at least 2 vectors of ${dim}, got ${features.length} values`);
  }
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += features[i * dim + j] / n;
  const cov = new Float64Array(dim * dim);
  const d = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) d[j] = features[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const da = d[a];
      if (da === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b] += da * d[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) cov[b * dim + a] = cov[a * dim + b] /= n - 1;
  }
  return { dim, mean, cov };
}

/**
 * Eigenvalues and eigenvectors of a symmetric matrix, by cyclic Jacobi rotations in float64.
 *
 * @param m The matrix `[n, n]`, row-major (symmetric).
 * @param n Its size.
 * @returns `values` (ascending) and `vectors` `[n, n]` whose column j goes with `values[j]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { symmetricEigen } from "@wax/wax/models";
 * const { values } = symmetricEigen([2, 1, 1, 2], 2);
 * assert(Math.abs(values[0] - 1) < 1e-12 && Math.abs(values[1] - 3) < 1e-12);
 * ```
 */
export function symmetricEigen(m: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (m.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${m.length}`);
  const a = Float64Array.from(m);
  let scale = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      scale = Math.max(scale, Math.abs(a[i * n + j]));
      if (Math.abs(a[i * n + j] - a[j * n + i]) > 1e-8 * (Math.abs(a[i * n + j]) + Math.abs(a[j * n + i]) + 1e-300)) {
        throw new Error(`symmetricEigen: the matrix is not symmetric at [${i}, ${j}]; symmetrise it first`);
      }
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= (1e-15 * scale) ** 2) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) <= 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) { // columns p, q of A·J
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) { // rows p, q of Jᵀ·A
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i] - a[j * n + j]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) vectors[k * n + j] = v[k * n + order[j]];
  return { values, vectors };
}

/**
 * The square root of a symmetric positive semi-definite matrix: the symmetric PSD `S` with
 * `S·S = M` (eigenvalues that rounding made slightly negative count as 0).
 *
 * @param m The matrix `[n, n]`, row-major.
 * @param n Its size.
 * @returns `S`, row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sqrtPsd } from "@wax/wax/models";
 * const s = sqrtPsd([4, 0, 0, 9], 2);
 * assert.deepEqual([...s].map((x) => Math.round(x * 1e9) / 1e9), [2, 0, 0, 3]);
 * ```
 */
export function sqrtPsd(m: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, n);
  const tol = 1e-10 * Math.max(1e-300, ...values.map(Math.abs));
  if (values[0] < -tol) {
    throw new Error(`sqrtPsd: the matrix has a negative eigenvalue ${values[0]}; it is not positive semi-definite`);
  }
  const root = values.map((x) => Math.sqrt(Math.max(0, x)));
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += vectors[i * n + k] * root[k] * vectors[j * n + k];
      s[i * n + j] = s[j * n + i] = acc;
    }
  }
  return s;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  }
  return c;
}

/**
 * The Fréchet distance between two Gaussians (the FID formula):
 * `‖μa − μb‖² + tr(Σa) + tr(Σb) − 2·tr((Σa Σb)^½)`, with `tr((Σa Σb)^½)` computed as the trace
 * of the square root of the symmetric PSD matrix `Σa^½ Σb Σa^½`.
 *
 * @param a One Gaussian.
 * @param b The other, of the same dimension.
 * @returns The distance (≥ 0; 0 for identical Gaussians).
 *
 * @example Two 1-d Gaussians: (μa − μb)² + (σa − σb)²
 * ```ts
 * import assert from "node:assert";
 * import { frechetDistance } from "@wax/wax/models";
 * const a = { dim: 1, mean: Float64Array.of(0), cov: Float64Array.of(4) };
 * const b = { dim: 1, mean: Float64Array.of(3), cov: Float64Array.of(1) };
 * assert(Math.abs(frechetDistance(a, b) - (9 + 1)) < 1e-12);
 * ```
 */
export function frechetDistance(a: Gaussian, b: Gaussian): number {
  const n = a.dim;
  if (b.dim !== n) throw new Error(`frechetDistance: dimensions differ (${a.dim} and ${b.dim})`);
  let d = 0;
  let trace = 0;
  for (let i = 0; i < n; i++) {
    d += (a.mean[i] - b.mean[i]) ** 2;
    trace += a.cov[i * n + i] + b.cov[i * n + i];
  }
  const ra = sqrtPsd(a.cov, n);
  const m = matmul(matmul(ra, b.cov, n), ra, n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) m[i * n + j] = m[j * n + i] = (m[i * n + j] + m[j * n + i]) / 2;
  }
  const { values } = symmetricEigen(m, n);
  const cross = values.reduce((s, x) => s + Math.sqrt(Math.max(0, x)), 0);
  return Math.max(0, d + trace - 2 * cross);
}

/**
 * The area under the ROC curve: the probability that a random positive scores higher than a
 * random negative (ties count one half).
 *
 * @param scores A score per example (higher: more likely positive).
 * @param positive Whether each example is positive.
 * @returns A number in [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { auroc } from "@wax/wax/models";
 * assert.equal(auroc([0.9, 0.4, 0.6, 0.1], [true, true, false, false]), 0.75);
 * ```
 */
export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number {
  const n = scores.length;
  if (positive.length !== n) throw new Error(`auroc: ${n} scores for ${positive.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[i] - scores[j]);
  let rankSum = 0;
  let pos = 0;
  for (let lo = 0; lo < n;) {
    let hi = lo;
    while (hi + 1 < n && scores[order[hi + 1]] === scores[order[lo]]) hi++;
    const rank = (lo + hi) / 2 + 1; // the mean 1-based rank of a run of ties
    for (let k = lo; k <= hi; k++) {
      if (positive[order[k]]) {
        rankSum += rank;
        pos++;
      }
    }
    lo = hi + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) throw new Error(`auroc: needs positives and negatives; got ${pos} and ${neg}`);
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
