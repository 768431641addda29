/**
 * WebGPU epilogue fusion: a jitted reduction, matmul or convolution computes the elementwise
 * chain that consumes its result (scale, sqrt, bias add, activations) in its own store. Each
 * pattern gives what the cpu backend gives (floats to 1e-5 relative, integers exactly, NaN
 * where NaN) and saves an exact number of dispatches against the same program with epilogue
 * fusion switched off.
 */
import assert from "node:assert/strict";
import { type Array, grad, jit, lax, np, useBackend } from "../mod.ts";
import { defaultBackend } from "../core/backend/backend.ts";
import { dot } from "../core/primitives/contract.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import { counters, resetCounters } from "../core/backend/webgpu/mod.ts";
import { epilogueFusion } from "../core/backend/webgpu/epilogue.ts";
import { viewFusion } from "../core/backend/webgpu/broadcast.ts";
import { broadcastInDim } from "../core/primitives/ops.ts";
import { assertClose, data, gpuTest, webgpu } from "./webgpu_util.ts";

interface Host {
  d: TypedArray;
  shape: number[];
}
const host = (shape: number[], dtype: DType = "float32", lo = -1, hi = 1): Host => ({
  d: data(dtype, shape.reduce((a, b) => a * b, 1), lo, hi),
  shape,
});
const arr = (h: Host) => np.array(h.d, { shape: h.shape });
const list = (y: Array | Array[]) => (globalThis.Array.isArray(y) ? y : [y]);

/** Dispatches of one jitted call, without and with epilogue fusion. */
interface Counts {
  unfused: number;
  fused: number;
}

/**
 * Jits `f` afresh on cpu and on webgpu (`flag` — epilogue fusion by default — off, then on),
 * checks every webgpu output against cpu and returns the dispatches of one (already compiled)
 * webgpu call.
 */
async function check(
  f: (...xs: Array[]) => Array | Array[],
  inputs: Host[],
  rtol = 1e-5,
  flag: { enabled: boolean } = epilogueFusion,
): Promise<Counts> {
  await webgpu();
  const prev = defaultBackend().name;
  try {
    await useBackend("cpu");
    const want = await Promise.all(list(jit(f)(...inputs.map(arr))).map((o) => o.data()));
    await useBackend("webgpu");
    const counts = { unfused: 0, fused: 0 };
    for (const on of [false, true]) {
      flag.enabled = on;
      const g = jit(f);
      const args = inputs.map(arr);
      await Promise.all(list(g(...args)).map((o) => o.data())); // trace, compile, flush
      resetCounters();
      const outs = list(g(...args));
      counts[on ? "fused" : "unfused"] = counters.dispatches;
      assert.equal(counters.submits, 1, "one queue.submit per call");
      const got = await Promise.all(outs.map((o) => o.data()));
      want.forEach((w, i) =>
        assertClose(got[i], w, outs[i].dtype, `output ${i} (fusion ${on ? "on" : "off"})`, rtol, 1e-6)
      );
    }
    return counts;
  } finally {
    flag.enabled = true;
    await useBackend(prev);
  }
}

Deno.test({
  name: "webgpu epilogue: mean over an axis is one kernel",
  ...gpuTest,
  fn: async () => {
    // sum then divide (by a folded constant of the output's shape) → one reduction that divides before storing.
    assert.deepEqual(await check((x) => np.mean(x, { axis: 1 }), [host([7, 13])]), { unfused: 2, fused: 1 });
    assert.deepEqual(await check((x) => np.mean(x, { axis: 0 }), [host([7, 13])]), { unfused: 2, fused: 1 });
  },
});

Deno.test({
  name: "webgpu epilogue: sum, scale, sqrt; and a scalar loss sum(...)/n",
  ...gpuTest,
  fn: async () => {
    const f = (x: Array) => np.sqrt(np.sum(x, { axis: 0 }).mul(0.5));
    assert.deepEqual(await check(f, [host([9, 5], "float32", 0, 2)]), { unfused: 2, fused: 1 });
    // The prologue (sub, square) and the epilogue (divide) both live in the reduction kernel.
    const loss = (x: Array, t: Array) => x.sub(t).square().sum().div(x.shape[0]);
    assert.deepEqual(await check(loss, [host([6, 4]), host([6, 4])]), { unfused: 2, fused: 1 });
  },
});

