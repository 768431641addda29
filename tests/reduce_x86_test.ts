/**
 * Native AVX-512 float32 sums (core/backend/cpu/reduce_x86.ts) against two oracles: a plain float64
 * reference loop (each result within 1 float32 ulp of the rounded reference sum) and the JavaScript
 * kernel run with the native path off (bit-identical on small-integer data, whose sums are exact;
 * within 1 ulp, and almost always identical, on random data; column sums identical always).
 * Shapes cover both native layouts (row runs and column sums), lengths around the 8- and 16-lane
 * boundaries, byteOffset views, data ending at a PROT_NONE guard page (an over-read crashes the
 * run), special values, and a jitted batch norm forward + gradient.
 * Skipped where AVX-512 code cannot run (no avx512f, not linux x86_64, no FFI permission).
 */
import assert from "node:assert/strict";
import { type Array as Arr, grad, jit, np, random, tree } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import { reduceKernels } from "../core/backend/cpu/kernels/reduce.ts";
import { nativeReduce, nativeReduceStats, nativeReduceUsable } from "../core/backend/cpu/reduce_x86.ts";
import { cpuTest } from "./_backend.ts";
import { mulberry32 as rng } from "./_ref.ts";

const usable = nativeReduceUsable();
if (!usable) {
  console.warn("reduce_x86_test: AVX-512 JIT not usable here (needs linux x86_64, avx512f, --allow-ffi); skipped");
}
const nativeTest = (name: string, fn: () => Promise<void> | void) => cpuTest(name, usable ? fn : () => {});
/** `fn` with every sum eligible for native code (`minWork` 0), the threshold restored after. */
const everySum = (fn: () => void) => () => {
  const minWork = nativeReduce.minWork;
  nativeReduce.minWork = 0;
  try {
    fn();
  } finally {
    nativeReduce.minWork = minWork;
  }
};

/** The cpu kernel's sum of `x` (shape `shape`) over `axes`, with the native path on or off. */
function kernelSum(x: Float32Array, shape: number[], axes: number[], native: boolean): Float32Array {
  const outShape = shape.filter((_, d) => !axes.includes(d));
  const [rows, cols] = [nativeReduceStats.rows, nativeReduceStats.cols];
  nativeReduce.enabled = native;
  try {
    const [out] = reduceKernels.reduceSum([x], [{ shape, dtype: "float32" }], { axes }, [{
      shape: outShape,
      dtype: "float32",
    }]);
    const ran = nativeReduceStats.rows + nativeReduceStats.cols - rows - cols;
    if (!native) assert.equal(ran, 0, "native path ran while switched off");
    return out as Float32Array;
  } finally {
    nativeReduce.enabled = true;
  }
}

/** Float64 reference: plain nested loops over the row-major index space. */
function refSum(x: Float32Array, shape: number[], axes: number[]): Float64Array {
  const outShape = shape.filter((_, d) => !axes.includes(d));
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const idx = shape.map(() => 0);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) if (!axes.includes(d)) o = o * shape[d] + idx[d];
    out[o] += x[i];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Distance in float32 ulps (via ordered bit patterns); NaN vs NaN is 0, NaN vs a number is Infinity. */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const ord = (v: number) => {
    const i = new Int32Array(Float32Array.of(v).buffer)[0];
    return i < 0 ? -(i & 0x7fffffff) : i;
  };
  return Math.abs(ord(a) - ord(b));
}

/** Checks native against the reference (≤ 1 ulp) and the JS kernel (`exact`: every bit; else ≤ 1 ulp). */
function check(x: Float32Array, shape: number[], axes: number[], exact: boolean, layout: "rows" | "cols"): number {
  const before = nativeReduceStats[layout];
  const on = kernelSum(x, shape, axes, true);
  assert.equal(nativeReduceStats[layout], before + 1, `${shape} over ${axes}: the ${layout} kernel should run`);
  const off = kernelSum(x, shape, axes, false), ref = refSum(x, shape, axes);
  assert.equal(on.length, ref.length);
  let differ = 0;
  for (let i = 0; i < on.length; i++) {
    const at = `${shape} over ${axes}, output ${i}: native ${on[i]}, JS ${off[i]}, reference ${ref[i]}`;
    assert.ok(ulps(on[i], Math.fround(ref[i])) <= 1, at);
    if (exact) assert.ok(Object.is(on[i], off[i]), at);
    else assert.ok(ulps(on[i], off[i]) <= 1, at);
    if (!Object.is(on[i], off[i])) differ++;
  }
  return differ;
}

