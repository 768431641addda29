/**
 * WebGPU backend, whole programs: jvp/vjp parity with cpu, scan, customVjp, random bits,
 * one `queue.submit` per jitted convnet train step, flat memory over 1,000 donated steps.
 */
import assert from "node:assert/strict";
import { type Array, customVjp, grad, jit, jvp, lax, memoryStats, np, random, useBackend, vjp } from "../mod.ts";
import { bind1 } from "../core/trace.ts";
import { unary } from "../core/primitives/ops.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import { counters, resetCounters } from "../core/backend/webgpu/mod.ts";
import { assertClose, data, gpuTest, webgpu } from "./webgpu_util.ts";

type Fn = () => Array[];
/** Runs `f` with cpu then webgpu as the default backend and compares every output. */
async function both(f: Fn, tol: { rtol?: number; atol?: number } = {}): Promise<TypedArray[]> {
  await webgpu();
  await useBackend("cpu");
  const want = await Promise.all(f().map((a) => a.data()));
  await useBackend("webgpu");
  try {
    const outs = f();
    const got = await Promise.all(outs.map((a) => a.data()));
    want.forEach((w, i) => assertClose(got[i], w, outs[i].dtype, `output ${i}`, tol.rtol ?? 1e-4, tol.atol ?? 1e-5));
    return got;
  } finally {
    await useBackend("cpu");
  }
}

const host = (shape: number[], dtype: DType = "float32", lo = -1, hi = 1) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { d: data(dtype, n, lo, hi), shape };
};
const arr = (h: { d: TypedArray; shape: number[] }) => np.array(globalThis.Array.from(h.d)).reshape(h.shape);

const E = {} as Record<string, never>;
const U = ["exp", "log1p", "expm1", "sin", "cos", "tanh", "logistic", "sqrt", "rsqrt", "abs", "erf"] as const;
const B = ["add", "sub", "mul", "div", "pow", "max", "min", "atan2", "rem"] as const;

Deno.test({
  name: "webgpu: jvp and vjp of every differentiable elementwise op match cpu",
  ...gpuTest,
  fn: async () => {
    const hx = host([33], "float32", 0.2, 2), hy = host([33], "float32", 0.3, 1.5), ht = host([33]);
    for (const op of U) {
      await both(() => {
        const x = arr(hx), t = arr(ht);
        const [y, dy] = jvp((a: Array) => unary(op, a), [x], [t]);
        const [, back] = vjp((a: Array) => unary(op, a), x);
        return [y, dy, back(t)[0]];
      });
    }
    for (const op of B) {
      await both(() => {
        const x = arr(hx), y = arr(hy), t = arr(ht);
        const f = (a: Array, b: Array) => bind1(op, [a, b], E);
        const [o, d] = jvp(f, [x, y], [t, t]);
        const [, back] = vjp(f, x, y);
        const [gx, gy] = back(t);
        return [o, d, gx, gy];
      });
    }
  },
});

Deno.test({
  name: "webgpu: grads of conv, pooling, matmul, gather, dynamic slices match cpu",
  ...gpuTest,
  fn: async () => {
    const hx = host([2, 3, 9, 9]), hw = host([4, 3, 3, 3]), hd = host([4 * 4 * 4, 5]);
    await both(() => {
      const loss = (x: Array, w: Array, d: Array) => {
        let h = lax.convGeneralDilated(x, w, { strides: [1, 1], padding: "SAME", rhsDilation: [1, 1] });
        h = h.maximum(0);
        h = lax.reduceWindow(h, "max", [1, 1, 2, 2]);
        const s = lax.reduceWindow(h, "sum", [1, 1, 1, 1]);
        const z = s.reshape(2, -1).matmul(d);
        const picked = np.take(z, np.array([0, 3, 1]), 1);
        const ds = lax.dynamicSlice(z, [np.array(1), 1], [1, 3]);
        return picked.square().sum().add(ds.tanh().sum());
      };
      const g = grad(loss, { argnums: [0, 1, 2] })(arr(hx), arr(hw), arr(hd)) as Array[];
      return [loss(arr(hx), arr(hw), arr(hd)), ...g];
    }, { atol: 1e-4 });
  },
});