Deno.test({
  name: "webgpu epilogue: batchnorm statistics, rsqrt(var + eps)",
  ...gpuTest,
  fn: async () => {
    const f = (x: Array) => {
      const m = np.mean(x, { axis: [0, 2, 3], keepdims: true });
      const v = np.var(x, { axis: [0, 2, 3], keepdims: true });
      const inv = np.rsqrt(v.add(1e-5));
      return [m, inv, x.sub(m).mul(inv)];
    };
    // Each reduction carries its divide (the second also + eps and rsqrt); the broadcasts of
    // their statistics are indexed in place by the variance's prologue and by the full-size
    // sub/mul group (no broadcast is materialised: 8 → 5 unfused, 6 → 3 fused).
    assert.deepEqual(await check(f, [host([4, 3, 5, 5], "float32", -2, 3)]), { unfused: 5, fused: 3 });
  },
});

Deno.test({
  name: "webgpu epilogue: matmul + bias + tanh is one kernel",
  ...gpuTest,
  fn: async () => {
    // dot and the add/tanh kernel (which indexes the bias in place: no broadcast kernel) → one
    // GEMM that adds and applies tanh before storing.
    const f = (x: Array, w: Array, b: Array) => np.tanh(x.matmul(w).add(b));
    assert.deepEqual(await check(f, [host([5, 7]), host([7, 9]), host([9])]), { unfused: 2, fused: 1 });
    // Large enough for the register-blocked GEMM (odd sizes: partial tiles in m and n).
    assert.deepEqual(
      await check(f, [host([37, 29]), host([29, 45]), host([45])]),
      { unfused: 2, fused: 1 },
    );
  },
});

Deno.test({
  name: "webgpu epilogue: a pre-activation that is also returned is still stored",
  ...gpuTest,
  fn: async () => {
    const f = (x: Array, w: Array, b: Array) => {
      const h = x.matmul(w).add(b);
      return [h, np.where(h.greater(0), h, h.mul(0.2))]; // leaky relu
    };
    // dot and the add/gt/mul/select group, which indexes the bias and both scalars in place (no
    // broadcast kernels) → one kernel, two outputs.
    assert.deepEqual(await check(f, [host([19, 23]), host([23, 33]), host([33])]), { unfused: 2, fused: 1 });
    // The pre-activation read by a later reduction too.
    const g = (x: Array, w: Array) => {
      const h = x.matmul(w);
      const a = np.maximum(h, 0);
      return [a, h.sum(0)];
    };
    // Unfused: dot, max (reading the 0 in place, no broadcast kernel), sum.
    assert.deepEqual(await check(g, [host([6, 10]), host([10, 12])]), { unfused: 3, fused: 2 });
  },
});

Deno.test({
  name: "webgpu epilogue: conv + bias + relu is one kernel",
  ...gpuTest,
  fn: async () => {
    const f = (x: Array, w: Array, b: Array) =>
      np.maximum(lax.convGeneralDilated(x, w, { padding: "SAME" }).add(b.reshape(1, -1, 1, 1)), 0);
    // Unfused: the conv, then one add/max kernel that indexes the bias and the 0 in place.
    assert.deepEqual(
      await check(f, [host([2, 3, 9, 9]), host([5, 3, 3, 3]), host([5])]),
      { unfused: 2, fused: 1 },
    );
    // Strided, odd-sized, VALID: N·Q = 2·4·3 columns.
    const g = (x: Array, w: Array, b: Array) =>
      np.tanh(lax.convGeneralDilated(x, w, { strides: [2, 3], padding: "VALID" }).add(b.reshape(1, -1, 1, 1)));
    assert.deepEqual(
      await check(g, [host([2, 2, 11, 10]), host([3, 2, 3, 3]), host([3])]),
      { unfused: 2, fused: 1 },
    );
  },
});

