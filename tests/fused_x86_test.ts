/**
 * Native AVX-512 fused loops (core/backend/cpu/fused_x86.ts): the machine code gives exactly the
 * bits of the generated JavaScript loop (the oracle, run with the native path off) on random
 * loop specs (1-d to 4-d, with row, per-channel and constant reads), at every tail length, over
 * NaN, ±Inf, ±0, denormals and extreme values; a jitted Adam step, dense layer gradient and batch
 * norm + leaky ReLU (forward and gradient) are bit-identical with the native path on and off;
 * ineligible loops stay JS.
 * Skipped where AVX-512 code cannot run (no avx512f, not linux x86_64, no FFI permission).
 */
import assert from "node:assert/strict";
import { type Array as Arr, grad, jit, np, random, tree } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import { fusedKernel, type FusedSpec } from "../core/backend/cpu/fusion.ts";
import { nativeElementwise, nativeFused, nativeStats } from "../core/backend/cpu/fused_x86.ts";
import { avx512Usable } from "../core/backend/cpu/gemm/x86/exec.ts";
import type { DType } from "../core/dtype.ts";
import * as optim from "../optim/mod.ts";
import { cpuTest } from "./_backend.ts";
import { edgeFloats, mulberry32 as rng, SPECIAL } from "./_ref.ts";

const usable = avx512Usable();
if (!usable) {
  console.warn("fused_x86_test: AVX-512 JIT not usable here (needs linux x86_64, avx512f, --allow-ffi); skipped");
}
const nativeTest = (name: string, fn: () => Promise<void> | void) => cpuTest(name, usable ? fn : () => {});

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/**
 * Same bits, element by element. With `anyNaN`, a NaN matches any NaN: the JS loop's own NaN
 * bits for NaN ⊕ NaN depend on V8's tier (the interpreter returns the right operand's NaN for
 * + and ×, optimized code the left's), so they are no oracle for payloads.
 */
function assertBits(gotOut: Out, wantOut: Out, what: string, anyNaN = false) {
  const [got, want] = [gotOut as Float32Array, wantOut as Float32Array];
  assert.equal(got.length, want.length, what);
  const [g, w] = [bits(got), bits(want)];
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i] && !(anyNaN && Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      assert.fail(`${what}: element ${i}: 0x${g[i].toString(16)} (${got[i]}) vs 0x${w[i].toString(16)} (${want[i]})`);
    }
  }
}

const F = "float32" as DType;
const UNARY = ["neg", "sqrt", "abs", "stopGradient"];
const BINARY = ["add", "sub", "mul", "div"];
const COMPARE = ["gt", "ge", "lt", "le", "eq", "ne"];
const MINMAX = ["max", "min"];

/** Read names of the random loops: contiguous, contiguous, a row (bias), a column, one value, a bool mask. */
const READS = ["x0", "x1", "row", "col", "c", "m"];

/** Read strides of `READS` in a loop of shape `shape` ([n] or [rows, cols]). */
const readStrides = (shape: number[], extra: number): number[][] => {
  const st = shape.length === 1
    ? [[1], [1], [1], [0], [0], [1]]
    : [[shape[1], 1], [shape[1], 1], [0, 1], [1, 0], [0, 0], [shape[1], 1]];
  return [...st, ...Array.from({ length: extra }, () => st[0])];
};

/** Inputs for `READS` in a loop of `rows` × `cols`. */
function inputs(rows: number, cols: number, r: () => number, extra = 0): (Float32Array | Uint8Array)[] {
  const mask = new Uint8Array(new ArrayBuffer(rows * cols + 5), 3, rows * cols);
  for (let i = 0; i < mask.length; i++) mask[i] = r() < 0.5 ? 0 : r() < 0.8 ? 1 : 2 + Math.floor(r() * 254); // any nonzero byte is true
  const more = Array.from({ length: extra }, () => edgeFloats(rows * cols, r));
  return [
    edgeFloats(rows * cols, r),
    edgeFloats(rows * cols, r),
    edgeFloats(cols, r),
    edgeFloats(rows, r),
    edgeFloats(1, r),
    mask,
    ...more,
  ];
}

