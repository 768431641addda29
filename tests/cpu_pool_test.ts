/**
 * The cpu storage pool: recycled storage comes back zero-filled, only owned whole buffers are
 * pooled, and no live array ever shares storage with a recycled one (arrays that alias through
 * reshape or a program's intermediates keep their values while the pool is churned).
 */
import assert from "node:assert/strict";
import { type Array, grad, jit, np, random, stopGradient, tree } from "../mod.ts";
import { allocPooled, MIN_BYTES, pooledBytes, recycle, trimPool } from "../core/backend/cpu/pool.ts";
import { fusion } from "../core/backend/cpu/executor.ts";
import { cpuTest } from "./_backend.ts";

const big = MIN_BYTES / 4; // float32 elements in the smallest pooled buffer

Deno.test("pool: recycled storage comes back zero-filled, for the same dtype and size only", () => {
  trimPool();
  const a = allocPooled("float32", big) as Float32Array;
  a.fill(7);
  recycle(a);
  assert.equal(pooledBytes(), MIN_BYTES);
  assert.ok(!(allocPooled("int32", big) instanceof Float32Array), "an int32 request gets int32 storage");
  assert.notEqual(allocPooled("float32", big + 1), a, "another size gets fresh storage");
  const b = allocPooled("float32", big);
  assert.equal(b, a, "the same size gets the recycled array");
  assert.ok(b.every((v) => v === 0), "and it is zero-filled");
  assert.equal(pooledBytes(), 0);
});

Deno.test("pool: views, small arrays, shared memory and a second recycle are ignored", () => {
  trimPool();
  const whole = new Float32Array(2 * big);
  recycle(whole.subarray(big)); // a view: its buffer is not the caller's to give
  recycle(new Float32Array(16)); // small
  recycle(new Float32Array(new SharedArrayBuffer(MIN_BYTES)));
  assert.equal(pooledBytes(), 0);
  const a = new Float32Array(big);
  recycle(a);
  recycle(a);
  assert.equal(pooledBytes(), MIN_BYTES, "recycled once");
  assert.equal(allocPooled("float32", big), a);
  assert.notEqual(allocPooled("float32", big), a, "handed out once");
});

cpuTest("pool: an eager reshape keeps its values after its source is disposed and storage churns", async () => {
  const x = np.arange(big * 2).astype("float32");
  const y = x.reshape(2, big);
  const z = stopGradient(x);
  x.dispose();
  for (let i = 0; i < 4; i++) np.ones([big * 2]).mul(i).dispose(); // reuse whatever was recycled
  const want = Float32Array.from({ length: big * 2 }, (_, i) => i);
  assert.deepEqual(await y.data(), want);
  assert.deepEqual(await z.data(), want);
});

cpuTest("pool: jitted outputs that alias intermediates stay intact across many calls", async () => {
  // reshape and stopGradient share storage inside the program; intermediates die and are
  // recycled while the outputs of earlier calls are still alive.
  const f = jit((a: Array) => {
    const t = a.mul(2).add(1);
    const r = t.reshape(-1);
    return [r, stopGradient(t).sub(1), a.reshape(-1), t.mul(t).sum(1)];
  });
  const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => random.normal(random.key(i), [8, big / 8]));
  const outs = xs.map((x) => f(x) as Array[]);
  for (let i = 0; i < xs.length; i++) {
    const x = await xs[i].data();
    const t = x.map((v) => Math.fround(Math.fround(v * 2) + 1));
    const [r, s, a] = await Promise.all(outs[i].slice(0, 3).map((o) => o.data()));
    assert.deepEqual(r, t, `call ${i}: reshape of an intermediate`);
    assert.deepEqual(s, t.map((v) => Math.fround(v - 1)), `call ${i}: stopGradient of an intermediate`);
    assert.deepEqual(a, x, `call ${i}: reshape of the input`);
  }
});

cpuTest("pool: a donated jitted training loop computes the same as without fusion or reuse", async () => {
  type P = { w: Array; b: Array };
  const loss = (p: P, x: Array) => np.tanh(np.matmul(x, p.w).add(p.b)).square().mean();
  const step = jit((p: P, x: Array) => tree.map((a: Array, g: Array) => a.sub(g.mul(0.1)), p, grad(loss)(p, x)) as P, {
    donateArgnums: [0],
  });
  const x = random.normal(random.key(1), [64, 96]);
  const init = () => ({ w: random.normal(random.key(2), [96, 128]).mul(0.1), b: np.zeros([128]) });
  let p = init();
  const history: Float32Array[] = [];
  for (let i = 0; i < 20; i++) {
    p = step(p, x);
    history.push((await p.w.data()) as Float32Array);
  }
  // reference: the unfused interpreter, fresh storage every step (pool emptied before each)
  fusion.enabled = false;
  try {
    const ref = jit((p: P, x: Array) => tree.map((a: Array, g: Array) => a.sub(g.mul(0.1)), p, grad(loss)(p, x)) as P);
    let q = init();
    for (let i = 0; i < 20; i++) {
      trimPool();
      q = ref(q, x);
      assert.deepEqual(await q.w.data(), history[i], `step ${i}`);
    }
  } finally {
    fusion.enabled = true;
  }
});
