/**
 * WebGPU: reductions, scans and contractions longer than one shader invocation may loop
 * (Mesa's llvmpipe stops an invocation's loops after 65,535 iterations; real drivers have
 * watchdogs). Each case runs eagerly and under jit and is checked against a plain host loop:
 * 70,000-long sum/max/min/prod, argmax/argmin, cumsum, matmul with K = 70,000, a conv weight
 * gradient over batch 96 × 28 × 28, long pooling windows and their gradients, scatter-add of
 * 70,000 indices, more than 65,535 output rows, and a dispatch larger than 65,535 workgroups.
 * Skipped without a WebGPU adapter.
 */
import assert from "node:assert/strict";
import { type Array, grad, jit, jvp, lax, np, useBackend } from "../mod.ts";
import { defaultBackend } from "../core/backend/backend.ts";
import { PRELUDE } from "../core/backend/webgpu/kernels/elementwise.ts";
import { HELPER_TRIPS, helperTrips, splitLoop } from "../core/backend/webgpu/loops.ts";
import { gpuTest, webgpu } from "./webgpu_util.ts";

const N = 70000;
type Fn = (...xs: Array[]) => Array;

/** Host data as a float32 array of `n` values `f(i)`. */
const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));

/**
 * Runs `f` on the WebGPU backend eagerly and jitted, on `inputs` (host data and shapes), and
 * checks its values against `want` (integers and integer-valued floats exactly, else within `rtol`).
 */
async function check(what: string, f: Fn, inputs: [Float32Array, number[]][], want: ArrayLike<number>, rtol = 0) {
  await webgpu();
  const prev = defaultBackend().name;
  await useBackend("webgpu");
  try {
    for (const [mode, g] of [["eager", f], ["jit", jit(f)]] as const) {
      const got = await g(...inputs.map(([d, shape]) => np.array(d, { shape }))).data();
      assert.equal(got.length, want.length, `${what} (${mode}): length`);
      for (let i = 0; i < want.length; i++) {
        const [g, w] = [got[i], want[i]];
        const ok = Number.isNaN(w) ? Number.isNaN(g) : g === w || Math.abs(g - w) <= rtol * Math.abs(w);
        if (!ok) assert.fail(`${what} (${mode}) [${i}]: got ${g}, want ${w}`);
      }
    }
  } finally {
    await useBackend(prev);
  }
}

/** The index of the first NaN, else of the first greatest (`sign` 1) or least (-1) value. */
function hostArg(x: ArrayLike<number>, sign: 1 | -1): number {
  let best = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) return i;
    if (sign * x[i] > sign * x[best]) best = i;
  }
  return best;
}

