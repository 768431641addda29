/** DCGAN and conditional GAN: shapes, one step, learning a tiny data set, divergence, resume. */
import assert from "node:assert/strict";
import { np, random, type tree } from "../mod.ts";
import { alternating, leaves, nearest, small, STEPS, tiny, twoPatterns, values } from "./_gan_util.ts";
import {
  type Cgan,
  CheckpointManager,
  type Dcgan,
  GanMonitor,
  latentCode,
  latentWalk,
  makeCgan,
  makeDcgan,
  oneHot,
} from "../models/mod.ts";

/** Copies of the arrays of a tree (a step donates the state it is given). */
const copyLeaves = (t: tree.PyTree) => leaves(t).map((x) => x.add(0));

Deno.test("dcgan/cgan: shapes of the tutorial and compact nets", async () => {
  const tut = makeDcgan();
  assert.equal(tut.latent, 100);
  const st = tut.init(random.key(0));
  assert.deepEqual(tut.sample(st, random.normal(random.key(1), [2, 100])).shape, [2, 1, 28, 28]);
  const gan = makeDcgan(small);
  const s = gan.init(random.key(0));
  const x = gan.sample(s, random.normal(random.key(1), [3, gan.latent]));
  assert.deepEqual(x.shape, [3, 1, 28, 28]);
  const v = await values(x);
  assert.ok(v.every((p) => p >= -1 && p <= 1), "tanh output in [-1, 1]");
  // A dense hidden layer each side: G's input layer and D's features take its size.
  const ex = makeDcgan({ ...small, hidden: 8, refine: true, dBatchNorm: true });
  const es = ex.init(random.key(0));
  assert.deepEqual(es.d.head.w.shape, [8, 1], "D's logit reads the hidden layer's 8 features");
  assert.deepEqual(ex.sample(es, random.normal(random.key(1), [2, ex.latent])).shape, [2, 1, 28, 28]);
  const bare = makeDcgan({ ...small, hidden: 0, refine: false }).init(random.key(0));
  // Bare G: fc.w, bn0 (scale, bias), up1.w, bn1 (scale, bias), up2 (w, b): 8 arrays. Hidden adds
  // fcH.w and bnH (scale, bias); refine makes up2 bias-free and adds bn2 (scale, bias) and `to` (w, b).
  assert.equal(leaves(bare.g).length, 8);
  assert.equal(leaves(es.g).length, 8 + 3 - 1 + 4, "hidden and refine add G's fcH, bnH, bn2 and to");
  for (const labelInput of ["projection", "concat"] as const) {
    const c = makeCgan({ width: 4, labelInput });
    const cs = c.init(random.key(0));
    const y = np.array([0, 9, 3], { dtype: "int32" });
    assert.deepEqual(c.sample(cs, random.normal(random.key(1), [3, c.latent]), y).shape, [3, 1, 28, 28]);
  }
  assert.deepEqual(await oneHot(np.array([1, 0], { dtype: "int32" }), 3).tolist(), [[0, 1, 0], [1, 0, 0]]);
  // A latent walk's rows start and end at independent draws, with norms kept along the way.
  const z = await latentWalk(random.key(3), { rows: 2, cols: 5, latent: 64 });
  const norms = await values(z.square().sum(1).sqrt());
  for (let r = 0; r < 2; r++) {
    const row = norms.slice(5 * r, 5 * r + 5);
    const [lo, hi] = [Math.min(row[0], row[4]), Math.max(row[0], row[4])];
    for (const n of row) assert.ok(n > 0.9 * lo && n < 1.1 * hi, `slerp keeps the norm: ${row}`);
  }
});