/**
 * A random eligible loop over `READS` and `extra` more contiguous reads (summed first, so that
 * every pointer is used): `m` operations; two float outputs and, if any, the last comparison (bool).
 */
function randomSpec(
  r: () => number,
  m: number,
  shape: number[],
  extra = 0,
  st = readStrides(shape, extra),
): FusedSpec<string> {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const names = [...READS, ...Array.from({ length: extra }, (_, k) => `e${k}`)];
  const reads = names.map((v, j) => ({ v, dtype: (j === 5 ? "bool" : F) as DType, strides: st[j] }));
  const vals: (number | string)[] = [0, 1, 2, 3, 4];
  const preds: (number | string)[] = [5];
  const eqns: FusedSpec<string>["eqns"] = [];
  for (let k = 0; k < extra; k++) {
    const ins = [6 + k, k ? `s${k - 1}` : 0];
    eqns.push({ prim: pick(BINARY), params: {}, ins, inDtypes: [F, F], outs: [`s${k}`], outDtypes: [F] });
    vals.push(`s${k}`);
  }
  for (let k = 0; k < m; k++) {
    const out = `t${k}`, s = r();
    if (s < 0.2) {
      eqns.push({ prim: pick(UNARY), params: {}, ins: [pick(vals)], inDtypes: [F], outs: [out], outDtypes: [F] });
    } else if (s < 0.7) {
      const ins = [pick(vals), pick(vals)];
      eqns.push({ prim: pick([...BINARY, ...MINMAX]), params: {}, ins, inDtypes: [F, F], outs: [out], outDtypes: [F] });
    } else {
      if (r() < 0.7) {
        const p = `p${k}`, ins = [pick(vals), pick(vals)];
        eqns.push({ prim: pick(COMPARE), params: {}, ins, inDtypes: [F, F], outs: [p], outDtypes: ["bool"] });
        preds.push(p);
      }
      const ins = [pick(preds), pick(vals), pick(vals)];
      eqns.push({ prim: "select", params: {}, ins, inDtypes: ["bool", F, F], outs: [out], outDtypes: [F] });
    }
    vals.push(out);
  }
  const outs = [`t${m - 1}`, `t${Math.floor(r() * m)}`].map((v) => ({ v, dtype: F }));
  const lastPred = preds[preds.length - 1];
  if (typeof lastPred === "string") outs.push({ v: lastPred, dtype: "bool" });
  return { shape, reads, eqns, outs };
}

type Out = Float32Array | Uint8Array;

/** The JS loop's results (the oracle, native path off) and the native runner's, on the same inputs. */
function both(spec: FusedSpec<string>, ins: Out[]): { js: Out[]; native: Out[] } {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const saved = nativeElementwise.enabled;
  nativeElementwise.enabled = false;
  const js = fusedKernel(spec)(ins) as Out[];
  nativeElementwise.enabled = saved;
  const run = nativeFused(spec, { dims: spec.shape, strides: spec.reads.map((rd) => rd.strides) });
  assert.ok(run, `loop should be eligible: ${JSON.stringify(spec.eqns.map((e) => e.prim))}`);
  // Outputs as views into off-heap buffers, with guard bytes on each side.
  const native = spec.outs.map((o) =>
    o.dtype === "bool"
      ? new Uint8Array(new ArrayBuffer(n + 8), 4, n)
      : new Float32Array(new ArrayBuffer(4 * (n + 2)), 4, n)
  );
  const guards = native.map((o) => new Uint8Array(o.buffer));
  guards.forEach((g) => g.fill(0xa5));
  const minWork = nativeElementwise.minWork;
  nativeElementwise.minWork = 0;
  try {
    assert.equal(run(ins, native, n), n > 0);
  } finally {
    nativeElementwise.minWork = minWork;
  }
  native.forEach((o, k) => {
    const g = guards[k], end = o.byteOffset + o.byteLength;
    assert.ok(g.subarray(0, o.byteOffset).every((b) => b === 0xa5), "wrote before its output");
    assert.ok(g.subarray(end).every((b) => b === 0xa5), "wrote after its output");
  });
  return { js, native };
}

