// sgemmGatherB (C = alpha·op(A)·B + beta·C with B[p][j] = b[rows[p] + cols[j]]) on every GEMM
// path, against the float64 reference run on B built element by element; the x86 path's
// implicit packing also split over a worker thread.
import assert from "node:assert/strict";
import { availableGemmPaths, setGemmPath, sgemmGatherB, sgemmRef } from "../core/backend/cpu/gemm/mod.ts";
import { loadX86Gemm } from "../core/backend/cpu/gemm/x86/driver.ts";
import { workerCtor } from "../core/backend/cpu/gemm/threads.ts";
import { mulberry32 } from "./_ref.ts";

const rand = mulberry32(2024);
const randF = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
const randI = (n: number, lo: number, hi: number) =>
  Int32Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo)));

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  alpha?: number;
  beta?: number;
}

/** Runs one product and compares every element of C (guards around it included) with the reference. */
function check({ m, n, k, transA = false, alpha = 1, beta = 0 }: Case, label: string): void {
  const bLen = 4 * (n + k) + 50;
  // Row offsets may be negative as long as every row + column offset lands in b.
  const rows = randI(k, -20, 2 * k + 20), cols = randI(n, 20, 2 * n + 20);
  const b = randF(bLen), lda = (transA ? m : k) + 2, ldc = n + 3;
  const a = randF(3 + lda * (transA ? k : m)), c = randF(5 + ldc * m + 4), want = c.slice();
  const dense = new Float32Array(k * n);
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) dense[p * n + j] = b[rows[p] + cols[j]];
  const common = { m, n, k, a, aOffset: 3, lda, transA, cOffset: 5, ldc, alpha, beta };
  sgemmRef({ ...common, b: dense, c: want });
  sgemmGatherB({ ...common, b, rows, cols, c });
  const tol = 1e-5 * Math.max(1, k);
  for (let i = 0; i < c.length; i++) {
    assert.ok(
      Math.abs(c[i] - want[i]) <= tol * (1 + Math.abs(want[i])),
      `${label}: c[${i}] = ${c[i]}, want ${want[i]}`,
    );
  }
}

const cases: Case[] = [
  { m: 1, n: 1, k: 1 },
  { m: 5, n: 33, k: 7, alpha: -1.5 },
  { m: 13, n: 31, k: 4, beta: 1 },
  { m: 12, n: 64, k: 9, transA: true, beta: 0.5 },
  { m: 37, n: 100, k: 300, alpha: 0.25, beta: -2 },
  { m: 300, n: 70, k: 513, transA: true },
  { m: 25, n: 2100, k: 260 }, // crosses the kc and nc blocks
];

for (const path of availableGemmPaths()) {
  Deno.test(`sgemmGatherB[${path}] matches the reference on the built B`, () => {
    setGemmPath(path);
    try {
      for (const cs of cases) check(cs, `${path} ${JSON.stringify(cs)}`);
    } finally {
      setGemmPath("auto");
    }
  });
}

Deno.test("sgemmGatherB rejects tables that read outside b, short tables and bad shapes", () => {
  const a = new Float32Array(4), c = new Float32Array(4), b = new Float32Array(10);
  const o = { m: 2, n: 2, k: 2, a, b, c, rows: Int32Array.of(0, 5), cols: Int32Array.of(0, 5) };
  assert.throws(() => sgemmGatherB(o), /sgemmGatherB\(m=2 n=2 k=2\): B reads b\[0 … 10\].*has 10 elements/);
  assert.throws(() => sgemmGatherB({ ...o, cols: Int32Array.of(-1, 3) }), /B reads b\[-1/);
  assert.throws(() => sgemmGatherB({ ...o, rows: Int32Array.of(0) }), /rows needs 2 entries \(has 1\)/);
  assert.throws(() => sgemmGatherB({ ...o, m: 1.5 }), /m must be an integer/);
  assert.throws(() => sgemmGatherB({ ...o, c: new Float32Array(3), cols: Int32Array.of(0, 3) }), /c needs 4 elements/);
  sgemmGatherB({ ...o, cols: Int32Array.of(0, 4) }); // b[0 … 9]: in range
});

const eng = loadX86Gemm(2);
Deno.test({
  name: "x86 sgemmGatherB: a large product split with the worker thread",
  ignore: eng === null || workerCtor() === null,
  fn() {
    // Only a hang fails the warm-up: no deadline-based verdict.
    assert.strictEqual(eng!.warmup(120_000), 2, "main thread + 1 worker ready");
    const before = eng!.workerSlices;
    setGemmPath("x86");
    eng!.takeBackLate = false; // the worker's share is its own, however late it starts
    try {
      check({ m: 64, n: 1000, k: 200, beta: 1 }, "x86 threaded");
    } finally {
      setGemmPath("auto");
      eng!.takeBackLate = true;
    }
    assert.strictEqual(eng!.workerSlices - before, 1, "the worker packed and computed its share of C");
  },
});
