/**
 * PRNG: bit-exact cross-checks against jax-js (key, split, bits, uniform), `normal` against
 * JAX's definition (sqrt(2)·erfinv(u)) evaluated on the host in float64, `foldIn` against a
 * host threefry2x32, and distribution sanity checks.
 */
import assert from "node:assert/strict";
import { numpy as jnp, random as jr } from "@jax-js/jax";
import { type Array, jit, np, random, vmap } from "../mod.ts";

// ---------- host reference: threefry2x32 (Salmon et al.; JAX's 20-round variant) ----------
const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
function threefry(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0];
  const rot = [[13, 15, 26, 6], [17, 29, 16, 24]];
  x0 = (x0 + ks[0]) >>> 0;
  x1 = (x1 + ks[1]) >>> 0;
  for (let i = 0; i < 5; i++) {
    for (const r of rot[i % 2]) {
      x0 = (x0 + x1) >>> 0;
      x1 = rotl(x1, r) ^ x0;
      x1 >>>= 0;
    }
    x0 = (x0 + ks[(i + 1) % 3]) >>> 0;
    x1 = (x1 + ks[(i + 2) % 3] + i + 1) >>> 0;
  }
  return [x0, x1];
}
/** JAX's partitionable bits: counters (hi, lo) = (0, flat index), bits = y0 ^ y1. */
function hostBits(key: [number, number], n: number): number[] {
  return Array_from(n, (i) => {
    const [y0, y1] = threefry(key[0], key[1], 0, i);
    return (y0 ^ y1) >>> 0;
  });
}
const Array_from = <T>(n: number, f: (i: number) => T): T[] => globalThis.Array.from({ length: n }, (_, i) => f(i));

async function u32(x: Array): Promise<number[]> {
  return [...(await x.data())].map((v) => v >>> 0);
}
// deno-lint-ignore no-explicit-any
async function jaxU32(x: any): Promise<number[]> {
  return globalThis.Array.from((await x.data()) as ArrayLike<number>).map((v) => v >>> 0);
}
const SEEDS = [0, 1, 42, 123456789];

Deno.test("key: same words as jax-js", async () => {
  for (const s of SEEDS) assert.deepEqual(await u32(random.key(s)), await jaxU32(jr.key(s)), `seed ${s}`);
});

Deno.test("split: bit-identical to jax-js", async () => {
  for (const s of SEEDS) {
    for (const num of [2, 3, 5]) {
      const ours = random.split(random.key(s), num);
      assert.equal(ours.length, num);
      const theirs = await jaxU32(jr.split(jr.key(s), num));
      assert.deepEqual((await Promise.all(ours.map(u32))).flat(), theirs, `seed ${s} num ${num}`);
    }
  }
  // splitting a derived key (keys as data round-trip between the two libraries)
  const [a] = random.split(random.key(7));
  const ours = random.split(a, 4);
  const theirs = jr.split(jnp.array(Uint32Array.from(await u32(a))), 4);
  assert.deepEqual((await Promise.all(ours.map(u32))).flat(), await jaxU32(theirs));
});

Deno.test("bits: bit-identical to jax-js and to the host threefry", async () => {
  for (const s of SEEDS) {
    for (const shape of [[], [7], [3, 5], [2, 2, 3]]) {
      const ours = await u32(random.bits(random.key(s), shape));
      const theirs = await jaxU32(jr.bits(jr.key(s), shape));
      assert.deepEqual(ours, theirs, `seed ${s} shape ${shape}`);
    }
    assert.deepEqual(await u32(random.bits(random.key(s), [64])), hostBits([0, s], 64));
  }
  assert.equal(random.bits(random.key(0), [2, 3]).dtype, "uint32");
});

Deno.test("uniform: bit-identical to jax-js (default and minval/maxval)", async () => {
  for (const s of SEEDS) {
    const k = random.key(s);
    const ours = await random.uniform(k, [4, 25]).data();
    const theirs = await jr.uniform(jr.key(s), [4, 25]).data();
    assert.deepEqual([...ours], [...(theirs as Float32Array)], `seed ${s}`);
    const o2 = await random.uniform(k, [50], { minval: -3, maxval: 5 }).data();
    const t2 = await jr.uniform(jr.key(s), [50], { minval: -3, maxval: 5 }).data();
    assert.deepEqual([...o2], [...(t2 as Float32Array)], `seed ${s} [-3,5)`);
  }
});