Deno.test({
  name: "webgpu: scan (forward and grad) and customVjp match cpu",
  ...gpuTest,
  fn: async () => {
    const hx = host([6, 4]), hc = host([4]);
    await both(() => {
      const f = (c0: Array, xs: Array) => {
        const [c, ys] = lax.scan(
          (c: Array, x: Array) => {
            const n = c.mul(x).add(unary("sin", x));
            return [n, n.tanh()];
          },
          c0,
          xs,
        );
        return c.sum().add((ys as Array).square().sum());
      };
      const [gc, gx] = grad(f, { argnums: [0, 1] })(arr(hc), arr(hx)) as Array[];
      const [c, ys] = lax.scan((c: Array, x: Array) => [c.add(x), c.mul(x)], arr(hc), arr(hx), { reverse: true });
      return [f(arr(hc), arr(hx)), gc, gx, c as Array, ys as Array];
    });
    await both(() => {
      const clipGrad = customVjp(
        (x: Array) => x.square(),
        (x: Array) => [x.square(), x],
        (x: Array, ct: Array) => [np.clip(ct.mul(x).mul(2), -0.5, 0.5)],
      );
      const x = arr(hc);
      return [clipGrad(x), grad((x: Array) => clipGrad(x).sum())(x)];
    });
  },
});

Deno.test({
  name: "webgpu: random bits, uniform and normal are identical to cpu",
  ...gpuTest,
  fn: async () => {
    const got = await both(() => {
      const k = random.key(42);
      const [a, b] = random.split(k);
      return [random.bits(a, [1000]), random.uniform(b, [257]), random.normal(random.foldIn(k, 7), [100])];
    }, { rtol: 1e-6, atol: 1e-6 });
    assert.equal(got[0].length, 1000);
  },
});

/** A small convnet train step (conv → relu → pool → dense → softmax cross-entropy → SGD). */
const convW = host([4, 1, 3, 3]), convD = host([4 * 4 * 4, 3]);
function convnetStep() {
  type P = { w: Array; b: Array; d: Array };
  const loss = (p: P, x: Array, y: Array) => {
    let h = lax.convGeneralDilated(x, p.w, { padding: "SAME" }).add(p.b.reshape(1, -1, 1, 1)).maximum(0);
    h = lax.reduceWindow(h, "max", [1, 1, 2, 2]);
    const z = h.reshape(h.shape[0], -1).matmul(p.d);
    const logp = z.sub(np.logsumexp(z, { axis: 1, keepdims: true }));
    return logp.mul(y).sum().neg().div(x.shape[0]);
  };
  const step = jit((p: P, x: Array, y: Array) => {
    const g = grad(loss)(p, x, y) as P;
    return { w: p.w.sub(g.w.mul(0.1)), b: p.b.sub(g.b.mul(0.1)), d: p.d.sub(g.d.mul(0.1)) };
  }, { donateArgnums: [0] });
  const init = (): P => ({ w: arr(convW), b: np.zeros([4]), d: arr(convD) });
  return { step, init, loss };
}

Deno.test({
  name: "webgpu: a jitted convnet train step is one queue.submit and matches cpu",
  ...gpuTest,
  fn: async () => {
    const hx = host([2, 1, 8, 8]);
    const y = [[1, 0, 0], [0, 0, 1]];
    await both(() => {
      const { step, init, loss } = convnetStep(); // a fresh jit per backend (traces hold constants)
      let p = init();
      for (let i = 0; i < 3; i++) p = step(p, arr(hx), np.array(y));
      return [p.w, p.b, p.d, loss(p, arr(hx), np.array(y))];
    });
    await useBackend("webgpu");
    try {
      const { step, init } = convnetStep();
      let p = init();
      const x = arr(hx), yy = np.array(y);
      p = step(p, x, yy); // trace and compile
      await p.w.data(); // flush pending work
      resetCounters();
      p = step(p, x, yy);
      assert.equal(counters.submits, 1, "one queue.submit per jitted step");
      assert.ok(counters.dispatches > 5);
      await p.d.data();
    } finally {
      await useBackend("cpu");
    }
  },
});