/** Random loops on shape `shape`, `trials` of them: native and JS agree bit for bit. */
function checkRandom(shape: number[], trials: number, r: () => number, extra = 0) {
  for (let t = 0; t < trials; t++) {
    const spec = randomSpec(r, 2 + Math.floor(r() * 14), shape, extra);
    const [rows, cols] = shape.length === 1 ? [1, shape[0]] : shape;
    const { js, native } = both(spec, inputs(rows, cols, r, extra));
    js.forEach((o, k) => {
      const what = `shape ${shape} trial ${t} output ${k} ${spec.eqns.map((e) => e.prim)}`;
      if (o instanceof Float32Array) assertBits(native[k], o, what, true);
      else assert.deepEqual(native[k], o, what);
    });
  }
}

nativeTest("native fused loops: random loops are bit-identical to the JS loop at every tail length", () => {
  const r = rng(7);
  for (const n of [0, 1, 15, 16, 17, 1000, 262147]) checkRandom([n], n > 10000 ? 3 : 15, r);
});

nativeTest("native fused loops: rows with bias, column broadcasts, bool masks and bool results", () => {
  const r = rng(11);
  for (const shape of [[3, 1], [2, 15], [5, 16], [4, 17], [256, 20], [7, 512], [64, 1000], [1, 33]]) {
    checkRandom(shape, 10, r);
  }
});

nativeTest("native fused loops: more pointers than registers (kept in the parameter block)", () => {
  const r = rng(13);
  for (const shape of [[1000], [9, 37], [3, 16]]) checkRandom(shape, 4, r, 12);
});

nativeTest("native fused loops: every operation alone, on every pair of special values", () => {
  const n = SPECIAL.length ** 2;
  const a = new Float32Array(n), b = new Float32Array(n);
  const [ua, ub] = [bits(a), bits(b)];
  SPECIAL.forEach((x, i) =>
    SPECIAL.forEach((y, j) => (ua[i * SPECIAL.length + j] = x, ub[i * SPECIAL.length + j] = y))
  );
  const c = Float32Array.of(-0);
  const one = (prim: string, ins: (number | string)[]): FusedSpec<string> => ({
    shape: [n],
    reads: ["a", "b", "c"].map((v, j) => ({ v, dtype: F, strides: [j === 2 ? 0 : 1] })),
    eqns: [{ prim, params: {}, ins, inDtypes: ins.map(() => F), outs: ["y"], outDtypes: [F] }],
    outs: [{ v: "y", dtype: F }],
  });
  for (const p of UNARY) {
    const { js, native } = both(one(p, [0]), [a, b, c]);
    assertBits(native[0], js[0], p);
  }
  for (const p of [...BINARY, ...MINMAX]) {
    for (const ins of [[0, 1], [1, 0], [0, 2], [2, 0]]) {
      const { js, native } = both(one(p, ins), [a, b, c]);
      // Exact bits, except where both operands are NaN (see assertBits); Math.max and min return
      // a NaN of V8's choosing (0xffc00000 interpreted, 0xffffffff optimized) for any NaN operand.
      const nan2 = (i: number) => Number.isNaN(a[i]) && (ins.includes(2) || Number.isNaN(b[i]));
      const twoNaN = (i: number) => nan2(i) || (MINMAX.includes(p) && (Number.isNaN(a[i]) || Number.isNaN(b[i])));
      assertBits(native[0], js[0], `${p} ${ins}`, true);
      const [g, w] = [bits(native[0] as Float32Array), bits(js[0] as Float32Array)];
      for (let i = 0; i < n; i++) {
        if (!twoNaN(i)) assert.equal(g[i], w[i], `${p} ${ins} element ${i}: ${a[i]}, ${b[i]}`);
      }
    }
  }
  for (const p of COMPARE) {
    const spec = one(p, [0, 1]);
    spec.eqns[0].outs = ["q"], spec.eqns[0].outDtypes = ["bool"];
    spec.eqns.push({
      prim: "select",
      params: {},
      ins: ["q", 0, 1],
      inDtypes: ["bool", F, F],
      outs: ["y"],
      outDtypes: [F],
    });
    const { js, native } = both(spec, [a, b, c]);
    assertBits(native[0], js[0], `select(${p})`);
  }
});