Deno.test({
  name: "webgpu epilogue: batched dotGeneral with transposed operands",
  ...gpuTest,
  fn: async () => {
    // a: [batch 3, k 7, m 5], b: [batch 3, n 6, k 7] → [3, 5, 6]; bias over (batch, n), a full-shape
    // addend, a scale and logistic (unfused: the dot, then one kernel indexing bias and scale in place).
    const f = (a: Array, b: Array, c: Array, z: Array) =>
      np.sigmoid(dot(a, b, { contract: [[1], [2]], batch: [[0], [0]] }).add(c.reshape(3, 1, 6)).mul(1.5).add(z));
    assert.deepEqual(
      await check(f, [host([3, 7, 5]), host([3, 6, 7]), host([3, 6]), host([3, 5, 6])]),
      { unfused: 2, fused: 1 },
    );
  },
});

Deno.test({
  name: "webgpu epilogue: long rows, odd shapes, int32 reductions",
  ...gpuTest,
  fn: async () => {
    // Rows of 300 take the multi-pass reduction: the epilogue runs in the final pass.
    const f = (x: Array, y: Array) => np.sqrt(np.mean(x.square(), { axis: 1 }).add(y));
    assert.deepEqual(await check(f, [host([5, 300]), host([5], "float32", 0, 1)]), { unfused: 3, fused: 2 });
    // Integers: exact, with an integer addend of the output's shape.
    const g = (x: Array, y: Array) => [np.sum(x, { axis: 1 }).mul(3).sub(y), np.max(x, { axis: 0 }).add(7)];
    const counts = await check(g, [host([6, 11], "int32"), host([6], "int32")]);
    assert.deepEqual(counts, { unfused: 4, fused: 2 });
  },
});

Deno.test({
  name: "webgpu epilogue: NaN propagates through an epilogue like on cpu",
  ...gpuTest,
  fn: async () => {
    const x = host([4, 6]);
    x.d[7] = NaN; // row 1
    const w = host([6, 5]);
    w.d[3] = NaN; // column 3
    const f = (x: Array) => [np.sqrt(np.sum(x, { axis: 1 }).mul(0.25).add(4)), np.max(x, { axis: 0 }).sub(1)];
    assert.deepEqual(await check(f, [x]), { unfused: 4, fused: 2 });
    const g = (x: Array, w: Array, b: Array) => np.maximum(x.matmul(w).add(b), 0).mul(2);
    const b = host([5]);
    assert.deepEqual(await check(g, [x, w, b]), { unfused: 2, fused: 1 }); // bias and scalars indexed in place
    // The cpu oracle has the NaNs: row 1 of both, column 1 of the max, column 3 of the matmul.
    const prev = defaultBackend().name;
    await useBackend("cpu");
    try {
      const [s, m] = await Promise.all(f(arr(x)).map((o) => o.data()));
      assert.ok(Number.isNaN(s[1]) && !Number.isNaN(s[0]) && Number.isNaN(m[1]) && !Number.isNaN(m[0]));
      const y = await g(arr(x), arr(w), arr(b)).data();
      assert.ok(Number.isNaN(y[5]) && Number.isNaN(y[3]) && !Number.isNaN(y[0]));
    } finally {
      await useBackend(prev);
    }
  },
});

/** A small convnet train step (conv, bias, leaky relu, pool, dense, tanh, log-softmax loss, SGD). */
type P = { w: Array; b: Array; d: Array; c: Array };
const convLoss = (p: P, x: Array, y: Array) => {
  let h = lax.convGeneralDilated(x, p.w, { padding: "SAME" }).add(p.b.reshape(1, -1, 1, 1));
  h = np.where(h.greater(0), h, h.mul(0.2));
  h = lax.reduceWindow(h, "max", [1, 1, 2, 2]);
  const z = np.tanh(h.reshape(h.shape[0], -1).matmul(p.d).add(p.c));
  const logp = z.sub(np.logsumexp(z, { axis: 1, keepdims: true }));
  return logp.mul(y).sum().neg().div(x.shape[0]);
};
const convStep = (w: Array, b: Array, d: Array, c: Array, x: Array, y: Array) => {
  const g = grad(convLoss)({ w, b, d, c }, x, y) as P;
  return [
    w.sub(g.w.mul(0.1)),
    b.sub(g.b.mul(0.1)),
    d.sub(g.d.mul(0.1)),
    c.sub(g.c.mul(0.1)),
    convLoss({ w, b, d, c }, x, y),
  ];
};
const convInputs = [
  host([4, 1, 3, 3]),
  host([4]),
  host([36, 4]),
  host([4]),
  host([3, 1, 6, 6]),
  host([3, 4], "float32", 0, 1),
];