Deno.test({
  name: "webgpu: a jitted reduction computes its elementwise producer chain in-kernel",
  ...gpuTest,
  fn: async () => {
    const hx = host([6, 40]), hb = host([6, 40]);
    const f = (x: Array, b: Array) => [
      np.sum(np.square(x.sub(1))),
      np.max(x.mul(b).exp(), { axis: 1 }),
      np.sum(x.sub(b).abs(), { axis: 0 }),
    ];
    const g = jit(f);
    await both(() => g(arr(hx), arr(hb)));
    // Long rows take the multi-pass / workgroup-tree paths.
    const hy = host([4, 300]);
    const long = jit((y: Array) => [np.sum(np.square(y.sub(1))), np.min(y.mul(y).neg(), { axis: 1 })]);
    await both(() => long(arr(hy)));
    await useBackend("webgpu");
    try {
      const x = arr(hx), b = arr(hb);
      const count = async (run: () => Array[]) => {
        await x.data(); // flush pending work
        resetCounters();
        const outs = run();
        await Promise.all(outs.map((o) => o.data()));
        return counters.dispatches;
      };
      const h = jit((x: Array) => np.sum(np.square(x.sub(1))));
      h(x); // trace and compile
      const eager = await count(() => [np.sum(np.square(x.sub(1)))]);
      const fused = await count(() => [h(x)]);
      assert.ok(fused < eager, `fused ${fused} dispatches, eager ${eager}`);
      // The constant 1 is read in place by the reduction's prologue: its broadcast, which was
      // a dispatch of its own, is no longer materialised (2 → 1).
      assert.equal(fused, 1, "sub (of the scalar, indexed in place), square and sum as one kernel");
      const k = jit((x: Array, b: Array) => np.sum(np.square(x.sub(b))));
      k(x, b);
      assert.equal(await count(() => [k(x, b)]), 1, "sub, square and sum run as one kernel");
      g(x, b);
      // The broadcast of the constant 1 is indexed in place, no dispatch of its own (4 → 3).
      assert.equal(await count(() => g(x, b)), 3, "one kernel per reduction");
    } finally {
      await useBackend("cpu");
    }
  },
});

Deno.test({
  name: "webgpu: 1,000 donated jitted steps keep live GPU memory flat",
  ...gpuTest,
  fn: async () => {
    await webgpu();
    await useBackend("webgpu");
    try {
      type P = { w: Array; b: Array };
      const x = arr(host([8, 6])), t = arr(host([8, 2]));
      const loss = (p: P) => x.matmul(p.w).add(p.b).tanh().sub(t).square().mean();
      const step = jit((p: P) => {
        const g = grad(loss)(p) as P;
        return { w: p.w.sub(g.w.mul(0.05)), b: p.b.sub(g.b.mul(0.05)) };
      }, { donateArgnums: [0] });
      let p: P = { w: arr(host([6, 2])), b: np.zeros([2]) };
      const l0 = await loss(p).item();
      for (let i = 0; i < 10; i++) p = step(p);
      await p.w.data();
      const before = memoryStats().webgpu;
      const rss0 = Deno.memoryUsage().rss;
      const created = counters.buffersCreated;
      for (let i = 0; i < 1000; i++) p = step(p);
      await p.w.data();
      const after = memoryStats().webgpu;
      // Collected temporaries may only lower the count; the steps themselves add nothing.
      assert.ok(after.buffers <= before.buffers && after.bytes <= before.bytes, JSON.stringify({ before, after }));
      assert.equal(counters.buffersCreated, created, "every step reuses pooled buffers");
      assert.ok(Deno.memoryUsage().rss - rss0 < 64 << 20, "process memory roughly flat");
      assert.ok((await loss(p).item()) < l0, "the model trained");
    } finally {
      await useBackend("cpu");
    }
  },
});
