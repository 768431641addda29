/** The autoencoder: shapes, noise, training, anomaly scores, its pictures, and the example's resume. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { np, random } from "../mod.ts";
import {
  addNoise,
  auroc,
  batchStream,
  codePlot,
  firstOfEachLabel,
  imageRows,
  loadMnist,
  makeAutoencoder,
  PALETTE,
  parseNoise,
  pickImages,
  readPng,
  rgba,
  rocCurve,
  rocPlot,
  saveGrid,
} from "../models/mod.ts";
import { assertSameCheckpoint, runExample, tinyMnist } from "./_examples_util.ts";

Deno.test("autoencoder: every variant maps [B,1,28,28] to [B,code] and back, and trains a step", async () => {
  for (const arch of ["dense", "conv"] as const) {
    for (const code of [2, 32]) {
      const ae = makeAutoencoder({ arch, code });
      const s = ae.init(random.key(0));
      const x = random.uniform(random.key(1), [3, 1, 28, 28]);
      const z = ae.encode(s.params, x);
      assert.deepEqual(z.shape, [3, code], `${arch} ${code}`);
      const y = ae.decode(s.params, z);
      assert.deepEqual(y.shape, [3, 1, 28, 28]);
      const px = await y.data();
      assert.ok(px.every((v) => v > 0 && v < 1), "sigmoid output in (0, 1)");
      assert.deepEqual(ae.reconstruct(s.params, x).shape, [3, 1, 28, 28]);
      assert.deepEqual(ae.errors(s.params, x).shape, [3]);
      const [next, m] = ae.step(s, x, random.key(2));
      assert.ok(Number.isFinite(await m.loss.item()) && Number.isFinite(await m.mse.item()));
      assert.deepEqual(ae.encode(next.params, x).shape, [3, code]);
    }
  }
});

Deno.test("autoencoder: errors is each image's mean squared error, checked by a plain loop", async () => {
  const ae = makeAutoencoder({ arch: "dense", code: 4 });
  const { params } = ae.init(random.key(3));
  const x = random.uniform(random.key(4), [2, 1, 28, 28]);
  const [r, xs, e] = await Promise.all([ae.reconstruct(params, x).data(), x.data(), ae.errors(params, x).data()]);
  for (let i = 0; i < 2; i++) {
    let s = 0;
    for (let j = 0; j < 784; j++) s += (r[i * 784 + j] - xs[i * 784 + j]) ** 2;
    assert.ok(Math.abs(e[i] - s / 784) < 1e-6, `${e[i]} vs ${s / 784}`);
  }
});

Deno.test("autoencoder step: the loss is the cross-entropy of the noisy input's reconstruction against the clean image, by hand", async () => {
  // The oracle: the noise the step draws from its key (addNoise with that key), the decoder's
  // probabilities for the noisy input, and the Bernoulli cross-entropy and squared error in float64.
  for (const noise of [null, { kind: "mask" as const, level: 0.4 }, { kind: "gaussian" as const, level: 0.3 }]) {
    const ae = makeAutoencoder({ arch: "conv", code: 6, noise });
    const s = ae.init(random.key(20));
    const x = random.uniform(random.key(21), [2, 1, 28, 28]);
    const key = random.key(22);
    const input = noise ? addNoise(key, x, noise) : x;
    const [p, xs] = [await ae.reconstruct(s.params, input).data(), await x.data()];
    let [bce, se] = [0, 0];
    for (let i = 0; i < p.length; i++) {
      bce -= (xs[i] * Math.log(p[i]) + (1 - xs[i]) * Math.log(1 - p[i])) / p.length;
      se += (p[i] - xs[i]) ** 2 / p.length;
    }
    const [, m] = ae.step(s, x, key);
    const [loss, mse] = [await m.loss.item(), await m.mse.item()];
    assert.ok(Math.abs(loss - bce) < 1e-5 * bce, `${noise?.kind}: loss ${loss} vs ${bce}`);
    assert.ok(Math.abs(mse - se) < 1e-5 * se, `${noise?.kind}: mse ${mse} vs ${se}`);
  }
});

Deno.test("pickImages and firstOfEachLabel: the images at given indices, and one example of each label first", async () => {
  const data = {
    images: Float32Array.from({ length: 5 * 4 }, (_, i) => i),
    shape: [1, 2, 2] as [number, number, number],
  };
  const x = pickImages(data, [3, 1]);
  assert.deepEqual(x.shape, [2, 1, 2, 2]);
  assert.deepEqual([...await x.data()], [12, 13, 14, 15, 4, 5, 6, 7]);
  assert.throws(() => pickImages(data, [5]), /pickImages: index 5 is outside the 5 images/);
  assert.deepEqual(firstOfEachLabel([2, 2, 0, 1, 0, 2], 5), [2, 3, 0, 1, 4]);
  assert.deepEqual(firstOfEachLabel([3, 3, 1], 3), [2, 0, 1]); // labels 0 and 2 do not occur
  assert.throws(() => firstOfEachLabel([0, 1], 3), /firstOfEachLabel: n must be an integer from 0 to 2, got 3/);
});

Deno.test("saveGrid: an indexed-colour grid reads back with each image's grey level at its place", async () => {
  // Three 2×2 images of levels 0, 0.5, 1 in two columns, scale 3, pad 1: image k starts at
  // ((1 + (k mod 2)·3)·3, (1 + ⌊k/2⌋·3)·3) in pixels; the rest is white.
  const imgs = np.array([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1], { shape: [3, 1, 2, 2] });
  const dir = await Deno.makeTempDir();
  const path = join(dir, "grid.png");
  await saveGrid(path, imgs, { cols: 2, pad: 1, scale: 3, range: [0, 1], colors: 256 });
  const png = await readPng(path);
  assert.deepEqual([png.width, png.height], [(2 * 3 + 1) * 3, (2 * 3 + 1) * 3]);
  for (const [k, level] of [[0, 0], [1, 128], [2, 255]]) {
    const [x0, y0] = [(1 + (k % 2) * 3) * 3, (1 + Math.floor(k / 2) * 3) * 3];
    for (const [dx, dy] of [[0, 0], [5, 5], [2, 4]]) {
      assert.deepEqual(png.get(x0 + dx, y0 + dy), [level, level, level, 255]);
    }
  }
  assert.deepEqual(png.get(0, 0), [255, 255, 255, 255]); // padding
  assert.deepEqual(png.get(12 + 1, 12 + 1), [255, 255, 255, 255]); // the empty fourth cell
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["grid.png"]); // no temp file left
  await Deno.remove(dir, { recursive: true });
});

Deno.test("addNoise: Gaussian noise has mean 0 and the level as std; masking zeroes that fraction and keeps the rest", async () => {
  const x = np.full([200, 100], 0.5);
  const g = await addNoise(random.key(5), x, { kind: "gaussian", level: 0.1 }).data();
  let [m, v] = [0, 0];
  for (const a of g) m += (a - 0.5) / g.length;
  for (const a of g) v += (a - 0.5 - m) ** 2 / g.length;
  assert.ok(Math.abs(m) < 0.002 && Math.abs(Math.sqrt(v) - 0.1) < 0.002, `mean ${m}, std ${Math.sqrt(v)}`);
  // Clipped to [0, 1]: with a large level, about half the pixels of 0 stay 0 and none leave the range.
  const big = await addNoise(random.key(6), np.zeros([20000]), { kind: "gaussian", level: 2 }).data();
  const atZero = big.filter((a) => a === 0).length / big.length;
  assert.ok(big.every((a) => a >= 0 && a <= 1) && Math.abs(atZero - 0.5) < 0.02, `${atZero}`);
  const src = random.uniform(random.key(7), [20000], { minval: 0.1, maxval: 1 });
  const [xs, ms] = [await src.data(), await addNoise(random.key(8), src, { kind: "mask", level: 0.3 }).data()];
  const zeroed = ms.filter((a) => a === 0).length / ms.length;
  assert.ok(Math.abs(zeroed - 0.3) < 0.015, `${zeroed}`);
  assert.ok(ms.every((a, i) => a === 0 || a === xs[i]), "unmasked pixels unchanged");
  // The noise depends on the key only.
  const again = await addNoise(random.key(8), src, { kind: "mask", level: 0.3 }).data();
  assert.deepEqual(again, ms);
});

Deno.test("parseNoise: gaussian:S and mask:P, with a clear error for anything else", () => {
  assert.deepEqual(parseNoise("gaussian:0.5"), { kind: "gaussian", level: 0.5 });
  assert.deepEqual(parseNoise("mask:0.5"), { kind: "mask", level: 0.5 });
  for (const bad of ["gaussian", "mask:1", "mask:0", "gaussian:-1", "salt:0.2", "gaussian:x"]) {
    assert.throws(() => parseNoise(bad), /parseNoise: expected gaussian:SIGMA/, bad);
  }
});

Deno.test("auroc and rocCurve on hand-made scores: separation, reversal, ties, and the area under the curve", () => {
  const pos = [true, true, true, false, false];
  assert.equal(auroc([5, 4, 3, 2, 1], pos), 1);
  assert.equal(auroc([1, 2, 3, 4, 5], pos), 0);
  assert.equal(auroc([1, 1, 1, 1, 1], pos), 0.5);
  // Positives 0.8, 0.4, 0.3; negatives 0.5, 0.1: 4 of the 6 pairs are ordered right.
  const scores = [0.8, 0.4, 0.3, 0.5, 0.1];
  assert.ok(Math.abs(auroc(scores, pos) - 4 / 6) < 1e-12);
  const { fpr, tpr } = rocCurve(scores, pos);
  assert.deepEqual([...fpr], [0, 0, 0.5, 0.5, 0.5, 1]);
  assert.deepEqual([...tpr].map((t) => Math.round(t * 3)), [0, 1, 1, 2, 3, 3]);
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2;
  assert.ok(Math.abs(area - 4 / 6) < 1e-12);
  // Tied scores move together: one diagonal step.
  const tied = rocCurve([1, 1], [true, false]);
  assert.deepEqual([[...tied.fpr], [...tied.tpr]], [[0, 1], [0, 1]]);
});

Deno.test("autoencoder: 50 steps on 256 MNIST images lower the reconstruction error, and denoising beats the noise", async () => {
  const data = await loadMnist({ split: "test", range: [0, 1], limit: 256 });
  const x = np.array(data.images, { shape: [256, 1, 28, 28] });
  const noise = { kind: "gaussian" as const, level: 0.5 };
  const ae = makeAutoencoder({ arch: "dense", code: 16, noise, learningRate: 3e-3 });
  let s = ae.init(random.key(9));
  const noisy = addNoise(random.key(10), x, noise);
  const before = await ae.errors(s.params, noisy, x).mean().item();
  for await (const b of batchStream(data, { batchSize: 32, key: random.key(11), steps: 50 })) {
    [s] = ae.step(s, b.x, random.foldIn(random.key(12), b.step));
  }
  const after = await ae.errors(s.params, noisy, x).mean().item();
  const noisyMse = await np.square(noisy.sub(x)).mean().item();
  assert.ok(after < before / 2, `MSE ${before} -> ${after}`);
  assert.ok(after < noisyMse, `denoised ${after} vs noisy ${noisyMse}`);
});

/** Whether each channel of a pixel is within `tol` of `color` drawn with opacity `alpha` over white. */
function near(px: number[], color: string, tol = 40, alpha = 1): boolean {
  const c = rgba(color);
  return [0, 1, 2].every((k) => Math.abs(px[k] - (alpha * c[k] + (1 - alpha) * 255)) <= tol);
}