Deno.test("webgpu long: every loop in a PRELUDE helper has an iteration bound in HELPER_TRIPS", () => {
  const code = PRELUDE.replace(/\/\/.*$/gm, "");
  for (const fn of code.split(/\n(?=fn )/)) {
    const name = /^fn (\w+)/.exec(fn.trim())?.[1];
    if (name && /\bfor\s*\(|\bloop\s*\{|\bwhile\b/.test(fn)) {
      assert.ok(name in HELPER_TRIPS, `${name} loops: add its iteration bound to HELPER_TRIPS`);
    }
  }
  assert.equal(helperTrips("w_erf(x) + w_tanh(w_erf(y))"), 2 * HELPER_TRIPS.w_erf + HELPER_TRIPS.w_tanh);
  assert.deepEqual(splitLoop(N, 4096), { parts: 18, chunk: 3889 });
});

Deno.test({
  name: "webgpu long: sum, max, min and prod of 70,000 elements",
  ...gpuTest,
  fn: async () => {
    const x = fill(N, (i) => (i === N - 1 ? 9 : i === 65536 ? -4 : 1 + (i % 3)));
    let s = 0;
    for (const v of x) s += v;
    await check("sum", (a) => np.sum(a), [[x, [N]]], [s]);
    await check("max", (a) => np.max(a), [[x, [N]]], [9]);
    await check("min", (a) => np.min(a), [[x, [N]]], [-4]);
    const p = fill(N, (i) => (i === 10 ? 3 : i === N - 2 ? 2 : 1));
    await check("prod", (a) => np.prod(a), [[p, [N]]], [6]);
    // Under jit the reduction computes erf per element inside its loop, and erf loops 200 times
    // at 0: the chunks shrink so the invocation stays within its loop budget.
    const e = fill(N, (i) => (i % 2 ? 5 : 0));
    await check("sum of erf", (a) => np.sum(np.erf(a)), [[e, [N]]], [N / 2]);
    // More than 65,535 output rows, and a row per output as long as the whole input.
    const rows = fill(3 * N, (i) => (i % 7) - 3);
    const rowSums = fill(N, (r) => rows[3 * r] + rows[3 * r + 1] + rows[3 * r + 2]);
    await check("70,000 row sums", (a) => np.sum(a, { axis: 1 }), [[rows, [N, 3]]], rowSums);
    const colSums = [0, 1, 2].map((c) => rows.filter((_, i) => i % 3 === c).reduce((a, b) => a + b, 0));
    await check("3 column sums of 70,000", (a) => np.sum(a, { axis: 0 }), [[rows, [N, 3]]], colSums);
  },
});

Deno.test({
  name: "webgpu long: the reductions of hardware adapters (workgroup trees) also stay within the loop budget",
  ...gpuTest,
  fn: async () => {
    // Software adapters avoid workgroup barriers; switch that off to run the hardware kernels here.
    const gpu = (await webgpu()).gpu;
    const software = gpu.software;
    gpu.software = false;
    try {
      const x = fill(N, (i) => (i === N - 1 ? 9 : 1 + (i % 3)));
      await check("sum (one tree)", (a) => np.sum(a), [[x, [N]]], [x.reduce((a, b) => a + b, 0)]);
      await check("max (one tree)", (a) => np.max(a), [[x, [N]]], [9]);
      const e = fill(N, (i) => (i % 2 ? 5 : 0));
      await check("sum of erf (chunks, then a tree)", (a) => np.sum(np.erf(a)), [[e, [N]]], [N / 2]);
      const long = 600000; // more than a tree of 128 invocations may loop over
      const y = fill(long, (i) => (i === long - 1 ? 7 : i % 2));
      await check("sum of 600,000 (chunks, then a tree)", (a) => np.sum(a), [[y, [long]]], [long / 2 + 6]);
    } finally {
      gpu.software = software;
    }
  },
});

Deno.test({
  name: "webgpu long: argmax and argmin over 70,000 elements (max at 69,999 and at 65,536, NaN first)",
  ...gpuTest,
  fn: async () => {
    const base = (i: number) => ((i * 37) % 1000) / 10;
    const cases: [string, Float32Array][] = [
      ["max at 69,999", fill(N, (i) => (i === N - 1 ? 500 : base(i)))],
      ["max at 65,536", fill(N, (i) => (i === 65536 ? 500 : base(i)))],
      ["tie at 65,536 and 69,999", fill(N, (i) => (i === 65536 || i === N - 1 ? 500 : base(i)))],
      ["NaN at 67,000", fill(N, (i) => (i === 67000 ? NaN : i === N - 1 ? 500 : base(i)))],
      ["min at 66,000", fill(N, (i) => (i === 66000 ? -1 : base(i)))],
    ];
    for (const [what, x] of cases) {
      await check(`argmax, ${what}`, (a) => np.argmax(a), [[x, [N]]], [hostArg(x, 1)]);
      await check(`argmin, ${what}`, (a) => np.argmin(a), [[x, [N]]], [hostArg(x, -1)]);
    }
    assert.equal(hostArg(cases[0][1], 1), N - 1);
    // 70,000 rows of 2.
    const rows = fill(2 * N, (i) => (i * 7) % 5);
    const want = fill(N, (r) => (rows[2 * r + 1] > rows[2 * r] ? 1 : 0));
    await check("argmax of 70,000 rows", (a) => np.argmax(a, { axis: 1 }), [[rows, [N, 2]]], want);
  },
});

Deno.test({
  name: "webgpu long: cumsum along 70,000 elements, forwards and reversed",
  ...gpuTest,
  fn: async () => {
    await check("cumsum of ones", (a) => np.cumsum(a), [[fill(N, () => 1), [N]]], fill(N, (i) => i + 1));
    // Two interleaved lines (axis 0 of [70000, 2]) of small integers: exact in float32.
    const x = fill(2 * N, (i) => (i % 2 ? (Math.floor(i / 2) % 3) - 1 : 1));
    const fwd = new Float32Array(2 * N), rev = new Float32Array(2 * N);
    for (let c = 0; c < 2; c++) {
      for (let i = 0, s = 0; i < N; i++) fwd[2 * i + c] = s += x[2 * i + c];
      for (let i = N - 1, s = 0; i >= 0; i--) rev[2 * i + c] = s += x[2 * i + c];
    }
    await check("cumsum, axis 0", (a) => np.cumsum(a, { axis: 0 }), [[x, [N, 2]]], fwd);
    await check("cumsum, axis 0 reversed", (a) => np.cumsum(a, { axis: 0, reverse: true }), [[x, [N, 2]]], rev);
    // 70,000 short lines.
    const lines = fill(3 * N, (i) => i % 4);
    const want = lines.map((
      v,
      i,
    ) => (i % 3 === 0 ? v : i % 3 === 1 ? v + lines[i - 1] : v + lines[i - 1] + lines[i - 2]));
    await check("cumsum of 70,000 rows", (a) => np.cumsum(a, { axis: 1 }), [[lines, [N, 3]]], want);
  },
});

Deno.test({
  name: "webgpu long: matmul with K = 70,000 (ones · ones, and a bias added under jit)",
  ...gpuTest,
  fn: async () => {
    await check("ones · ones", (a, b) => np.matmul(a, b), [[fill(2 * N, () => 1), [2, N]], [
      fill(3 * N, () => 1),
      [N, 3],
    ]], fill(6, () => N));
    // Register-blocked (N = 9) with a bias epilogue: the chunk sums run the epilogue.
    const [M, C] = [3, 9];
    const a = fill(M * N, (i) => ((i % N) % 5) - 2), b = fill(N * C, (i) => 1 + ((Math.floor(i / C) + (i % C)) % 3));
    const bias = fill(C, (j) => j);
    const want = new Float32Array(M * C);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < C; n++) {
        let s = 0;
        for (let k = 0; k < N; k++) s += a[m * N + k] * b[k * C + n];
        want[m * C + n] = s + bias[n];
      }
    }
    const f = (x: Array, w: Array, c: Array) => np.matmul(x, w).add(c);
    await check("matmul + bias", f, [[a, [M, N]], [b, [N, C]], [bias, [C]]], want);
    // A short K, but an epilogue (two erfs, 200 iterations each at 0) too long to run for the
    // 256 outputs of a register block (16 rows × 16 columns) in one invocation: it runs in a pass
    // of its own. Rows 0-14 are 0 (the longest erf); row 15 is 1: erf(1) + erf(0.5).
    const g = (x: Array, w: Array) => {
      const h = np.matmul(x, w);
      return np.erf(h).add(np.erf(h.mul(0.5)));
    };
    const rows = fill(16 * 4, (i) => (i >= 60 ? 0.25 : 0));
    const erfs = 0.8427007929497149 + 0.5204998778130465;
    await check(
      "erf epilogues",
      g,
      [[rows, [16, 4]], [fill(4 * 128, () => 1), [4, 128]]],
      fill(16 * 128, (i) => (i >= 15 * 128 ? erfs : 0)),
      1e-5,
    );
  },
});

