/** k-means, weighted latent codes and the DCGAN conditioned on clusters of its training images. */
import assert from "node:assert/strict";
import { type Array, np, random } from "../mod.ts";
import { join } from "node:path";
import { CheckpointManager, clusterImages, kmeans, latentCode, latentWalk, makeDcgan } from "../models/mod.ts";
import { alternating, leaves, nearest, small, STEPS, tiny, twoPatterns, values } from "./_gan_util.ts";

/** Rows of `x` as plain arrays. */
async function rows(x: Array): Promise<number[][]> {
  const v = await x.data(), d = x.shape[1];
  return globalThis.Array.from({ length: x.shape[0] }, (_, i) => globalThis.Array.from(v.subarray(i * d, i * d + d)));
}
const sq = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);

/** Three blobs in 2-d (sd 0.3) around (0, 0), (6, 0) and (0, 6), with 40, 60 and 100 points. */
function blobs(): { x: Array; truth: number[] } {
  const rand = random.normal(random.key(5), [200, 2]);
  const centre = [[0, 0], [6, 0], [0, 6]],
    truth = [40, 60, 100].flatMap((n, b) => new globalThis.Array<number>(n).fill(b));
  const shift = np.array(truth.map((t) => centre[t]));
  return { x: rand.mul(0.3).add(shift), truth };
}

Deno.test("kmeans: converges to a Lloyd fixed point (each row at its nearest centre, each centre its rows' mean)", async () => {
  const x = random.uniform(random.key(1), [300, 3]);
  const r = await kmeans(x, 5, { key: random.key(2), iters: 100 });
  const xs = await rows(x), cs = await rows(r.centers);
  assert.ok(r.iters < 100, `converged in ${r.iters} iterations`);
  let inertia = 0;
  xs.forEach((p, i) => {
    const d = cs.map((c) => sq(p, c));
    assert.ok(d[r.assign[i]] <= Math.min(...d) + 1e-4, `row ${i} sits at its nearest centre`);
    inertia += d[r.assign[i]] / xs.length;
  });
  for (let c = 0; c < 5; c++) {
    const mine = xs.filter((_, i) => r.assign[i] === c);
    assert.ok(mine.length > 0, `cluster ${c} has rows`);
    assert.ok(Math.abs(r.weights[c] - mine.length / 300) < 1e-12);
    for (let j = 0; j < 3; j++) {
      const mean = mine.reduce((s, p) => s + p[j], 0) / mine.length;
      assert.ok(Math.abs(cs[c][j] - mean) < 1e-5, `centre ${c} is its rows' mean`);
    }
  }
  assert.ok(Math.abs(r.inertia - inertia) < 1e-4, `inertia ${r.inertia} vs ${inertia}`);
});

Deno.test("kmeans: finds three blobs; seeded on a subset, the same clusters", async () => {
  const { x, truth } = blobs();
  for (const [seedRows, fitRows] of [[undefined, undefined], [30, undefined], [30, 50]]) {
    const r = await kmeans(x, 3, { key: random.key(3), seedRows, fitRows });
    // The same cluster for a blob's points, a different one for each blob (labels are arbitrary).
    const ids = [0, 1, 2].map((b) => r.assign[truth.indexOf(b)]);
    assert.equal(new Set(ids).size, 3, `seedRows ${seedRows}: three clusters`);
    truth.forEach((b, i) => assert.equal(r.assign[i], ids[b], `seedRows ${seedRows}: row ${i} in its blob's cluster`));
    assert.deepEqual(ids.map((c) => Math.round(r.weights[c] * 200)), [40, 60, 100]);
  }
  await assert.rejects(
    () => kmeans(x, 3, { key: random.key(3), seedRows: 2 }),
    /seedRows must be an integer ≥ k \(3\)/,
  );
  await assert.rejects(
    () => kmeans(x, 3, { key: random.key(3), fitRows: 2.5 }),
    /fitRows must be an integer ≥ k \(3\)/,
  );
  await assert.rejects(
    () => kmeans(x, 201, { key: random.key(3) }),
    /kmeans: x must be \[N, D\] with N ≥ k ≥ 1, got x \[200,2\] and k 201/,
  );
});

Deno.test("latentCode: weighted codes come up as often as their weights", async () => {
  const w = [0.5, 0.1, 0.3, 0.1];
  const code = await values(latentCode(random.normal(random.key(4), [20_000, 3]), np.array(w)));
  for (let c = 0; c < 4; c++) {
    const share = code.filter((v) => v === c).length / 20_000;
    // sd of a share ≤ 0.0036: 0.02 is over 5 sd.
    assert.ok(Math.abs(share - w[c]) < 0.02, `code ${c}: ${share} vs ${w[c]}`);
  }
  // Boundaries at Φ⁻¹(0.5) = 0, Φ⁻¹(0.6) = 0.2533, Φ⁻¹(0.9) = 1.2816.
  const edge = np.array([[-0.001, 0], [0.001, 0], [0.2532, 0], [0.2535, 0], [1.2815, 0], [1.2817, 0]]);
  assert.deepEqual(await values(latentCode(edge, np.array(w))), [0, 1, 1, 2, 2, 3]);
});

