/**
 * Memory of eager (non-jitted) code: `grad`, `vjp` and `linearize` free the arrays they make
 * and do not return as soon as they return (as `jit` frees its intermediates), without ever
 * freeing what a user can still reach; reads give the event loop a turn now and then so that
 * arrays the user dropped return their storage; and a README-style eager training loop stays
 * bounded without forced collections.
 */
import assert from "node:assert/strict";
import { type Array, customVjp, grad, linearize, memoryStats, np, valueAndGrad, vjp } from "../mod.ts";
import { defaultBackend, useBackend } from "../core/backend/backend.ts";
import { pooledBytes } from "../core/backend/cpu/pool.ts";

const live = () => memoryStats()[defaultBackend().name]?.buffers ?? 0;
const gc = (globalThis as { gc?: () => void }).gc;

Deno.test("2,000 eager training steps keep live buffers flat and RSS bounded without forced collections", async () => {
  // In a process of its own (no type checker, no other test, no --expose-gc): see _eager_loop.ts.
  const script = new URL("./_eager_loop.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script.href, "2000"],
    env: { WAX_BACKEND: "cpu" },
    stderr: "inherit",
  }).output();
  assert.ok(out.success, "the eager training loop failed");
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`2,000 eager steps: live buffers ${r.base} -> peak ${r.peak}; RSS +${mib(r.rssGrowth)} MiB`);
  // Before: 42 more live buffers per step (84,000 over the loop) and +259 MiB of RSS. Arrays the
  // user drops (12 per step here) wait for the collector, so some hundreds may be pending.
  assert.ok(r.peak - r.base < 6000, `live buffers grew from ${r.base} to ${r.peak}`);
  assert.ok(r.rssGrowth < 64 * 2 ** 20, `process memory grew by ${mib(r.rssGrowth)} MiB over 2,000 eager steps`);
  assert.deepEqual(r.heldNow, r.held, "parameters held since step 1,000 keep their values");
  assert.ok(r.loss1 < r.loss0 * 0.1, `loss ${r.loss0} -> ${r.loss1}`);
});

// A small layer whose gradient is worked out by hand: L = mean((tanh(x·w + b) − y)²).
const [N, D, H] = [4, 3, 2];
const xs = [[0.5, -1, 2], [1.5, 0.25, -0.5], [-2, 1, 0.75], [0.1, 0.2, 0.3]];
const ws = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.25]];
const bs = [0.05, -0.1];
const ys = [[0.2, -0.4], [0.9, 0.1], [-0.3, 0.5], [0, 0]];
type Layer = { w: Array; b: Array };
const layerLoss = (p: Layer, x: Array, y: Array) => np.tanh(np.matmul(x, p.w).add(p.b)).sub(y).square().mean();

/** The loss and its gradient by hand, in float64: dL/dz = 2 (h − y)(1 − h²) / (N·H). */
function layerByHand(): { loss: number; w: number[][]; b: number[] } {
  const gw = ws.map((r) => r.map(() => 0));
  const gb = bs.map(() => 0);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      const z = bs[h] + xs[n].reduce((s, v, d) => s + v * ws[d][h], 0);
      const t = Math.tanh(z);
      loss += (t - ys[n][h]) ** 2 / (N * H);
      const dz = (2 * (t - ys[n][h]) * (1 - t * t)) / (N * H);
      gb[h] += dz;
      for (let d = 0; d < D; d++) gw[d][h] += dz * xs[n][d];
    }
  }
  return { loss, w: gw, b: gb };
}

const close = (got: Float32Array | number[], want: number[], what: string) => {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-6, `${what}[${i}]: ${g} vs ${want[i]}`));
};

Deno.test("eager grad frees its residuals and intermediates when it returns", async () => {
  const x = np.array(xs);
  const y = np.array(ys);
  const p = { w: np.array(ws), b: np.array(bs) };
  const want = layerByHand();
  const withAux = (q: Layer) => [layerLoss(q, x, y), np.tanh(q.w)];
  // a first call of each makes the scalar constants the traces need (cached, so counted once)
  grad(layerLoss)(p, x, y), valueAndGrad(layerLoss)(p, x, y), grad(withAux, { hasAux: true })(p);
  const before = live();
  const g = grad(layerLoss)(p, x, y) as Layer;
  assert.equal(live(), before + 2, "grad leaves only its two gradients"); // before: +30 until collected
  const [v, g2] = valueAndGrad(layerLoss)(p, x, y) as [Array, Layer];
  assert.equal(live(), before + 5, "valueAndGrad leaves the value and the gradients");
  const [g3, aux] = grad(withAux, { hasAux: true })(p) as [Layer, Array];
  assert.equal(live(), before + 8, "grad with aux leaves the gradients and the aux");
  for (const [gw, gb] of [[g.w, g.b], [g2.w, g2.b], [g3.w, g3.b]]) {
    close(await gw.data() as Float32Array, want.w.flat(), "dL/dw");
    close(await gb.data() as Float32Array, want.b, "dL/db");
  }
  assert.ok(Math.abs((await v.item()) - want.loss) < 1e-6, "value");
  close(await aux.data() as Float32Array, ws.flat().map(Math.tanh), "aux");
  // the inputs are untouched
  assert.ok([x, y, p.w, p.b].every((a) => a.isLive));
});