const small = (r: () => number, n: number) => Float32Array.from({ length: n }, () => Math.floor(r() * 17) - 8);
const rand = (r: () => number, n: number) => Float32Array.from({ length: n }, () => (r() - 0.3) * 10 ** (4 * r() - 2));

/** [shape, axes, layout] cases covering both native layouts. */
const CASES: [number[], number[], "rows" | "cols"][] = [
  [[64, 16, 28, 28], [0, 2, 3], "rows"],
  [[256, 512], [0], "cols"],
  [[256, 512], [1], "rows"],
  [[3, 5, 7], [0, 2], "rows"],
  [[1000], [0], "rows"],
  [[4, 6, 5, 8], [0, 1], "cols"],
  [[2, 3, 4, 5], [1, 3], "rows"],
];

nativeTest(
  "native sums: both layouts match the reference and the JS kernel",
  everySum(() => {
    const r = rng(1);
    for (const [shape, axes, layout] of CASES) {
      const n = shape.reduce((a, b) => a * b, 1);
      assert.equal(check(small(r, n), shape, axes, true, layout), 0);
      check(rand(r, n), shape, axes, false, layout);
    }
  }),
);

nativeTest(
  "native sums: lengths around the lane boundaries, row and column",
  everySum(() => {
    const r = rng(2);
    for (const n of [2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 63, 64, 65, 100]) {
      for (const m of [1, 3, 20]) {
        if (m * n > 16) {
          check(small(r, m * n), [m, n], [1], true, "rows");
          check(rand(r, m * n), [m, n], [1], false, "rows");
        }
        if (n >= 16) {
          check(small(r, m * n + n), [m + 1, n], [0], true, "cols");
          // Column sums add in the JS kernel's order: identical bits even on random data.
          assert.equal(check(rand(r, 2 * m * n), [2 * m, n], [0], false, "cols"), 0);
        }
      }
    }
  }),
);

nativeTest("native sums: random data differs from the JS order in very few elements", () => {
  const r = rng(3);
  // 40000 rows of 97 (runs of 32, 8 and a masked tail): the float32 rounding hides the order almost always.
  const x = rand(r, 40000 * 97);
  const differ = check(x, [40000, 97], [1], false, "rows");
  assert.ok(differ < 40, `${differ} of 40000 differ from the JS kernel (expected: a handful at most)`);
});

nativeTest(
  "native sums: byteOffset views read only their own elements",
  everySum(() => {
    for (const n of [17, 33, 100]) {
      // NaN fences on both sides: a read outside the view would poison the sums.
      const buf = new Float32Array(8 * n + 37).fill(NaN);
      const view = buf.subarray(5, 5 + 8 * n);
      view.set(small(rng(n), 8 * n));
      check(view, [8, n], [1], true, "rows");
      check(view, [8, n], [0], true, "cols");
      check(view, [8 * n], [0], true, "rows");
    }
  }),
);

let libc:
  | Deno.DynamicLibrary<{
    mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "isize"]; result: "pointer" };
    mprotect: { parameters: ["pointer", "usize", "i32"]; result: "i32" };
  }>
  | undefined;

/**
 * A float32 view of `n` elements ending exactly at a PROT_NONE guard page: a read past its end
 * (an unmasked tail) kills the process instead of reading a neighbour's bytes.
 */
function guarded(n: number): Float32Array {
  libc ??= Deno.dlopen("libc.so.6", {
    mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "isize"], result: "pointer" },
    mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  });
  const page = 4096, len = Math.ceil((4 * n) / page) * page;
  const p = libc.symbols.mmap(null, BigInt(len + page), 3, 0x22, -1, 0n); // read+write, private anonymous
  assert.ok(p !== null, "mmap failed");
  const guard = Deno.UnsafePointer.offset(p, len);
  assert.equal(libc.symbols.mprotect(guard, BigInt(page), 0), 0, "mprotect failed");
  return new Float32Array(Deno.UnsafePointerView.getArrayBuffer(p, len), len - 4 * n, n);
}

nativeTest(
  "native sums: data ending at a guard page (masked tails read nothing past the end)",
  everySum(() => {
    for (const [m, n] of [[3, 17], [5, 33], [7, 21], [2, 100]]) {
      const x = guarded(m * n);
      x.set(small(rng(m * n), m * n));
      check(x, [m, n], [1], true, "rows");
      check(x, [m, n], [0], true, "cols");
      check(x, [m * n], [0], true, "rows");
    }
  }),
);

