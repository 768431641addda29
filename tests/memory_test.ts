/**
 * Memory: a donated jitted training loop keeps live buffers flat without the garbage
 * collector; `dispose()`/`using` release buffers; `memoryStats` counts new arrays.
 */
import assert from "node:assert/strict";
import { type Array, grad, jit, memoryStats, np, random, tree } from "../mod.ts";
import { defaultBackend } from "../core/backend/backend.ts";

// Counts on the backend the suite runs on (cpu, or webgpu with WAX_BACKEND=webgpu).
const cpu = () => memoryStats()[defaultBackend().name] ?? { buffers: 0, bytes: 0 };

type Params = { w1: Array; b1: Array; w2: Array; b2: Array };

function mlpLoss(p: Params, x: Array, y: Array): Array {
  const h = np.tanh(np.matmul(x, p.w1).add(p.b1));
  const out = np.matmul(h, p.w2).add(p.b2);
  return out.sub(y).square().mean();
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Trains the MLP with a donated jitted step for 10,000 steps; counts and RSS around the loop. */
async function donatedLoop(opts: { collect: boolean }) {
  const [k1, k2, k3] = random.split(random.key(0), 3);
  const x = random.normal(k1, [16, 4]);
  const y = np.sin(x.sum(1, true));
  let params: Params = {
    w1: random.normal(k2, [4, 16]).mul(0.5),
    b1: np.zeros([16]),
    w2: random.normal(k3, [16, 1]).mul(0.5),
    b2: np.zeros([1]),
  };
  for (const k of [k1, k2, k3]) k.dispose(); // (else collected mid-loop, which would change the counts)
  const step = jit((p: Params, xb: Array, yb: Array): Params => {
    const g = grad(mlpLoss)(p, xb, yb) as Params;
    return tree.map((a: Array, b: Array) => a.sub(b.mul(0.05)), p, g) as Params;
  }, { donateArgnums: [0] });
  const loss0 = await mlpLoss(params, x, y).item();
  // warm up: the first call traces and caches constants; the pool and allocator settle
  for (let i = 0; i < 500; i++) params = step(params, x, y);
  await params.b2.data();
  // RSS is measured with full collections every 1,000 steps: WebGPU's command encoders and
  // buffers hold native memory until their small JS wrappers are collected, which V8 may
  // postpone for tens of thousands of steps; what must not grow is what stays reachable.
  // A collection runs the FinalizationRegistry safety net for arrays dropped so far.
  const settle = async () => {
    if (opts.collect) gc!();
    await new Promise((r) => setTimeout(r, 10));
  };
  await settle();
  const before = cpu();
  const rss0 = Deno.memoryUsage().rss;
  for (let i = 0; i < 10_000; i++) {
    params = step(params, x, y);
    // A training loop reads a value now and then (to log the loss); on webgpu that wait also
    // lets the runtime reclaim finished submissions.
    if (i % 100 === 99) await params.b2.data();
    if (opts.collect && i % 1000 === 999) gc!();
  }
  await settle();
  const after = cpu();
  const rss1 = Deno.memoryUsage().rss;
  const loss1 = await mlpLoss(params, x, y).item();
  return { before, after, rss0, rss1, traceCount: step.traceCount, loss0, loss1 };
}

Deno.test("10,000 donated jitted SGD steps keep live buffers and bytes flat", async () => {
  const r = await donatedLoop({ collect: false });
  assert.equal(r.traceCount, 1);
  // Nothing the loop makes stays alive (arrays dropped before it may be collected during it).
  const grew = r.after.buffers > r.before.buffers || r.after.bytes > r.before.bytes;
  assert.ok(!grew, `live memory grew: ${JSON.stringify(r.before)} -> ${JSON.stringify(r.after)}`);
  // and it actually trained
  assert.ok(Number.isFinite(r.loss1) && r.loss1 < r.loss0 * 0.5, `loss ${r.loss0} -> ${r.loss1}`);
});

Deno.test({
  name: "10,000 donated jitted SGD steps keep process memory flat",
  ignore: !gc, // run with --v8-flags=--expose-gc (as `deno task test` does)
  fn: async () => {
    const r = await donatedLoop({ collect: true });
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(`RSS over 10,000 jitted steps: ${mib(r.rss0)} MiB -> ${mib(r.rss1)} MiB`);
    // Process memory stays flat on both backends (a leak of one 4 KiB object per step would be 39 MiB).
    assert.ok(r.rss1 - r.rss0 < 32 * 2 ** 20, `process memory grew by ${mib(r.rss1 - r.rss0)} MiB`);
    assert.deepEqual(
      r.after,
      r.before,
      `live memory changed: ${JSON.stringify(r.before)} -> ${JSON.stringify(r.after)}`,
    );
  },
});

Deno.test("dispose() and `using` release buffers; memoryStats counts new arrays", () => {
  const base = cpu();
  const a = np.array([1, 2, 3, 4]);
  let s = cpu();
  assert.equal(s.buffers, base.buffers + 1);
  assert.equal(s.bytes, base.bytes + 16);
  const b = np.array([1, 2], { dtype: "int32" });
  assert.equal(cpu().buffers, base.buffers + 2);
  assert.equal(cpu().bytes, base.bytes + 24);
  const c = np.array([true, false, true]);
  assert.equal(cpu().bytes, base.bytes + 27);
  a.dispose();
  s = cpu();
  assert.equal(s.buffers, base.buffers + 2);
  assert.equal(s.bytes, base.bytes + 11);
  a.dispose(); // a second dispose does not decrement again
  assert.equal(cpu().buffers, base.buffers + 2);
  b.dispose();
  c.dispose();
  assert.deepEqual(cpu(), base);
  {
    using u = np.array(new Float32Array(100));
    assert.equal(u.size, 100);
    assert.equal(cpu().bytes, base.bytes + 400);
    using v = np.array([1]);
    assert.equal(cpu().buffers, base.buffers + 2);
    void v;
  }
  assert.deepEqual(cpu(), base);
  // an op result is a new counted buffer (same shapes: no eager broadcast intermediate)
  const base2 = cpu();
  const x = np.array([1, 2]);
  const y = x.add(x);
  assert.equal(cpu().buffers, base2.buffers + 2, "op result");
  x.dispose();
  y.dispose();
  assert.deepEqual(cpu(), base2);
});

Deno.test("donation releases the donated inputs' buffers", () => {
  const f = jit((s: { a: Array; b: Array }) => ({ a: s.a.add(1), b: s.b.mul(2) }), { donateArgnums: [0] });
  let s = { a: np.zeros([8]), b: np.ones([8]) };
  s = f(s);
  const base = cpu();
  for (let i = 0; i < 100; i++) s = f(s);
  assert.deepEqual(cpu(), base);
  // without donation every step leaves its inputs alive until disposed
  const g = jit((v: Array) => v.add(1));
  let v = np.zeros([8]);
  v = g(v);
  const base2 = cpu();
  const olds: Array[] = [];
  for (let i = 0; i < 10; i++) {
    olds.push(v);
    v = g(v);
  }
  assert.equal(cpu().buffers, base2.buffers + 10);
  olds.forEach((o) => o.dispose());
  assert.deepEqual(cpu(), base2);
});

Deno.test("blockUntilReady resolves to the same array once computed; a disposed array is an error", async () => {
  const a = np.arange(12).reshape(3, 4).astype("float32");
  const b = np.matmul(a, a.T).add(1);
  const r = await b.blockUntilReady();
  assert.equal(r, b);
  // rows of a·aᵀ + 1 by hand: a[i]·a[j] + 1
  const rows = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]];
  const want = rows.flatMap((x) => rows.map((y) => x.reduce((s, v, k) => s + v * y[k], 0) + 1));
  assert.deepEqual([...await b.data()], want);
  b.dispose();
  await assert.rejects(() => b.blockUntilReady(), /blockUntilReady: this array was disposed/);
});