Deno.test("inputs, and values that are inputs, are never freed", async () => {
  const x = np.array(3, { dtype: "float32" });
  const [v, g] = valueAndGrad((a: Array) => a)(x) as [Array, Array];
  assert.equal(v, x, "the value is the input itself");
  assert.ok(x.isLive);
  assert.equal(await g.item(), 1);
  const [g2, aux] = grad((a: Array) => [a.mul(a), a], { hasAux: true })(x) as [Array, Array];
  assert.equal(aux, x);
  assert.ok(x.isLive);
  assert.equal(await g2.item(), 6);
  assert.equal(await x.item(), 3);
});

Deno.test("vjp and linearize keep their residuals; each call frees only its own intermediates", async () => {
  // 8,192 float32 values (32 KiB): freed storage goes to the cpu pool and is handed out again,
  // so a value freed too early would be overwritten by the later calls.
  const n = 8192;
  const xv = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 2);
  const xn = [...xv];
  const x = np.array(xv);
  const f = (a: Array) => np.tanh(a).mul(a);
  const [yv, pullback] = vjp(f, x);
  const cts = [1, 2, 3].map((c) => np.full([n], c));
  const outs: Array[] = [];
  pullback(cts[0]); // (a first call may make cached constants)
  let last = live();
  for (const ct of cts) {
    outs.push(pullback(ct)[0] as Array);
    assert.equal(live(), last + 1, "a pullback call leaves only its cotangent");
    last = live();
  }
  const [y2, lin] = linearize(f, x);
  lin(cts[0]);
  last = live();
  const tangents = cts.map((c) => lin(c) as Array);
  assert.equal(live(), last + 3, "a linearized call leaves only its output");
  for (let k = 0; k < 4; k++) np.ones([n]).mul(k).dispose(); // churn the pool
  const dfdx = (v: number) => Math.tanh(v) + v * (1 - Math.tanh(v) ** 2);
  for (let c = 0; c < 3; c++) {
    const wantD = xn.map((v) => (c + 1) * dfdx(v));
    const [o, t] = [await outs[c].data(), await tangents[c].data()];
    o.forEach((g, i) => assert.ok(Math.abs(g - wantD[i]) < 1e-5, `pullback ${c} [${i}]: ${g} vs ${wantD[i]}`));
    t.forEach((g, i) => assert.ok(Math.abs(g - wantD[i]) < 1e-5, `lin ${c} [${i}]: ${g} vs ${wantD[i]}`));
  }
  const yWant = xn.map((v) => Math.tanh(v) * v);
  for (const out of [yv, y2]) {
    (await out.data()).forEach((g, i) => assert.ok(Math.abs(g - yWant[i]) < 1e-5, `y[${i}]`));
  }
});

Deno.test("a customVjp backward pass may keep the arrays it is given: they stay live and correct", async () => {
  const kept: Array[] = [];
  const sinOf = customVjp(
    (a: Array) => np.sin(a),
    (a: Array) => [np.sin(a), np.cos(a)], // the residual is made inside grad
    (cos: Array, g: Array) => {
      kept.push(cos, g); // user code keeps what it was given
      return [g.mul(cos)];
    },
  );
  const xv = [0.5, 1, 2];
  const g = grad((a: Array) => sinOf(a.mul(2)).sum())(np.array(xv)) as Array;
  for (let k = 0; k < 4; k++) np.ones([3]).mul(k).dispose();
  close(await g.data() as Float32Array, xv.map((v) => 2 * Math.cos(2 * v)), "d/dx sin(2x)");
  assert.equal(kept.length, 2);
  assert.ok(kept.every((a) => a.isLive), "the arrays bwd kept are live");
  close(await kept[0].data() as Float32Array, xv.map((v) => Math.cos(2 * v)), "kept residual");
  close(await kept[1].data() as Float32Array, [1, 1, 1], "kept cotangent");
});

Deno.test({
  name: "a read gives the event loop a turn: collected arrays return their buffers without a timer",
  ignore: !gc,
  fn: async () => {
    const x = np.ones([4]);
    await x.data();
    const before = live();
    (() => {
      for (let i = 0; i < 300; i++) x.add(x); // results dropped at once
    })();
    assert.ok(live() >= before + 300);
    gc!();
    await x.data(); // no setTimeout, no explicit turn: the read itself lets the registry run
    assert.ok(live() <= before + 2, `${live() - before} dropped arrays still counted after a read`);
  },
});

Deno.test({
  name: "dropped matmul results come back to the pool like disposed ones",
  ignore: !gc, // (collections are forced here to be deterministic; the file's first test forces none)
  fn: async () => {
    const prev = defaultBackend().name;
    await useBackend("cpu");
    try {
      const a = np.ones([512, 512]); // 1 MiB results: pooled storage
      await np.matmul(a, a).blockUntilReady();
      const before = live();
      const pooled0 = pooledBytes();
      for (let i = 0; i < 15; i++) await np.matmul(a, a).blockUntilReady(); // dropped, not disposed
      // Collect, then give the event loop turns until the registry has run: when V8 runs its
      // cleanup after a collection is up to the engine (on a loaded machine, some turns later),
      // so the wait is counted in turns, at most 100, never in time.
      for (let i = 0; i < 100 && live() > before + 1; i++) {
        gc!();
        await new Promise((turn) => setTimeout(turn, 0));
      }
      assert.ok(live() <= before + 1, `${live() - before} dropped results still live after 100 collections`);
      const back = (pooledBytes() - pooled0) / 2 ** 20;
      assert.ok(back >= 8, `only ${back} MiB of the 15 dropped results came back to the pool`);
      const c = np.matmul(a, a); // from recycled storage, and correct
      assert.ok((await c.data()).every((v) => v === 512));
    } finally {
      await useBackend(prev);
    }
  },
});