Deno.test("dcgan/cgan: one jitted step gives finite losses and moves every parameter of both nets by ≤ lr", async () => {
  const real = random.uniform(random.key(1), [8, 1, 28, 28], { minval: -1, maxval: 1 });
  const labels = np.array([0, 1, 2, 3, 4, 5, 6, 7], { dtype: "int32" });
  const lr = 1e-3;
  const opts = { learningRate: lr, dLearningRate: lr };
  // The compact nets plain, and with every option that adds parameters (a dense hidden layer
  // each side, G's refining convolution, batch norm in D).
  const extras = { ...small, ...opts, hidden: 8, refine: true, dBatchNorm: true };
  // One step from a fresh init: copies of both nets' parameters before it, the state after it.
  const oneStep = (gan: Dcgan | Cgan) => {
    const key = random.key(2);
    if ("classes" in gan) {
      const s0 = gan.init(random.key(0));
      const before = { g: copyLeaves(s0.g), d: copyLeaves(s0.d) };
      return { before, after: gan.step(s0, real, labels, key) };
    }
    const s0 = gan.init(random.key(0));
    const before = { g: copyLeaves(s0.g), d: copyLeaves(s0.d) };
    return { before, after: gan.step(s0, real, key) };
  };
  const models: [string, Dcgan | Cgan][] = [
    ["dcgan", makeDcgan({ ...small, ...opts })],
    ["dcgan+hidden+refine+dBN", makeDcgan(extras)],
    ["cgan", makeCgan({ width: 4, ...opts })],
    ["cgan concat", makeCgan({ width: 4, labelInput: "concat", ...opts })],
  ];
  for (const [name, gan] of models) {
    const { before, after: [s1, m] } = oneStep(gan);
    for (const k of ["d", "g", "accReal", "accFake"] as const) {
      const v = await m[k].item();
      assert.ok(Number.isFinite(v), `${name} ${k} = ${v}`);
    }
    assert.ok(Math.abs((await m.d.item()) - 2 * Math.log(2)) < 0.1, "D starts at chance: loss ≈ 2 ln 2");
    // Adam's first update is lr · g / (|g| + eps): every parameter with a finite, non-zero
    // gradient moves by almost exactly lr, none by more.
    for (const net of ["g", "d"] as const) {
      const [a, b] = [before[net], leaves(s1[net])];
      assert.equal(a.length, b.length);
      for (let i = 0; i < a.length; i++) {
        const delta = await values(b[i].sub(a[i]).abs());
        assert.ok(delta.every((d) => d <= lr * 1.0001), `${name}.${net} leaf ${i}: a step larger than lr`);
        const moved = delta.filter((d) => d > 0.5 * lr).length / delta.length;
        assert.ok(moved > 0.5, `${name}.${net} leaf ${i} [${a[i].shape}]: only ${moved} of it got a gradient`);
      }
    }
  }
});

Deno.test("dcgan: the moving average of G's weights follows them with decay min(ema, (1 + t) / (10 + t))", async () => {
  const gan = makeDcgan({ ...small, ema: 0.99 });
  let s = gan.init(random.key(0));
  const real = random.uniform(random.key(1), [4, 1, 28, 28], { minval: -1, maxval: 1 });
  let ema = await values(leaves(s.g)[0]);
  assert.deepEqual(ema, await values(leaves(s.gEma)[0]), "the average starts at the initial weights");
  for (let t = 1; t <= 3; t++) {
    [s] = gan.step(s, real, random.key(1 + t));
    const decay = Math.min(0.99, (1 + t) / (10 + t));
    const w = await values(leaves(s.g)[0]);
    ema = ema.map((e, i) => decay * e + (1 - decay) * w[i]);
    const got = await values(leaves(s.gEma)[0]);
    assert.ok(got.every((v, i) => Math.abs(v - ema[i]) < 1e-6), `step ${t}`);
  }
});

Deno.test("dcgan: on two patterns, the samples move to the data within a few hundred steps", async () => {
  const gan = makeDcgan(tiny);
  let s = gan.init(random.key(0));
  const z = random.normal(random.key(1), [64, gan.latent]);
  const before = await nearest(gan.sample(s, z));
  for (let i = 0; i < STEPS; i++) {
    const real = twoPatterns(random.key(100 + i), alternating(16));
    [s] = gan.step(s, real, random.key(10_000 + i));
  }
  const after = await nearest(gan.sample(s, z));
  // Untrained samples (near 0 everywhere) are ≈ 1 away from both patterns; a cross (both bars at
  // once, what averaging the modes gives) ≈ 0.8; a bar with some noise or a shifted edge < 0.5.
  assert.ok(before.dist > 0.8, `untrained samples are far from both patterns: ${before.dist}`);
  assert.ok(after.dist < 0.5, `after ${STEPS} steps the samples lie near a pattern: ${before.dist} -> ${after.dist}`);
  const zeros = after.which.filter((w) => w === 0).length / after.which.length;
  assert.ok(zeros > 0.2 && zeros < 0.8, `both patterns are drawn (share of the first: ${zeros})`);
});

Deno.test("cgan: on two patterns, samples follow the label asked for", async () => {
  const gan = makeCgan({ ...tiny, classes: 2 });
  let s = gan.init(random.key(0));
  for (let i = 0; i < STEPS; i++) {
    const y = alternating(16);
    const real = twoPatterns(random.key(100 + i), y);
    [s] = gan.step(s, real, np.array(y, { dtype: "int32" }), random.key(10_000 + i));
  }
  const z = random.normal(random.key(1), [64, gan.latent]);
  const asked = alternating(64);
  const got = await nearest(gan.sample(s, z, np.array(asked, { dtype: "int32" })));
  const right = got.which.filter((w, i) => w === asked[i]).length / asked.length;
  assert.ok(got.dist < 0.1, `conditional samples lie near a pattern: ${got.dist}`);
  assert.ok(right >= 0.95, `samples of the asked-for pattern: ${right}`);
});