nativeTest(
  "native sums: NaN, ±Inf, −0 and float32 overflow as in the JS kernel",
  everySum(() => {
    const n = 37, rows = 8;
    const x = new Float32Array(rows * n).fill(1);
    x[0 * n + 36] = NaN; // row 0: NaN
    x[1 * n + 3] = Infinity; // row 1: +Inf
    x[2 * n + 5] = Infinity, x[2 * n + 30] = -Infinity; // row 2: Inf − Inf = NaN
    x.fill(-0, 3 * n, 4 * n); // row 3: all −0 (JS: +0, the accumulator starts at +0)
    x.fill(3e38, 4 * n, 5 * n); // row 4: overflows float32, not float64: +Inf
    x.fill(-3e38, 5 * n, 6 * n); // row 5: −Inf
    x.fill(-Infinity, 6 * n, 7 * n); // row 6: −Inf
    x[7 * n + 35] = 1.5e-45; // row 7: a denormal in the tail
    const js = kernelSum(x, [rows, n], [1], false);
    assert.deepEqual([...js], [NaN, Infinity, NaN, 0, Infinity, -Infinity, -Infinity, 36 + 1.5e-45].map(Math.fround));
    assert.ok(Object.is(js[3], 0), "JS gives +0 for a sum of −0s");
    check(x, [rows, n], [1], true, "rows");
    check(x, [rows, n], [0], true, "cols");
  }),
);

nativeTest("native sums: small sums and other layouts stay in JavaScript", () => {
  const [rows, cols] = [nativeReduceStats.rows, nativeReduceStats.cols];
  const r = rng(4);
  kernelSum(small(r, 300), [30, 10], [1], true); // under minWork
  kernelSum(small(r, 24000), [10, 20, 30, 4], [0, 2], true); // strided runs, kept axes apart: JS
  kernelSum(small(r, 20000), [2000, 10], [0], true); // 10 columns: too few for the column kernel
  assert.deepEqual([nativeReduceStats.rows, nativeReduceStats.cols], [rows, cols]);
});

nativeTest("native sums: a jitted batch norm forward and gradient, native on vs off", async () => {
  const r = rng(5);
  const x = np.array(Float32Array.from({ length: 16 * 8 * 12 * 12 }, () => r() * 4 - 1)).reshape(16, 8, 12, 12);
  const w = np.array(Float32Array.from({ length: 16 * 8 * 12 * 12 }, () => r() - 0.5)).reshape(16, 8, 12, 12);
  const bn = nn.batchNorm({ momentum: 0.8 });
  const { state } = bn.init(random.key(0), x.shape);
  const p = { scale: np.array([1, -2, 0.5, 3, 1, 1, 2, 0.1]), bias: np.array([0, -1, 3, 0.25, 0, 0, 1, 2]) };
  const forward = (p: nn.NormParams, x: Arr) => {
    const [y, s] = bn.apply(p, x, { training: true, state });
    return [y, s.mean, s.var] as Arr[];
  };
  const loss = (p: nn.NormParams, x: Arr) => forward(p, x)[0].mul(w).sum();
  const f = jit(forward), g = jit(grad(loss, { argnums: [0, 1] }) as (p: nn.NormParams, x: Arr) => tree.PyTree);
  const run = async (on: boolean) => {
    nativeReduce.enabled = on;
    try {
      const outs = [...f(p, x), ...(tree.leaves(g(p, x)) as Arr[])];
      return await Promise.all(outs.map(async (y) => await y.data() as Float32Array));
    } finally {
      nativeReduce.enabled = true;
    }
  };
  const before = nativeReduceStats.rows + nativeReduceStats.cols;
  const off = await run(false);
  assert.equal(nativeReduceStats.rows + nativeReduceStats.cols, before, "native path ran while switched off");
  const on = await run(true);
  assert.ok(nativeReduceStats.rows + nativeReduceStats.cols > before, "the batch statistics should sum natively");
  assert.equal(on.length, off.length);
  on.forEach((o, k) => {
    assert.equal(o.length, off[k].length);
    // Relative to the output's scale: gradients of a centred batch norm sum to about zero.
    const scale = off[k].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    o.forEach((v, i) =>
      assert.ok(Math.abs(v - off[k][i]) <= 1e-6 * scale + 1e-30, `output ${k}[${i}]: ${v} vs ${off[k][i]}`)
    );
  });
});
