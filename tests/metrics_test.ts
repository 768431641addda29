import assert from "node:assert/strict";
import { join } from "node:path";
import type { Dataset } from "../models/data/mod.ts";
import {
  accuracy,
  argmaxRows,
  auroc,
  confidentFraction,
  evaluateClassifier,
  frechetDistance,
  gaussianStats,
  inceptionScore,
  labelAccuracy,
  makeClassifier,
  MnistMetrics,
  sqrtPsd,
  symmetricEigen,
} from "../models/mod.ts";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-10) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `[${i}]: ${a[i]} vs ${b[i]}`);
};

/** Q·diag(d)·Qᵀ for Q the rotation by θ in the (0,1) plane times the rotation by φ in the (1,2) plane. */
function rotated(d: number[], theta = 0.3, phi = 1.1): { m: Float64Array; q: Float64Array } {
  const [c1, s1, c2, s2] = [Math.cos(theta), Math.sin(theta), Math.cos(phi), Math.sin(phi)];
  const r1 = [c1, -s1, 0, s1, c1, 0, 0, 0, 1];
  const r2 = [1, 0, 0, 0, c2, -s2, 0, s2, c2];
  const q = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) q[i * 3 + j] += r1[i * 3 + k] * r2[k * 3 + j];
  }
  const m = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) m[i * 3 + j] += q[i * 3 + k] * d[k] * q[j * 3 + k];
  }
  return { m, q };
}

Deno.test("accuracy, argmaxRows, labelAccuracy and confidentFraction on hand-made inputs", () => {
  assert.equal(accuracy([0, 1, 2, 3], [0, 1, 1, 3]), 0.75);
  assert.throws(() => accuracy([1], [1, 2]), /1 predictions for 2 labels/);
  const probs = [0.7, 0.2, 0.1, 0.05, 0.05, 0.9, 0.3, 0.4, 0.3];
  assert.deepEqual([...argmaxRows(probs, 3)], [0, 2, 1]);
  assert.equal(labelAccuracy(probs, [0, 2, 2]), 2 / 3);
  assert.equal(confidentFraction(probs, 3), 0); // 0.9 is not above 0.9
  assert.equal(confidentFraction(probs, 3, 0.6), 2 / 3);
});

Deno.test("inceptionScore: 1 for identical rows, the number of classes for balanced one-hot rows, a hand-worked case", () => {
  assert.ok(Math.abs(inceptionScore([0.2, 0.8, 0.2, 0.8, 0.2, 0.8], 2) - 1) < 1e-12);
  const oneHot = Array.from({ length: 100 }, (_, i) => Array.from({ length: 10 }, (_, k) => (k === i % 10 ? 1 : 0)))
    .flat();
  assert.ok(Math.abs(inceptionScore(oneHot, 10) - 10) < 1e-9);
  // Rows [½, ½] and [1, 0]: p(y) = [¾, ¼]; KL = ½ln(4/3) and ln(4/3); IS = (4/3)^¾.
  assert.ok(Math.abs(inceptionScore([0.5, 0.5, 1, 0], 2) - (4 / 3) ** 0.75) < 1e-12);
  assert.throws(() => inceptionScore([0.5, 0.5, 1], 2), /do not form rows of 2/);
});

Deno.test("symmetricEigen recovers the eigenvalues and eigenvectors of a matrix built from them", () => {
  const { m, q } = rotated([5, -2, 0.5]);
  const { values, vectors } = symmetricEigen(m, 3);
  close(values, [-2, 0.5, 5], 1e-12);
  // Each eigenvector is ± the matching column of Q.
  const col = (a: ArrayLike<number>, j: number) => [a[j], a[3 + j], a[6 + j]];
  for (const [j, k] of [[0, 1], [1, 2], [2, 0]]) {
    const v = col(vectors, j);
    const want = col(q, k);
    const sign = Math.sign(v[0] * want[0] + v[1] * want[1] + v[2] * want[2]);
    close(v.map((x) => x * sign), want, 1e-12);
  }
  close(symmetricEigen([3], 1).values, [3]);
  assert.throws(() => symmetricEigen([1, 2, 3, 1], 2), /not symmetric at \[0, 1\]/);
});

Deno.test("sqrtPsd against matrices with known roots (full rank, singular, a 2×2 in closed form); rejects non-PSD", () => {
  const { m: root } = rotated([1, 2, 3]);
  const { m: square } = rotated([1, 4, 9]);
  close(sqrtPsd(square, 3), root, 1e-12);
  // [[1, 1], [1, 1]] has rank 1 and root [[1, 1], [1, 1]]/√2.
  close(sqrtPsd([1, 1, 1, 1], 2), [1, 1, 1, 1].map((x) => x / Math.SQRT2), 1e-12);
  // √[[2, 1], [1, 2]] = [[a, b], [b, a]] with a = (√3 + 1)/2, b = (√3 − 1)/2.
  const [a, b] = [(Math.sqrt(3) + 1) / 2, (Math.sqrt(3) - 1) / 2];
  close(sqrtPsd([2, 1, 1, 2], 2), [a, b, b, a], 1e-12);
  close(sqrtPsd(new Float64Array(9), 3), new Float64Array(9));
  assert.throws(() => sqrtPsd(rotated([1, -1, 2]).m, 3), /negative eigenvalue -1.* not positive semi-definite/);
});