Deno.test({
  name: "webgpu epilogue: a grad-of-convnet train step matches cpu with fewer dispatches",
  ...gpuTest,
  fn: async () => {
    const counts = await check(convStep, convInputs);
    // Conv and dense outputs carry their bias/activation (forward) and the activation's
    // derivative (backward); reductions their scaling. Elementwise kernels index broadcast
    // biases, statistics and scalars in place (39 → 30 unfused, 29 → 22 fused); the dense weight's
    // gradient is one dot with no transpose after it (30 → 29, 22 → 20).
    assert.deepEqual(counts, { unfused: 29, fused: 20 });
  },
});

Deno.test({
  name: "webgpu epilogue: operands computed after the anchor, and more operands than bindings",
  ...gpuTest,
  fn: async () => {
    // exp(y) is traced after the matmul: the add cannot run in the matmul's store.
    const f = (x: Array, w: Array, y: Array) => {
      const h = x.matmul(w);
      return h.add(np.exp(y));
    };
    assert.deepEqual(await check(f, [host([4, 6]), host([6, 5]), host([4, 5])]), { unfused: 2, fused: 2 });
    // 20 addends of the output's shape: the store takes what fits the storage-buffer limit.
    const g = (x: Array, w: Array, ...zs: Array[]) => zs.reduce((h, z) => h.add(z), x.matmul(w)).tanh();
    const zs = globalThis.Array.from({ length: 20 }, () => host([4, 5]));
    const counts = await check(g, [host([4, 6]), host([6, 5]), ...zs]);
    assert.ok(counts.fused < counts.unfused, JSON.stringify(counts));
  },
});

/** Like `check`, switching in-place broadcast reads (epilogues on): dispatches with the broadcasts materialised, and read in place. */
async function views(f: (...xs: Array[]) => Array | Array[], inputs: Host[]) {
  const { unfused, fused } = await check(f, inputs, 1e-5, viewFusion);
  return { materialized: unfused, inPlace: fused };
}

Deno.test({
  name: "webgpu broadcast: bias vectors, batch-norm statistics and scalars are indexed in place",
  ...gpuTest,
  fn: async () => {
    // [n] onto [m, n]: the broadcast and the add → one kernel; with a scalar argument as scale,
    // 3 → 1 (a literal scalar is folded into a constant at trace time: no broadcast to save).
    assert.deepEqual(await views((x, b) => x.add(b), [host([6, 10]), host([10])]), { materialized: 2, inPlace: 1 });
    assert.deepEqual(await views((x, b) => x.mul(2).add(b), [host([6, 10]), host([10])]), {
      materialized: 2,
      inPlace: 1,
    });
    assert.deepEqual(await views((x, s, b) => x.mul(s).add(b), [host([6, 10]), host([]), host([10])]), {
      materialized: 3,
      inPlace: 1,
    });
    // [1, C, 1, 1] statistics onto [N, C, H, W] (size-1 dims are not indexed).
    const bn = (x: Array, m: Array, s: Array, eps: Array) => x.sub(m).mul(s).add(eps);
    const stats = [host([3, 4, 5, 5]), host([1, 4, 1, 1]), host([1, 4, 1, 1], "float32", 0.5, 2), host([])];
    assert.deepEqual(await views(bn, stats), { materialized: 4, inPlace: 1 });
    // A reduction's prologue reads the broadcast in place too: sum((x - m)^2) over rows.
    const v = (x: Array, m: Array) => np.sum(x.sub(m).square(), { axis: 0 });
    assert.deepEqual(await views(v, [host([9, 7]), host([1, 7])]), { materialized: 2, inPlace: 1 });
  },
});

