/** Shared by the GAN tests: small configurations, two-pattern data and distances to it. */
import { type Array, np, random, tree } from "../mod.ts";
import { MNIST_DCGAN } from "../models/mod.ts";

/**
 * The bare compact nets (no refining convolution, no batch norm in D, no weight average, no
 * code, no clusters), small; the options the default adds are tested on their own.
 */
export const small = { ...MNIST_DCGAN, width: 4, refine: false, dBatchNorm: false, ema: 0, codes: 0, clusters: 0 };
/** Small nets that learn two patterns in a few hundred steps. */
export const tiny = { ...small, width: 8, learningRate: 2e-3, dLearningRate: 2e-3 };
/** Steps the two-pattern tests train. */
export const STEPS = 300;
/** The arrays of a tree, in order. */
export const leaves = (t: tree.PyTree) => tree.leaves<Array>(t);
/** An array's values as plain numbers. */
export const values = async (x: Array) => globalThis.Array.from(await x.data());
/** 0, 1, 0, 1, … (n of them). */
export const alternating = (n: number) => globalThis.Array.from({ length: n }, (_, i) => i % 2);

/** 28×28 images of two patterns (0: a vertical bar, 1: a horizontal bar) with a little noise. */
export function twoPatterns(key: Array, labels: number[]): Array {
  const n = labels.length;
  const px = new Float32Array(n * 784).fill(-1);
  labels.forEach((y, i) => {
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) if ((y === 0 ? c : r) >= 10 && (y === 0 ? c : r) < 18) px[i * 784 + r * 28 + c] = 1;
    }
  });
  return np.clip(np.array(px, { shape: [n, 1, 28, 28] }).add(random.normal(key, [n, 1, 28, 28]).mul(0.05)), -1, 1);
}

/** For each image, the mean squared distance to the nearer pattern, and which pattern that is. */
export async function nearest(images: Array): Promise<{ dist: number; which: number[] }> {
  const clean = await twoPatterns(random.key(0), [0, 1]).data();
  const x = await images.data();
  const n = images.shape[0];
  let sum = 0;
  const which: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = [0, 1].map((p) => {
      let s = 0;
      for (let j = 0; j < 784; j++) s += (x[i * 784 + j] - clean[p * 784 + j]) ** 2;
      return s / 784;
    });
    sum += Math.min(...d);
    which.push(d[0] <= d[1] ? 0 : 1);
  }
  return { dist: sum / n, which };
}