Deno.test({
  name: "webgpu long: conv weight gradient over batch 96 × 28 × 28 (75,264 terms per tap)",
  ...gpuTest,
  fn: async () => {
    const [B, H] = [96, 28];
    const conv = (x: Array, w: Array) => lax.convGeneralDilated(x, w, { padding: "SAME" });
    const ones = fill(B * H * H, () => 1);
    const dW = (x: Array, w: Array) => grad((v: Array) => np.sum(conv(x, v)))(w);
    await check("dW of 1×1 conv on ones", dW, [[ones, [B, 1, H, H]], [fill(1, () => 1), [1, 1, 1, 1]]], [B * H * H]);
    // 3×3 SAME on varied data: tap (ky, kx) sums the inputs it reads over the batch and positions.
    const x = fill(B * H * H, (i) => ((Math.floor(i / (H * H)) + Math.floor(i / H) % H + 2 * (i % H)) % 5) - 2);
    const want = new Float32Array(9);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < H; j++) {
          for (let t = 0; t < 9; t++) {
            const [p, q] = [i + Math.floor(t / 3) - 1, j + (t % 3) - 1];
            if (p >= 0 && p < H && q >= 0 && q < H) want[t] += x[(b * H + p) * H + q];
          }
        }
      }
    }
    await check("dW of 3×3 conv", dW, [[x, [B, 1, H, H]], [fill(9, () => 0.5), [1, 1, 3, 3]]], want);
  },
});