Deno.test("codePlot: the PNG shows each code as a dot of its digit's palette colour, at its place", async () => {
  const codes = [0, 0, 1, 1, 2, 0];
  const labels = [0, 1, 2];
  const plot = codePlot(codes, labels);
  const dir = await Deno.makeTempDir();
  const path = join(dir, "codes.png");
  await plot.save(path, { width: 400, height: 300 });
  const png = await readPng(path);
  const frame = plot.render(png); // the same layout again, for the data → pixel map
  for (const [i, k] of labels.entries()) {
    const [px, py] = frame.toPixel([codes[2 * i], codes[2 * i + 1]]).map(Math.floor);
    // The dot's colour (translucent over white) is nearest to its digit's palette colour.
    const px0 = png.get(px, py);
    const dist = (c: string) =>
      Math.min(
        ...[0.6, 0.8, 1].map((a) =>
          [0, 1, 2].reduce((s, j) => s + (px0[j] - (a * rgba(c)[j] + (1 - a) * 255)) ** 2, 0)
        ),
      );
    const nearest = PALETTE.map((c, j) => [dist(c as string), j]).sort((a, b) => a[0] - b[0])[0][1];
    assert.equal(nearest, k, `code ${i}: ${px0} vs ${PALETTE[k]}`);
  }
  const [ex, ey] = frame.toPixel([1.5, 0.8]).map(Math.floor); // empty data area: white or a light grid line
  assert.ok(png.get(ex, ey).slice(0, 3).every((v) => v > 200), `${png.get(ex, ey)}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("rocPlot: the PNG shows the curve in the first palette colour and the grey chance diagonal", async () => {
  const plot = rocPlot([{ label: "digit 2", fpr: [0, 0.2, 1], tpr: [0, 0.8, 1] }]);
  const dir = await Deno.makeTempDir();
  const path = join(dir, "roc.png");
  await plot.save(path, { width: 400, height: 400 });
  const png = await readPng(path);
  const frame = plot.render(png);
  const at = (p: [number, number]) => png.get(...frame.toPixel(p).map(Math.floor) as [number, number]);
  assert.ok(near(at([0.1, 0.4]), PALETTE[0] as string), `curve: ${at([0.1, 0.4])}`);
  assert.ok(near(at([0.6, 0.9]), PALETTE[0] as string), `curve: ${at([0.6, 0.9])}`);
  assert.ok(near(at([0.5, 0.5]), "#aaaaaa"), `diagonal: ${at([0.5, 0.5])}`);
  assert.ok(at([0.7, 0.25]).slice(0, 3).every((v) => v > 200), `below the diagonal: ${at([0.7, 0.25])}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("imageRows: each image lands in its row and column with its grey level", async () => {
  const a = np.full([2, 1, 4, 4], 1), b = np.full([2, 1, 4, 4], 0.5);
  const c = await imageRows([{ label: "a", images: a }, { label: "b", images: b }], { scale: 1, pad: 2 });
  const labelW = 5 + 4; // one 5-px glyph and a pad each side
  assert.deepEqual(c.get(labelW + 1, 2 + 1), [255, 255, 255, 255]); // row a, column 0
  assert.deepEqual(c.get(labelW + 6 + 1, 2 + 6 + 1), [128, 128, 128, 255]); // row b, column 1
  assert.deepEqual(c.get(labelW + 4, 2 + 1), [255, 255, 255, 255].map((v, i) => (i < 3 ? v : 255))); // the pad is white
});

Deno.test("examples/autoencoder.ts: stopped and resumed, it ends bit-identical to an uninterrupted run", async () => {
  const root = await tinyMnist();
  const args = [
    "--arch",
    "dense",
    "--code",
    "4",
    "--epochs",
    "2",
    "--batch",
    "8",
    "--every",
    "4",
    "--noise",
    "mask:0.3",
  ];
  const a = join(root, "a"), b = join(root, "b");
  let r = await runExample(root, "autoencoder", [...args, "--steps", "6", "--out", a]);
  assert.equal(r.code, 0, r.stderr);
  r = await runExample(root, "autoencoder", [...args, "--out", a, "--resume"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /12 steps \(resumed at step 6\)/);
  r = await runExample(root, "autoencoder", [...args, "--out", b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /denoised test MSE [0-9.]+ per pixel against the noisy input.s [0-9.]+: denoising gain [0-9.]+×/,
  );
  await assertSameCheckpoint(
    join(a, "checkpoints", "step_00000012.safetensors"),
    join(b, "checkpoints", "step_00000012.safetensors"),
  );
  for (const f of ["denoising.png", "losses.csv", "losses.png"]) await Deno.stat(join(b, f));
  const c = join(root, "c");
  r = await runExample(root, "autoencoder", [
    ...["--arch", "dense", "--code", "2", "--holdout", "3", "--batch", "8", "--steps", "2", "--out", c],
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /AUROC [0-9.]+ for digit 3 vs the rest; wrote .*reconstructions\.png, .*codes\.png, .*roc_3\.png/,
  );
  r = await runExample(root, "autoencoder", ["--holdout", "12"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--holdout must be a digit from 0 to 9, got "12"/);
  await Deno.remove(root, { recursive: true });
});
