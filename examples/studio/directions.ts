/**
 * The tuner's latent directions, found from the VAE and the test set:
 *
 * - principal directions: the top eigenvectors of the covariance of the test digits' latent
 *   means (power iteration with deflation on the host), each scaled by its standard deviation;
 * - thickness and slant: for each class, the test digits are sorted by ink (the sum of their
 *   pixels) or by slant (the second central moment μ11/μ02: how far x drifts as y grows), and the
 *   direction is half the difference between the latent means of the top and bottom fifths,
 *   averaged over the classes (so it does not turn a 1 into an 8 just because 8s have more ink).
 *
 * Amount 1 along a data direction moves a latent from the middle to the mean of the top fifth.
 * @module
 */
import { np } from "../../mod.ts";
import type { Dataset } from "../../models/mod.ts";
import type { Encoder } from "./models.ts";

/** A named direction in latent space. */
export interface Direction {
  /** Its name (a query parameter of /tune.png). */
  name: string;
  /** What it is, for the page. */
  label: string;
  /** The vector, in latent units per amount 1. */
  vector: Float32Array;
}

/** How many principal directions the tuner offers. */
export const PRINCIPAL = 3;

/**
 * The ink (sum of pixels) and slant (μ11/μ02 of the pixel mass; positive leans right) of a
 * 28×28 image in [0, 1].
 *
 * @param img 784 pixels, row-major.
 * @returns Ink and slant.
 */
export function inkAndSlant(img: ArrayLike<number>): { ink: number; slant: number } {
  let m = 0, sx = 0, sy = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = img[y * 28 + x];
      m += v;
      sx += v * x;
      sy += v * y;
    }
  }
  if (m <= 0) return { ink: 0, slant: 0 };
  const [cx, cy] = [sx / m, sy / m];
  let mu11 = 0, mu02 = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = img[y * 28 + x];
      mu11 += v * (x - cx) * (y - cy);
      mu02 += v * (y - cy) * (y - cy);
    }
  }
  // y grows downwards, so a digit leaning right has x falling as y grows: negate.
  return { ink: m, slant: mu02 > 0 ? -mu11 / mu02 : 0 };
}

/**
 * The top `k` eigenvectors and eigenvalues of a symmetric `d × d` matrix, by power iteration
 * with deflation.
 *
 * @param cov The matrix, row-major.
 * @param d Its size.
 * @param k How many.
 * @returns The vectors (unit length) and their eigenvalues, largest first.
 */
export function topEigen(cov: Float64Array, d: number, k: number): { vectors: Float64Array[]; values: number[] } {
  const a = Float64Array.from(cov);
  const vectors: Float64Array[] = [];
  const values: number[] = [];
  for (let e = 0; e < Math.min(k, d); e++) {
    let v = Float64Array.from({ length: d }, (_, i) => Math.sin(1 + i * (e + 2))); // a fixed start
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) w[i] += a[i * d + j] * v[j];
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      const next = w.map((x) => x / norm);
      const change = next.reduce((s, x, i) => s + Math.abs(x - v[i]), 0);
      [v, lambda] = [next, norm];
      if (change < 1e-10) break;
    }
    vectors.push(v);
    values.push(lambda);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] -= lambda * v[i] * v[j];
  }
  return { vectors, values };
}

/**
 * The tuner's directions from an encoder and test images in [0, 1].
 *
 * @param encoder The VAE's encoder.
 * @param test Test images in [0, 1] and their labels.
 * @param limit How many test images to use (default 5000).
 * @returns The principal directions, then thickness and slant.
 */
export async function findDirections(encoder: Encoder, test: Dataset, limit = 5000): Promise<Direction[]> {
  const n = Math.min(limit, test.size);
  const parts: Float32Array[] = [];
  for (let at = 0; at < n; at += 500) {
    const m = Math.min(500, n - at);
    const x = np.array(test.images.subarray(at * 784, (at + m) * 784), { shape: [m, 1, 28, 28] });
    parts.push(Float32Array.from(await encoder.encode(x).data()));
  }
  const d = parts[0].length / Math.min(500, n);
  const mu = new Float32Array(n * d);
  parts.reduce((at, p) => (mu.set(p, at), at + p.length), 0);
  // Principal directions.
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += mu[i * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const da = mu[i * d + a] - mean[a];
      for (let b = 0; b < d; b++) cov[a * d + b] += (da * (mu[i * d + b] - mean[b])) / (n - 1);
    }
  }
  const { vectors, values } = topEigen(cov, d, PRINCIPAL);
  const out: Direction[] = vectors.map((v, i) => ({
    name: `pc${i + 1}`,
    label: `principal direction ${i + 1}`,
    vector: Float32Array.from(v, (x) => x * Math.sqrt(Math.max(values[i], 0))),
  }));
  // Data directions, within each class.
  const stats = Array.from({ length: n }, (_, i) => inkAndSlant(test.images.subarray(i * 784, (i + 1) * 784)));
  for (const [name, label, key] of [["thickness", "stroke thickness", "ink"], ["slant", "slant", "slant"]] as const) {
    const v = new Float64Array(d);
    let classes = 0;
    for (let c = 0; c < 10; c++) {
      const idx = [...Array(n).keys()].filter((i) => test.labels[i] === c).sort((a, b) =>
        stats[a][key] - stats[b][key]
      );
      const q = Math.floor(idx.length / 5);
      if (q < 1) continue;
      classes++;
      for (let t = 0; t < q; t++) {
        const [lo, hi] = [idx[t], idx[idx.length - 1 - t]];
        for (let j = 0; j < d; j++) v[j] += (mu[hi * d + j] - mu[lo * d + j]) / (2 * q);
      }
    }
    out.push({ name, label, vector: Float32Array.from(v, (x) => x / Math.max(classes, 1)) });
  }
  return out;
}