Deno.test({
  name: "webgpu broadcast: size-1 dims and non-trailing dims",
  ...gpuTest,
  fn: async () => {
    // [3] into [2, 3, 4] along dim 1; [3, 1] into [3, 5, 4] along dims 0, 2; [1, 4] into [2, 3, 4] along 1, 2.
    const f = (x: Array, a: Array, b: Array, c: Array) => {
      const [s] = x.shape;
      return [
        x.mul(broadcastInDim(a, [s, 3, 4], [1])),
        broadcastInDim(b, [3, 5, 4], [0, 2]).sub(broadcastInDim(a, [3, 5, 4], [0])).exp(),
        x.add(broadcastInDim(c, [s, 3, 4], [1, 2])).add(broadcastInDim(a, [s, 3, 4], [1])),
      ];
    };
    const ins = [host([2, 3, 4]), host([3]), host([3, 1]), host([1, 4])];
    // Materialised: four broadcasts (the two equal ones are one) and two kernels (one per output shape).
    assert.deepEqual(await views((x, a, b, c) => f(x, a, b, c), ins), { materialized: 6, inPlace: 2 });
  },
});

Deno.test({
  name: "webgpu broadcast: int32 and bool operands",
  ...gpuTest,
  fn: async () => {
    const i = (x: Array, b: Array, s: Array) => [x.mul(s).add(b), np.maximum(x, b)];
    const ints = [host([5, 8], "int32"), host([8], "int32"), host([], "int32")];
    assert.deepEqual(await views(i, ints), { materialized: 3, inPlace: 1 });
    // A bool mask per column selects between full-shape values; a bool per row is compared.
    const w = (x: Array, y: Array, b: Array, r: Array) => {
      const mask = b.greater(0); // [n] bool, broadcast onto [m, n]
      const rows = r.greater(0).reshape(-1, 1); // [m, 1] bool
      return [np.where(mask, x, y), np.logicalAnd(x.greater(y), rows), np.where(rows, 1, x)];
    };
    const counts = await views(w, [host([4, 6]), host([4, 6]), host([6]), host([4])]);
    // Three bool broadcasts ([6] along dim 1, [4, 1] twice) are indexed by the [4, 6] kernel.
    assert.deepEqual(counts, { materialized: 7, inPlace: 4 });
  },
});

Deno.test({
  name: "webgpu broadcast: a broadcast some reader cannot index is materialised once",
  ...gpuTest,
  fn: async () => {
    // `bb` is a matmul operand and read by an add: it is stored once (the add reads that buffer).
    const f = (x: Array, b: Array, w: Array) => {
      const bb = broadcastInDim(b, [4, 6], [1]);
      return [x.add(bb), bb.matmul(w)];
    };
    assert.deepEqual(await views(f, [host([4, 6]), host([6]), host([6, 3])]), { materialized: 3, inPlace: 3 });
    // A program output, also read by a kernel; a transpose (not elementwise) of a broadcast.
    const g = (x: Array, b: Array) => {
      const bb = broadcastInDim(b, [4, 6], [1]);
      return [bb, bb.mul(x), broadcastInDim(b, [6, 4], [0]).transpose().add(x)];
    };
    assert.deepEqual(await views(g, [host([4, 6]), host([6])]), { materialized: 4, inPlace: 4 });
    // One reader indexes the broadcast, another (a reduction, a contiguous read) needs it: stored once.
    const h = (x: Array, b: Array) => {
      const bb = broadcastInDim(b, [4, 6], [0]);
      return [bb.mul(x).exp(), np.max(bb, { axis: 1 })];
    };
    assert.deepEqual(await views(h, [host([4, 6]), host([4])]), { materialized: 3, inPlace: 3 });
  },
});

Deno.test({
  name: "webgpu broadcast: many broadcast operands respect the storage-buffer limit",
  ...gpuTest,
  fn: async () => {
    // Each bias is its own buffer; the group closes before it would bind too many.
    const f = (x: Array, ...bs: Array[]) => bs.reduce((h, b) => h.add(b), x).tanh();
    const bs = globalThis.Array.from({ length: 20 }, () => host([7]));
    const counts = await views(f, [host([5, 7]), ...bs]);
    assert.ok(counts.inPlace < counts.materialized - 15, JSON.stringify(counts));
  },
});

Deno.test({
  name: "webgpu broadcast: a grad-of-convnet train step matches cpu with broadcasts indexed in place",
  ...gpuTest,
  fn: async () => {
    // Bias gradients' reshapes, ones/scalars of the backward pass and the SGD scale are read in place.
    assert.deepEqual(await views(convStep, convInputs), { materialized: 26, inPlace: 20 });
  },
});