// ---------- normal vs JAX's definition, in float64 on the host ----------
/** erf by the all-positive series erf(x) = 2/√π e^{-x²} Σ 2ⁿ x^{2n+1} / (1·3···(2n+1)). */
function erf64(x: number): number {
  if (x < 0) return -erf64(-x);
  if (x > 6) return 1;
  let term = x;
  let sum = x;
  for (let n = 1; n < 400; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}
/** erfinv by bisection then Newton on erf64. */
function erfinv64(u: number): number {
  let [lo, hi] = [-6, 6];
  for (let i = 0; i < 60; i++) {
    const m = (lo + hi) / 2;
    if (erf64(m) < u) lo = m;
    else hi = m;
  }
  let x = (lo + hi) / 2;
  for (let i = 0; i < 3; i++) x -= (erf64(x) - u) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
  return x;
}
/** JAX's uniform mapping of raw bits, in float32 arithmetic. */
function uniformFromBits(b: number, minval: number, maxval: number): number {
  const f = Math.fround(new Float32Array(new Uint32Array([(b >>> 9) | 0x3f800000]).buffer)[0] - 1);
  const span = Math.fround(maxval - minval);
  return Math.max(Math.fround(minval), Math.fround(Math.fround(f * span) + Math.fround(minval)));
}

Deno.test("host erf/erfinv references are accurate", () => {
  assert.ok(Math.abs(erf64(0.5) - 0.5204998778130465) < 1e-15);
  assert.ok(Math.abs(erf64(2) - 0.9953222650189527) < 1e-15);
  assert.ok(Math.abs(erfinv64(0.5) - 0.4769362762044699) < 1e-12);
  assert.ok(Math.abs(erfinv64(-0.999) + 2.326753765513525) < 1e-10);
});

Deno.test("normal: sqrt(2)*erfinv(uniform(nextafter(-1,0), 1)) from jax-js bits, within 1e-5", async () => {
  const lo = -1 + 2 ** -24; // nextafter(-1, 0) in float32
  assert.equal(Math.fround(lo), lo);
  for (const s of [0, 3, 99]) {
    const n = 2000;
    const z = await random.normal(random.key(s), [n]).data();
    const b = await jaxU32(jr.bits(jr.key(s), [n]));
    for (let i = 0; i < n; i++) {
      const want = Math.SQRT2 * erfinv64(uniformFromBits(b[i], lo, 1));
      const err = Math.abs(z[i] - want) / Math.max(1, Math.abs(want));
      assert.ok(err < 1e-5, `seed ${s} i ${i}: ${z[i]} vs ${want}`);
    }
  }
  // the extreme bit patterns: all-zero and all-one mantissas map to finite tails
  for (const bitsV of [0, 0xffffffff]) {
    const u = uniformFromBits(bitsV, lo, 1);
    assert.ok(Number.isFinite(erfinv64(u)));
  }
});

Deno.test("foldIn follows JAX: threefry2x32(key, [0, data]) -> new key", async () => {
  for (const s of [0, 42]) {
    for (const d of [0, 1, 17, 0x7fffffff]) {
      const got = await u32(random.foldIn(random.key(s), d));
      assert.deepEqual(got, threefry(0, s, 0, d), `seed ${s} data ${d}`);
    }
  }
  // foldIn of a non-trivial key, with an array datum
  const k = random.split(random.key(5), 2)[1];
  const kw = await u32(k);
  assert.deepEqual(await u32(random.foldIn(k, np.array(9, { dtype: "int32" }))), threefry(kw[0], kw[1], 0, 9));
  // different data give different keys
  assert.notDeepEqual(await u32(random.foldIn(k, 1)), await u32(random.foldIn(k, 2)));
});

Deno.test("determinism and independence", async () => {
  const a = await u32(random.bits(random.key(3), [100]));
  const b = await u32(random.bits(random.key(3), [100]));
  assert.deepEqual(a, b);
  const c = await u32(random.bits(random.key(4), [100]));
  assert.ok(a.filter((v, i) => v === c[i]).length < 3);
  const [k1, k2] = random.split(random.key(3));
  const x1 = await u32(random.bits(k1, [100]));
  const x2 = await u32(random.bits(k2, [100]));
  assert.ok(x1.filter((v, i) => v === x2[i]).length < 3);
  // under jit and vmap the same bits come out
  const jb = await u32(jit((k: Array) => random.bits(k, [100]))(random.key(3)));
  assert.deepEqual(jb, a);
  const keys = np.stack(random.split(random.key(11), 3));
  const vb = await u32(vmap((k: Array) => random.bits(k, [5]))(keys));
  const loop = (await Promise.all(random.split(random.key(11), 3).map((k) => u32(random.bits(k, [5]))))).flat();
  assert.deepEqual(vb, loop);
});

const meanVar = (v: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return [m, s / v.length];
};

Deno.test("moments of uniform and normal (n = 20000)", async () => {
  const n = 20000;
  const u = await random.uniform(random.key(1), [n]).data();
  assert.ok(u.every((v) => v >= 0 && v < 1));
  const [mu, vu] = meanVar(u);
  assert.ok(Math.abs(mu - 0.5) < 0.01, `uniform mean ${mu}`);
  assert.ok(Math.abs(vu - 1 / 12) < 0.003, `uniform var ${vu}`);
  const r = await random.uniform(random.key(2), [n], { minval: 2, maxval: 6 }).data();
  assert.ok(r.every((v) => v >= 2 && v < 6));
  const [mr, vr] = meanVar(r);
  assert.ok(Math.abs(mr - 4) < 0.04 && Math.abs(vr - 16 / 12) < 0.05, `uniform[2,6) ${mr} ${vr}`);
  const z = await random.normal(random.key(3), [n]).data();
  assert.ok(z.every(Number.isFinite));
  const [mz, vz] = meanVar(z);
  assert.ok(Math.abs(mz) < 0.03, `normal mean ${mz}`);
  assert.ok(Math.abs(vz - 1) < 0.05, `normal var ${vz}`);
  const within1 = z.filter((v) => Math.abs(v) < 1).length / n;
  assert.ok(Math.abs(within1 - 0.6827) < 0.015, `P(|z|<1) = ${within1}`);
});

Deno.test("bernoulli frequency", async () => {
  const b = random.bernoulli(random.key(5), 0.3, [20000]);
  assert.equal(b.dtype, "bool");
  const d = await b.data();
  const f = [...d].reduce((s, v) => s + v, 0) / d.length;
  assert.ok(Math.abs(f - 0.3) < 0.015, `frequency ${f}`);
  // per-element probabilities
  const p = np.array([0, 1, 0.5]);
  const m = await random.bernoulli(random.key(6), p).tolist() as number[];
  assert.equal(m[0], 0);
  assert.equal(m[1], 1);
});

Deno.test("randint range and uniformity", async () => {
  const n = 21000;
  const r = random.randint(random.key(7), [n], 3, 10);
  assert.equal(r.dtype, "int32");
  const d = await r.data();
  const counts = new Map<number, number>();
  for (const v of d) counts.set(v, (counts.get(v) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [3, 4, 5, 6, 7, 8, 9]);
  for (const [v, c] of counts) assert.ok(Math.abs(c - n / 7) < 0.1 * (n / 7), `value ${v}: ${c}`);
  // negative ranges
  const neg = await random.randint(random.key(8), [1000], -5, -2).data();
  assert.ok(neg.every((v) => v >= -5 && v < -2));
});

Deno.test("categorical frequencies follow softmax(logits)", async () => {
  const logits = [0, 1, 2, -1];
  const n = 20000;
  const z = logits.map(Math.exp);
  const p = z.map((v) => v / z.reduce((a, b) => a + b));
  const L = np.broadcastTo(np.array(logits), [n, 4]);
  const c = random.categorical(random.key(9), L);
  assert.deepEqual(c.shape, [n]);
  const d = await c.data();
  const freq = [0, 0, 0, 0];
  for (const v of d) freq[v]++;
  freq.forEach((f, i) => assert.ok(Math.abs(f / n - p[i]) < 0.015, `class ${i}: ${f / n} vs ${p[i]}`));
  // axis 0
  const c0 = random.categorical(random.key(10), np.array([[0, -100], [-100, 0]]), 0);
  assert.deepEqual(await c0.tolist(), [0, 1]);
});

Deno.test("permutation is a permutation, and differs between keys", async () => {
  const p = await random.permutation(random.key(11), 100).data();
  assert.deepEqual([...p].sort((a, b) => a - b), Array_from(100, (i) => i));
  assert.notDeepEqual([...p], Array_from(100, (i) => i));
  const q = await random.permutation(random.key(12), 100).data();
  assert.notDeepEqual([...p], [...q]);
  const x = np.array([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
  const px = (await random.permutation(random.key(13), x).tolist()) as number[][];
  assert.deepEqual(px.map((r) => r[0]).sort(), [1, 2, 3, 4, 5]);
  assert.ok(px.every((r) => r[0] === r[1]));
});

Deno.test("bad keys give a clear error", () => {
  assert.throws(
    () => random.uniform(np.array([1, 2]), [3]),
    /random\.uniform: expected a PRNG key, got an array of float32\[2\]/,
  );
  assert.throws(() => random.key(1.5), /seed must be an integer/);
  assert.throws(() => random.randint(random.key(0), [2], 5, 5), /maxval 5 must exceed minval 5/);
});