nativeTest("native fused loops: signalling NaNs come out quiet, as a JS read makes them", () => {
  const n = 5000; // 2 to 5 steps each: enough work to run natively
  const a = new Float32Array(n), b = new Float32Array(n).fill(2);
  new Uint32Array(a.buffer).fill(0x7f800001);
  new Uint32Array(a.buffer, 4 * 17, 1)[0] = 0xff812345;
  const want: Record<string, [number, number]> = {
    neg: [0xffc00001, 0x7fc12345],
    abs: [0x7fc00001, 0x7fc12345],
    stopGradient: [0x7fc00001, 0xffc12345],
    select: [0x7fc00001, 0xffc12345],
  };
  for (const [prim, [w0, w17]] of Object.entries(want)) {
    const sel = prim === "select";
    const spec: FusedSpec<string> = {
      shape: [n],
      reads: [{ v: "a", dtype: F, strides: [1] }, { v: "b", dtype: F, strides: [1] }],
      eqns: [
        ...(sel
          ? [{ prim: "ne", params: {}, ins: [0, 0], inDtypes: [F, F], outs: ["p"], outDtypes: ["bool" as DType] }]
          : []),
        {
          prim,
          params: {},
          ins: sel ? ["p", 0, 1] : [0],
          inDtypes: sel ? ["bool", F, F] : [F],
          outs: ["y"],
          outDtypes: [F],
        },
      ],
      outs: [{ v: "y", dtype: F }],
    };
    const calls = nativeStats.calls;
    const [y] = fusedKernel(spec)([a, b]) as Float32Array[];
    assert.equal(nativeStats.calls, calls + 1, `${prim} should run natively`);
    assert.deepEqual([bits(y)[0], bits(y)[17], bits(y)[n - 1]], [w0, w17, w0], prim);
  }
});

nativeTest("native fused loops: a jitted Adam step is bit-identical with the native path on and off", async () => {
  const r = rng(3);
  const params = {
    w: np.array(edgeFloats(512 * 512, r).map((x) => (Number.isFinite(x) ? x : 1))).reshape(512, 512),
    s: np.array(0.5),
  };
  const grads = {
    w: np.array(edgeFloats(512 * 512, r).map((x) => (Number.isFinite(x) ? x : -2))).reshape(512, 512),
    s: np.array(-0.25),
  };
  const opt = optim.adam(1e-3);
  const step = jit((p: tree.PyTree, g: tree.PyTree, s: tree.PyTree) => {
    const [u, s2] = opt.update(g, s as ReturnType<typeof opt.init>, p);
    return [optim.applyUpdates(p, u), s2];
  });
  const run = async (on: boolean) => {
    nativeElementwise.enabled = on;
    let [p, s] = [params as tree.PyTree, opt.init(params) as tree.PyTree];
    for (let k = 0; k < 3; k++) [p, s] = step(p, grads, s) as [tree.PyTree, tree.PyTree];
    return await (p as { w: ReturnType<typeof np.array> }).w.data() as Float32Array;
  };
  const calls = nativeStats.calls;
  try {
    const off = await run(false);
    assert.equal(nativeStats.calls, calls, "native path ran while switched off");
    const on = await run(true);
    assert.ok(nativeStats.calls > calls, "the Adam loop should run natively");
    assertBits(on, off, "Adam parameters after 3 steps");
  } finally {
    nativeElementwise.enabled = true;
  }
});

nativeTest(
  "native fused loops: a jitted dense layer's gradient (bias rows, relu masks) is the same on and off",
  async () => {
    const r = rng(5);
    const x = np.array(edgeFloats(64 * 96, r).map((v) => (Number.isFinite(v) ? v : 0.5))).reshape(64, 96);
    const w = np.array(Float32Array.from({ length: 96 * 128 }, () => r() - 0.5)).reshape(96, 128);
    const b = np.array(Float32Array.from({ length: 128 }, () => r() - 0.5));
    const loss = (w: Arr, b: Arr, x: Arr) => {
      const h = np.matmul(x, w).add(b);
      const a = np.where(np.lessEqual(h, 0), 0, h); // relu, as nn.relu writes it
      return a.mul(a).sum();
    };
    const g = jit(grad(loss, { argnums: [0, 1] }) as (w: Arr, b: Arr, x: Arr) => Arr[]);
    const run = async (on: boolean) => {
      nativeElementwise.enabled = on;
      return await Promise.all(g(w, b, x).map(async (y) => await y.data() as Float32Array));
    };
    const calls = nativeStats.calls;
    try {
      const off = await run(false);
      const on = await run(true);
      assert.ok(nativeStats.calls > calls, "the layer's loops should run natively");
      off.forEach((o, k) => assertBits(on[k], o, `gradient ${k}`));
    } finally {
      nativeElementwise.enabled = true;
    }
  },
);