Deno.test("gaussianStats and frechetDistance: zero for equal Gaussians, closed forms for 1-d, diagonal and one 2×2 case", () => {
  const g = gaussianStats([1, 2, 3, 6, 5, 10], 2); // points (1,2), (3,6), (5,10)
  close(g.mean, [3, 6]);
  close(g.cov, [4, 8, 8, 16]);
  assert.throws(() => gaussianStats([1, 2], 2), /at least 2 vectors/);
  const { m } = rotated([1, 2, 3]);
  const a = { dim: 3, mean: Float64Array.of(1, 2, 3), cov: m };
  assert.ok(Math.abs(frechetDistance(a, a)) < 1e-9);
  // Diagonal covariances: Σ (μa − μb)² + Σ (σa − σb)².
  const da = { dim: 2, mean: Float64Array.of(0, 1), cov: Float64Array.of(4, 0, 0, 9) };
  const db = { dim: 2, mean: Float64Array.of(2, 1), cov: Float64Array.of(1, 0, 0, 16) };
  assert.ok(Math.abs(frechetDistance(da, db) - (4 + 1 + 1)) < 1e-12);
  // Σa = I, Σb = [[2, 1], [1, 2]]: tr √Σb = √3 + 1, so d = tr(I) + tr(Σb) − 2(√3 + 1).
  const ia = { dim: 2, mean: new Float64Array(2), cov: Float64Array.of(1, 0, 0, 1) };
  const ib = { dim: 2, mean: new Float64Array(2), cov: Float64Array.of(2, 1, 1, 2) };
  assert.ok(Math.abs(frechetDistance(ia, ib) - (2 + 4 - 2 * (Math.sqrt(3) + 1))) < 1e-12);
  assert.throws(() => frechetDistance(ia, a), /dimensions differ \(2 and 3\)/);
});

Deno.test("auroc on hand-made scores: the textbook case, ties counted half, perfect and reversed", () => {
  assert.equal(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  // Positives {0.5, 0.9}, negatives {0.5, 0.2}: pairs 0.5/0.5 (½), 0.5/0.2, 0.9/0.5, 0.9/0.2 → 3.5 / 4.
  assert.equal(auroc([0.5, 0.5, 0.2, 0.9], [true, false, false, true]), 0.875);
  assert.equal(auroc([1, 2, 3, 4], [0, 0, 1, 1]), 1);
  assert.equal(auroc([1, 2, 3, 4], [1, 1, 0, 0]), 0);
  assert.equal(auroc([7, 7, 7], [1, 0, 1]), 0.5);
  assert.throws(() => auroc([1, 2], [1, 1]), /needs positives and negatives; got 2 and 0/);
});

/** 28×28 images of two easy classes: a bright left half (label 0) or a bright right half (label 1), with noise. */
function halves(n: number, seed: number): Dataset {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const images = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 784; p++) {
      const right = p % 28 >= 14;
      images[i * 784 + p] = (right === (labels[i] === 1) ? 0.8 : -0.8) + 0.4 * (rand() - 0.5);
    }
  }
  return { images, labels, size: n, shape: [1, 28, 28], classes: ["left", "right"], source: "test" };
}

Deno.test("MnistMetrics: trains the classifier on first use with progress, then loads it; known answers on its data", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "classifier", "mnist.safetensors");
  const data = { train: halves(64, 1), test: halves(32, 2) };
  let progress = "";
  const lines: string[] = [];
  const train = {
    data,
    epochs: 5,
    batch: 16,
    lr: 0.01,
    config: { channels: [4, 8] as [number, number], hidden: 8, classes: 2 },
  };
  const m = await MnistMetrics.load({
    path,
    log: (l) => lines.push(l),
    train: { ...train, progress: { tty: false, every: 4, write: (s) => (progress += s) } },
  });
  assert.match(lines[0], /no classifier at .*mnist\.safetensors; training one now/);
  assert.match(lines[1], /classifier saved to .* \(test accuracy 100\.00%\)/);
  assert.match(progress, /^step 4\/20 \(20%\) {2}epoch 1 {2}loss [0-9.e-]+ {2}acc [0-9.]+ {2}\|/);
  assert.equal(m.accuracy, 1);
  const again = await MnistMetrics.load({ path, train: false });
  assert.deepEqual(again.config, m.config);
  // Known answers: a set against itself is at Fréchet distance 0; its true labels are classified at the
  // classifier's accuracy; balanced, confidently classified two-class data scores nearly 2.
  const r = await again.evaluate(data.test, { reference: data.test, labels: data.test.labels });
  assert.ok(Math.abs(r.frechet!) < 1e-6, `frechet ${r.frechet}`);
  const clf = makeClassifier(again.config);
  assert.equal(r.labelAccuracy, await evaluateClassifier(clf, again.params, data.test));
  assert.equal(r.labelAccuracy, 1);
  assert.ok(r.score > 1.8 && r.score <= 2, `score ${r.score}`);
  // Arrays in [0, 1] are rescaled to the classifier's [-1, 1].
  const { np } = await import("../mod.ts");
  const x01 = np.array(data.test.images.map((v) => (v + 1) / 2), { shape: [32, 1, 28, 28] });
  const r01 = await again.evaluate(x01, { range: [0, 1], labels: data.test.labels });
  assert.ok(Math.abs(r01.score - r.score) < 1e-4);
  await assert.rejects(
    () => MnistMetrics.load({ path: join(dir, "none.safetensors"), train: false }),
    /run examples\/classifier\.ts/,
  );
  await Deno.remove(dir, { recursive: true });
});