Deno.test("dcgan: an InfoGAN code picks the pattern: each code value draws one pattern, no labels used", async () => {
  const gan = makeDcgan({ ...tiny, codes: 2 });
  let s = gan.init(random.key(0));
  for (let i = 0; i < STEPS; i++) {
    const real = twoPatterns(random.key(100 + i), alternating(16));
    [s] = gan.step(s, real, random.key(10_000 + i));
  }
  const z = random.normal(random.key(1), [64, gan.latent]);
  const code = await values(latentCode(z, 2));
  const got = await nearest(gan.sample(s, z));
  assert.ok(got.dist < 0.5, `samples lie near a pattern: ${got.dist}`);
  // Which pattern each code value ended up drawing is G's choice; each must mostly draw one of them
  // (a G that ignored its code would agree with it about half the time).
  const agree = got.which.filter((w, i) => w === code[i]).length / code.length;
  assert.ok(Math.max(agree, 1 - agree) >= 0.85, `the pattern follows the code (agreement ${agree})`);
  assert.ok(code.includes(0) && code.includes(1), "both code values occur among the latents");
});

Deno.test("latentCode: each of the codes is equally likely for standard normal latents", async () => {
  const z = random.normal(random.key(3), [20_000, 2]);
  const code = await values(latentCode(z, 10));
  const counts = globalThis.Array.from({ length: 10 }, (_, c) => code.filter((v) => v === c).length);
  // Binomial(20000, 0.1): sd 42, so ±200 is over 4.7 sd.
  for (const n of counts) assert.ok(Math.abs(n - 2000) < 200, `counts per code: ${counts}`);
  // The first coordinate alone decides: boundaries at the normal's deciles (Φ⁻¹(0.1) = −1.2816).
  const edge = np.array([[-1.2817, 0], [-1.2815, 0], [1.2815, 0], [1.2817, 0]]);
  assert.deepEqual(await values(latentCode(edge, 10)), [0, 1, 8, 9]);
});

Deno.test("divergence: a forced NaN stops training; D winning outright for `patience` steps does too", async () => {
  const gan = makeDcgan(small);
  const s = gan.init(random.key(0));
  const nan = np.full([8, 1, 28, 28], NaN);
  const [, m] = gan.step(s, nan, random.key(1));
  const values = {
    d: await m.d.item(),
    g: await m.g.item(),
    accReal: await m.accReal.item(),
    accFake: await m.accFake.item(),
  };
  const watch = new GanMonitor({ patience: 300 });
  assert.match(watch.check(10, values)!, /^Training diverged at step 10: d is NaN.*a lower --lr/);
  // D wins outright (rejects every fake, G loss 8) from step 100: reported once it lasted 300 steps.
  const won = { d: 0.01, g: 8, accReal: 1, accFake: 1 };
  const fine = { d: 1.2, g: 0.9, accReal: 0.7, accFake: 0.6 };
  const w = new GanMonitor({ patience: 300 });
  assert.equal(w.check(50, fine), null);
  for (let step = 100; step < 400; step += 50) assert.equal(w.check(step, won), null, `step ${step}`);
  assert.match(w.check(400, won)!, /discriminator has won outright since step 100 \(300 steps/);
  // An interval where G fights back resets the count.
  const w2 = new GanMonitor({ patience: 300 });
  for (const step of [100, 200, 300]) w2.check(step, won);
  assert.equal(w2.check(350, fine), null);
  assert.equal(w2.check(400, won), null);
});

Deno.test("dcgan: resuming from a checkpoint equals an uninterrupted run, bit for bit", async () => {
  const gan = makeDcgan(small);
  const batch = (i: number) => random.uniform(random.key(50 + i), [8, 1, 28, 28], { minval: -1, maxval: 1 });
  const stepKey = (i: number) => random.foldIn(random.key(7), i);
  let a = gan.init(random.key(0));
  for (let i = 0; i < 4; i++) [a] = gan.step(a, batch(i), stepKey(i));
  let b = gan.init(random.key(0));
  for (let i = 0; i < 2; i++) [b] = gan.step(b, batch(i), stepKey(i));
  const dir = await Deno.makeTempDir();
  const ckpt = new CheckpointManager(dir);
  await ckpt.save(2, b, { epoch: 0, config: { model: "test" } });
  const restored = await ckpt.restore(gan.init(random.key(99)), { model: "test" });
  let c = restored.tree;
  for (let i = restored.step; i < 4; i++) [c] = gan.step(c, batch(i), stepKey(i));
  const [la, lc] = [leaves(a), leaves(c)];
  assert.equal(la.length, lc.length);
  for (let i = 0; i < la.length; i++) {
    const [x, y] = [await la[i].data(), await lc[i].data()];
    assert.deepEqual(
      new Uint8Array(x.buffer, x.byteOffset, x.byteLength),
      new Uint8Array(y.buffer, y.byteOffset, y.byteLength),
    );
  }
  await Deno.remove(dir, { recursive: true });
});