nativeTest("native fused loops: transcendentals, strided rows, 5-d loops and int32 stay JS", () => {
  const base = (prim: string, dt: DType = F): FusedSpec<string> => ({
    shape: [64],
    reads: [{ v: "a", dtype: dt, strides: [1] }],
    eqns: [{ prim, params: {}, ins: [0], inDtypes: [dt], outs: ["y"], outDtypes: [prim === "isnan" ? "bool" : dt] }],
    outs: [{ v: "y", dtype: prim === "isnan" ? "bool" : dt }],
  });
  const flat = { dims: [64], strides: [[1]] };
  const before = nativeStats.ineligible;
  assert.equal(nativeFused(base("exp"), flat), null);
  assert.equal(nativeFused(base("isnan"), flat), null);
  assert.equal(nativeFused(base("neg", "int32"), flat), null);
  assert.equal(nativeFused(base("sqrt"), { dims: [64], strides: [[2]] }), null);
  assert.equal(nativeFused(base("sqrt"), { dims: [2, 2, 4, 4, 4], strides: [[128, 64, 16, 4, 1]] }), null);
  assert.equal(nativeFused(base("sqrt"), { dims: [4, 4, 4], strides: [[16, 1, 4]] }), null); // strided row
  assert.equal(nativeStats.ineligible, before + 6);
  assert.ok(nativeFused(base("sqrt"), flat));
});

/** Contiguous element strides of `shape`, 0 on the axes in `bcast`. */
function stridesOf(shape: number[], bcast: (l: number) => boolean): number[] {
  const st = shape.map(() => 0);
  for (let l = shape.length - 1, acc = 1; l >= 0; l--) if (!bcast(l)) st[l] = acc, acc *= shape[l];
  return st;
}

/**
 * Strides of `READS` in a loop of 3 or 4 axes: `row` is contiguous along the last axis and
 * broadcast along random outer axes; `col` (a per-channel value, like a [1, C, 1, 1] batch-norm
 * scale) is constant along the last axis and broadcast along random outer axes.
 */
function ndStrides(shape: number[], r: () => number): number[][] {
  const last = shape.length - 1, full = stridesOf(shape, () => false);
  const row = stridesOf(shape, (l) => l < last && r() < 0.6);
  const col = stridesOf(shape, (l) => l === last || (l !== 1 && r() < 0.5));
  return [full, full, row, col, shape.map(() => 0), full];
}

/** Float (or, for `bool`, mask) data for a read of strides `st` over `shape`: as many elements as it reaches. */
function readData(shape: number[], st: number[], r: () => number, bool: boolean): Float32Array | Uint8Array {
  const n = 1 + shape.reduce((a, d, l) => a + (d - 1) * st[l], 0);
  if (!bool) return edgeFloats(n, r);
  const mask = new Uint8Array(new ArrayBuffer(n + 5), 3, n);
  for (let i = 0; i < n; i++) mask[i] = r() < 0.5 ? 0 : r() < 0.8 ? 1 : 2 + Math.floor(r() * 254);
  return mask;
}

/** Compares outputs bit for bit (any NaN for any NaN, see `assertBits`). */
function assertOuts(got: Out[], want: Out[], what: string) {
  want.forEach((o, k) => {
    if (o instanceof Float32Array) assertBits(got[k], o, `${what} output ${k}`, true);
    else assert.deepEqual(got[k], o, `${what} output ${k}`);
  });
}