Deno.test("dcgan with clusters: bad settings and a step without the clusters are clear errors", () => {
  assert.throws(() => makeDcgan({ ...small, clusters: 1 }), /clusters must be 0 \(none\) or an integer ≥ 2, got 1/);
  assert.throws(
    () => makeDcgan({ ...small, clusters: 4, codes: 2 }),
    /InfoGAN code \(codes 2\) or clusters \(4\), not both/,
  );
  const gan = makeDcgan({ ...small, clusters: 3 });
  assert.throws(() => gan.init(random.key(0), undefined, [0.5, 0.5]), /init got 2 cluster weights for 3 clusters/);
  const s = gan.init(random.key(0), undefined, [0.2, 0.3, 0.5]);
  assert.throws(
    () => gan.step(s, np.zeros([2, 1, 28, 28]), random.key(1)),
    /needs the int32 cluster of each real image/,
  );
});

Deno.test("dcgan with clusters: k-means splits two patterns without labels, and each cluster draws its pattern", async () => {
  // The clusters of 64 training images stand in for the labels.
  const kinds = alternating(64);
  const found = await kmeans(twoPatterns(random.key(6), kinds).reshape([64, 784]), 2, { key: random.key(7) });
  const clusterOf = [found.assign[0], found.assign[1]]; // the cluster of each pattern
  assert.notEqual(clusterOf[0], clusterOf[1]);
  kinds.forEach((k, i) => assert.equal(found.assign[i], clusterOf[k], `image ${i}`));
  const gan = makeDcgan({ ...tiny, clusters: 2 });
  let s = gan.init(random.key(0), undefined, found.weights);
  for (let i = 0; i < STEPS; i++) {
    const y = alternating(16);
    const ids = np.array(y.map((k) => clusterOf[k]), { dtype: "int32" });
    [s] = gan.step(s, twoPatterns(random.key(100 + i), y), random.key(10_000 + i), ids);
  }
  const z = random.normal(random.key(1), [64, gan.latent]);
  const code = await values(latentCode(z, np.array(found.weights)));
  const got = await nearest(gan.sample(s, z));
  assert.ok(got.dist < 0.1, `samples lie near a pattern: ${got.dist}`);
  const right = got.which.filter((w, i) => clusterOf[w] === code[i]).length / 64;
  assert.ok(right >= 0.95, `each latent's cluster draws that cluster's pattern: ${right}`);
  assert.ok(code.includes(0) && code.includes(1), "both clusters occur among the latents");
});

Deno.test("dcgan with clusters: resuming from a checkpoint equals an uninterrupted run, bit for bit", async () => {
  const gan = makeDcgan({ ...small, clusters: 3 });
  const batch = (i: number) => random.uniform(random.key(50 + i), [6, 1, 28, 28], { minval: -1, maxval: 1 });
  const ids = np.array([0, 1, 2, 2, 1, 0], { dtype: "int32" });
  const stepKey = (i: number) => random.foldIn(random.key(7), i);
  const init = () => gan.init(random.key(0), undefined, [0.2, 0.3, 0.5]);
  let a = init();
  for (let i = 0; i < 4; i++) [a] = gan.step(a, batch(i), stepKey(i), ids);
  let b = init();
  for (let i = 0; i < 2; i++) [b] = gan.step(b, batch(i), stepKey(i), ids);
  const dir = await Deno.makeTempDir();
  const ckpt = new CheckpointManager(dir);
  await ckpt.save(2, b, { epoch: 0, config: { model: "test" } });
  const restored = await ckpt.restore(gan.init(random.key(99)), { model: "test" });
  let c = restored.tree;
  for (let i = restored.step; i < 4; i++) [c] = gan.step(c, batch(i), stepKey(i), ids);
  const [la, lc] = [leaves(a), leaves(c)];
  assert.equal(la.length, lc.length);
  for (let i = 0; i < la.length; i++) assert.deepEqual(await values(la[i]), await values(lc[i]), `leaf ${i}`);
  assert.deepEqual(await values((c.gState as { prior: Array }).prior), [0.2, 0.3, 0.5].map(Math.fround));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("latentWalk with fixFirst: the first coordinate keeps each row's start, the rest walk as before", async () => {
  const opts = { rows: 3, cols: 5, latent: 4 };
  const free = await rows(await latentWalk(random.key(9), opts));
  const fixed = await rows(await latentWalk(random.key(9), { ...opts, fixFirst: true }));
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 5; c++) {
      const [f, g] = [free[r * 5 + c], fixed[r * 5 + c]];
      assert.equal(g[0], free[r * 5][0], `row ${r} point ${c}: first coordinate at the start's`);
      assert.deepEqual(g.slice(1), f.slice(1));
    }
  }
});