Deno.test({
  name: "webgpu long: pooling over a 70,000-long window, its jvp and gradient; scatter-add of 70,000 indices",
  ...gpuTest,
  fn: async () => {
    // Windows 0..3 of 70,000 (stride 1) over 70,003 values: window 3 alone sees the 9 at the end.
    const L = N + 3;
    const x = fill(L, (i) => (i === 69000 ? 5 : i === L - 1 ? 9 : (i % 11) / 11));
    const win = { strides: [1, 1] };
    const wantSum = [0, 1, 2, 3].map((q) => x.slice(q, q + N).reduce((a, b) => a + b, 0));
    await check("window sums", (a) => lax.reduceWindow(a, "sum", [1, N], win), [[x, [1, L]]], wantSum, 1e-5);
    await check("window maxima", (a) => lax.reduceWindow(a, "max", [1, N], win), [[x, [1, L]]], [5, 5, 5, 9]);
    const t = fill(L, (i) => i);
    const tangent = (a: Array, da: Array) => jvp((v: Array) => lax.reduceWindow(v, "max", [1, N], win), [a], [da])[1];
    await check("jvp of window maxima", tangent, [[x, [1, L]], [t, [1, L]]], [69000, 69000, 69000, L - 1]);
    const g = fill(L, (i) => (i === 69000 ? 3 : i === L - 1 ? 1 : 0));
    const back = (a: Array) => grad((v: Array) => np.sum(lax.reduceWindow(v, "max", [1, N], win)))(a);
    await check("gradient of window maxima", back, [[x, [1, L]]], g);
    // The gradient of a gather of 70,000 indices: a scatter-add of 70,000 updates onto 5 rows.
    const idx = Int32Array.from({ length: N }, (_, i) => i % 5);
    const take = (a: Array) => grad((v: Array) => np.sum(np.take(v, np.array(idx))))(a);
    await check("scatter-add of 70,000 indices", take, [[fill(5, () => 0), [5]]], fill(5, () => N / 5));
  },
});

Deno.test({
  name: "webgpu long: an elementwise op over more than 65,535 × 64 elements folds its grid into 2-D",
  ...gpuTest,
  fn: async () => {
    const n = 65535 * 64 + 100;
    const x = fill(n, (i) => i % 1000);
    await check("x · 2 + 1", (a) => a.mul(2).add(1), [[x, [n]]], x.map((v) => 2 * v + 1));
  },
});