/** Random 3-d and 4-d loops with per-channel and row reads: native (direct and through fusedKernel) = JS. */
function checkND(shape: number[], trials: number, r: () => number) {
  for (let t = 0; t < trials; t++) {
    const st = ndStrides(shape, r);
    const spec = randomSpec(r, 2 + Math.floor(r() * 14), shape, 0, st);
    const ins = st.map((s, j) => readData(shape, s, r, j === 5));
    const what = `shape ${shape} strides ${JSON.stringify(st)} trial ${t} ${spec.eqns.map((e) => e.prim)}`;
    const { js, native } = both(spec, ins);
    assertOuts(native, js, what);
    // Through fusedKernel: the collapsed loop runs natively too.
    const [calls, minWork] = [nativeStats.calls, nativeElementwise.minWork];
    nativeElementwise.minWork = 0;
    try {
      const fused = fusedKernel(spec)(ins) as Out[];
      assert.equal(nativeStats.calls, calls + 1, `${what}: fusedKernel should run natively`);
      assertOuts(fused, js, `${what} (fusedKernel)`);
    } finally {
      nativeElementwise.minWork = minWork;
    }
  }
}

nativeTest("native fused loops: 3-d and 4-d loops with per-channel reads, rows of every tail length", () => {
  const r = rng(17);
  const shapes = [[3, 5, 7], [2, 3, 4, 17], [4, 3, 1], [2, 3, 2, 15], [3, 2, 16], [2, 4, 49], [5, 2, 3, 33], [
    2,
    2,
    2,
    1,
  ]];
  for (const shape of shapes) checkND(shape, 8, r);
});

nativeTest("native fused loops: a DCGAN-sized [64, 16, 28, 28] per-channel loop", () => {
  checkND([64, 16, 28 * 28], 1, rng(19));
  checkND([64, 16, 28, 28], 1, rng(23));
});

nativeTest(
  "native fused loops: a jitted batch norm + leaky ReLU and its gradient are the same on and off",
  async () => {
    const r = rng(29);
    // Ordinary values with exact zeros (the leaky ReLU's kink) and ties: no NaN, so every bit is an oracle.
    const x = np.array(Float32Array.from({ length: 800 }, () => (r() < 0.1 ? 0 : Math.round((r() - 0.5) * 64) / 8)))
      .reshape(8, 4, 5, 5);
    const bn = nn.batchNorm({ momentum: 0.8 });
    const { state } = bn.init(random.key(0), x.shape);
    const p = { scale: np.array([1, -2, 0.5, 3]), bias: np.array([0, -1, 3, 0.25]) };
    const w = np.array(Float32Array.from({ length: 8 * 4 * 5 * 5 }, () => r() - 0.5)).reshape(8, 4, 5, 5);
    const forward = (p: nn.NormParams, x: Arr) => {
      const [y, s] = bn.apply(p, x, { training: true, state });
      return [nn.leakyRelu(y, { negativeSlope: 0.2 }), s.mean, s.var] as Arr[];
    };
    const loss = (p: nn.NormParams, x: Arr) => forward(p, x)[0].mul(w).sum();
    const f = jit(forward), g = jit(grad(loss, { argnums: [0, 1] }) as (p: nn.NormParams, x: Arr) => tree.PyTree);
    const run = async (on: boolean) => {
      nativeElementwise.enabled = on;
      const outs = [...f(p, x), ...(tree.leaves(g(p, x)) as Arr[])];
      return await Promise.all(outs.map(async (y) => await y.data() as Float32Array));
    };
    const [deep, minWork] = [nativeStats.deepCalls, nativeElementwise.minWork];
    nativeElementwise.minWork = 64;
    try {
      const off = await run(false);
      assert.ok(off.every((o) => o.every(Number.isFinite)), "finite results");
      assert.equal(nativeStats.deepCalls, deep, "native path ran while switched off");
      const on = await run(true);
      assert.ok(nativeStats.deepCalls > deep, "the per-channel [N, C, HW] loops should run natively");
      assert.equal(on.length, 6);
      off.forEach((o, k) => assertBits(on[k], o, `batch norm output ${k}`));
    } finally {
      nativeElementwise.enabled = true;
      nativeElementwise.minWork = minWork;
    }
  },
);