Deno.test("kmeans: fitted on a subset, every row goes to its nearest centre and the centres are the subset's means", async () => {
  const x = random.uniform(random.key(11), [400, 3]);
  const r = await kmeans(x, 4, { key: random.key(12), fitRows: 100, iters: 100 });
  const xs = await rows(x), cs = await rows(r.centers);
  xs.forEach((p, i) => {
    const d = cs.map((c) => sq(p, c));
    assert.ok(d[r.assign[i]] <= Math.min(...d) + 1e-4, `row ${i} sits at its nearest centre`);
  });
  // The fitted rows are every 4th; each centre is the mean of the fitted rows nearest to it.
  const fitted = xs.filter((_, i) => i % 4 === 0),
    near = fitted.map((p) => cs.map((c) => sq(p, c)).indexOf(Math.min(...cs.map((c) => sq(p, c)))));
  for (let c = 0; c < 4; c++) {
    const mine = fitted.filter((_, i) => near[i] === c);
    for (let j = 0; j < 3; j++) {
      assert.ok(Math.abs(cs[c][j] - mine.reduce((s, p) => s + p[j], 0) / mine.length) < 1e-5, `centre ${c}`);
    }
  }
});

/** A data set of `size` images of two alternating patterns (`twoPatterns`, seeded by `seed`). */
async function patternSet(size: number, seed: number) {
  const kinds = alternating(size);
  const images = await twoPatterns(random.key(seed), kinds).data() as Float32Array;
  const shape: [number, number, number] = [1, 28, 28];
  const data = { images, labels: Int32Array.from(kinds), size, shape, classes: ["v", "h"], source: "test" };
  return { kinds, images, data };
}

Deno.test("clusterImages: pool clusters the block means, the same as k-means of images pooled by a loop", async () => {
  const { kinds, images, data } = await patternSet(24, 9);
  const pooled = new Float32Array(24 * 49);
  for (let n = 0; n < 24; n++) {
    for (let i = 0; i < 28; i++) {
      for (let j = 0; j < 28; j++) {
        pooled[n * 49 + Math.floor(i / 4) * 7 + Math.floor(j / 4)] += images[n * 784 + i * 28 + j] / 16;
      }
    }
  }
  const want = await kmeans(np.array(pooled, { shape: [24, 49] }), 2, { key: random.key(4) });
  const got = await clusterImages(data, 2, { key: random.key(4), pool: 4, cache: null });
  assert.deepEqual(got.centers.shape, [2, 49]);
  assert.deepEqual(got.assign, want.assign);
  const gc = await values(got.centers), wc = await values(want.centers);
  gc.forEach((v, i) => assert.ok(Math.abs(v - wc[i]) < 1e-5, `centre element ${i}: ${v} vs ${wc[i]}`));
  // The two patterns stay apart at the coarser resolution.
  kinds.forEach((kd, i) => assert.equal(got.assign[i], got.assign[kinds.indexOf(kd)]));
  assert.notEqual(got.assign[kinds.indexOf(0)], got.assign[kinds.indexOf(1)]);
  await assert.rejects(
    () => clusterImages(data, 2, { key: random.key(4), pool: 3 }),
    /pool must be an integer ≥ 1 dividing the image size 28×28, got 3/,
  );
});

Deno.test("clusterImages: kept in the cache folder and found again; other images or k cluster afresh", async () => {
  const { images, data } = await patternSet(40, 8);
  const dir = await Deno.makeTempDir();
  const files = () => [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".safetensors"));
  const opts = { key: random.key(3), cache: dir };
  const cold = await clusterImages(data, 2, opts);
  assert.equal(files().length, 1, "the clustering is kept");
  const warm = await clusterImages(data, 2, opts);
  assert.deepEqual(warm.assign, cold.assign);
  assert.deepEqual(warm.weights, cold.weights);
  assert.deepEqual(await values(warm.centers), await values(cold.centers));
  assert.equal(warm.inertia, cold.inertia);
  // A foreign file where the result would be is replaced by a fresh clustering, not read.
  await Deno.writeTextFile(join(dir, files()[0]), "not a checkpoint");
  assert.deepEqual((await clusterImages(data, 2, opts)).assign, cold.assign);
  // Other pixels, or another k: another file.
  const moved = { ...data, images: images.map((v, i) => (i === 5 ? -v : v)) };
  await clusterImages(moved, 2, opts);
  await clusterImages(data, 3, opts);
  assert.equal(files().length, 3);
  await clusterImages(data, 4, { ...opts, cache: null });
  assert.equal(files().length, 3, "cache: null keeps nothing");
  await Deno.remove(dir, { recursive: true });
});
