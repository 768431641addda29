import assert from "node:assert/strict";
import {
  availableGemmPaths,
  gemmInfo,
  type GemmPath,
  setGemmPath,
  sgemm,
  sgemmBatched,
  type SgemmOptions,
  sgemmRef,
  warmupGemm,
} from "../core/backend/cpu/gemm/mod.ts";
import { WasmGemm } from "../core/backend/cpu/gemm/wasm_path.ts";
import { resolveGemm } from "../core/backend/cpu/gemm/reference.ts";
import { workerCtor } from "../core/backend/cpu/gemm/threads.ts";

let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
}
function randArray(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand();
  return a;
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  pad?: number; // extra leading-dimension padding
  off?: number; // buffer offsets
  alpha?: number;
  beta?: number;
}

function makeOpts(cs: Case): SgemmOptions {
  const { m, n, k, transA = false, transB = false, pad = 0, off = 0 } = cs;
  const aRows = transA ? k : m, aCols = transA ? m : k;
  const bRows = transB ? n : k, bCols = transB ? k : n;
  const lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
  return {
    m,
    n,
    k,
    transA,
    transB,
    alpha: cs.alpha,
    beta: cs.beta,
    a: randArray(off + aRows * lda),
    aOffset: off,
    lda: pad || off ? lda : undefined,
    b: randArray(off + bRows * ldb),
    bOffset: off,
    ldb: pad || off ? ldb : undefined,
    c: randArray(off + m * ldc + 3),
    cOffset: off,
    ldc: pad || off ? ldc : undefined,
  };
}

function check(cs: Case, run: (o: SgemmOptions) => void, label: string): void {
  const o = makeOpts(cs);
  const expect = { ...o, c: o.c.slice() };
  sgemmRef(expect);
  run(o);
  const tol = 1e-5 * Math.sqrt(Math.max(1, cs.k)) * 4;
  let worst = 0;
  for (let i = 0; i < o.c.length; i++) {
    const e = expect.c[i], g = o.c[i];
    const err = Math.abs(e - g) / (1 + Math.abs(e));
    if (!(err <= tol)) assert.fail(`${label} ${JSON.stringify(cs)}: c[${i}] = ${g}, expected ${e}`);
    worst = Math.max(worst, err);
  }
}

const dims = [1, 3, 7, 17, 33, 65, 130];
const cases: Case[] = [];
for (const m of dims) for (const n of dims) cases.push({ m, n, k: dims[(m * 7 + n) % dims.length] });
cases.push({ m: 130, n: 130, k: 130 }, { m: 200, n: 7, k: 300 }, { m: 1, n: 300, k: 513 }, { m: 300, n: 1, k: 129 });
cases.push({ m: 64, n: 64, k: 64 }, { m: 96, n: 100, k: 120 }, { m: 260, n: 140, k: 270 });
const variants: Partial<Case>[] = [
  {},
  { transA: true },
  { transB: true },
  { transA: true, transB: true },
  { pad: 5, off: 3 },
  { transA: true, transB: true, pad: 2, off: 1 },
  { alpha: 0.5, beta: 1.5 },
  { alpha: -2, beta: 1, transB: true },
];

for (const path of availableGemmPaths()) {
  Deno.test(`sgemm[${path}] matches reference on random shapes`, () => {
    setGemmPath(path as GemmPath);
    try {
      let v = 0;
      for (const cs of cases) {
        check({ ...cs, ...variants[v++ % variants.length] }, sgemm, path);
      }
      for (const variant of variants) check({ m: 33, n: 17, k: 65, ...variant }, sgemm, path);
    } finally {
      setGemmPath("auto");
    }
  });

  Deno.test(`sgemm[${path}] edge cases: k=0, alpha=0, beta=0 ignores NaN in C`, () => {
    setGemmPath(path as GemmPath);
    try {
      check({ m: 5, n: 6, k: 0, beta: 2 }, sgemm, path);
      check({ m: 5, n: 6, k: 0 }, sgemm, path);
      check({ m: 5, n: 6, k: 4, alpha: 0, beta: 0.5 }, sgemm, path);
      const c = new Float32Array(4).fill(NaN);
      sgemm({ m: 2, n: 2, k: 2, a: new Float32Array([1, 2, 3, 4]), b: new Float32Array([5, 6, 7, 8]), c });
      assert.deepEqual(Array.from(c), [19, 22, 43, 50]);
      sgemm({ m: 0, n: 3, k: 2, a: new Float32Array(0), b: new Float32Array(6), c: new Float32Array(0) });
    } finally {
      setGemmPath("auto");
    }
  });

  Deno.test(`sgemmBatched[${path}] matches per-item reference (incl. broadcast B)`, () => {
    setGemmPath(path as GemmPath);
    try {
      for (
        const [batch, m, n, k, bcast] of [[3, 17, 33, 7, false], [4, 65, 40, 66, true], [
          2,
          130,
          70,
          90,
          false,
        ]] as const
      ) {
        const a = randArray(batch * m * k), b = randArray((bcast ? 1 : batch) * k * n), c = randArray(batch * m * n);
        const exp = c.slice();
        for (let t = 0; t < batch; t++) {
          sgemmRef({
            m,
            n,
            k,
            a,
            aOffset: t * m * k,
            b,
            bOffset: bcast ? 0 : t * k * n,
            c: exp,
            cOffset: t * m * n,
            beta: 0.5,
          });
        }
        sgemmBatched({ batch, m, n, k, a, b, c, beta: 0.5, strideB: bcast ? 0 : undefined });
        for (let i = 0; i < c.length; i++) {
          assert.ok(
            Math.abs(c[i] - exp[i]) <= 1e-4 * (1 + Math.abs(exp[i])),
            `batched ${path} c[${i}] ${c[i]} vs ${exp[i]}`,
          );
        }
      }
    } finally {
      setGemmPath("auto");
    }
  });
}

const wasmShapes: Case[] = [
  { m: 130, n: 65, k: 33 },
  { m: 7, n: 300, k: 17, transB: true },
  { m: 257, n: 9, k: 70, transA: true, pad: 3, off: 2 },
  // Large enough (>= 2·128³ flops) to be split across threads: over n, then over m.
  { m: 150, n: 260, k: 120, transB: true },
  { m: 301, n: 130, k: 111, transA: true, pad: 3, off: 2 },
];

function wasmJob(eng: WasmGemm): (o: SgemmOptions) => void {
  return (o) => {
    const r = resolveGemm("test", o);
    eng.run({ ...r, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
  };
}

// Capabilities, known before any test runs: tests that need a missing one are reported as
// ignored rather than passing without checking anything.
const plain = WasmGemm.create(1, false); // null without wasm SIMD and shared memory
const hasWorkers = workerCtor() !== null;
/** A bound on worker start-up that only a hang exceeds (CI machines are shared and slow). */
const HANG_MS = 120_000;

Deno.test({
  name: "wasm engine: the mul+add fallback kernel matches the reference",
  ignore: plain === null,
  fn() {
    assert.equal(plain!.relaxed, false);
    for (const cs of wasmShapes) check(cs, wasmJob(plain!), "wasm mul+add");
  },
});

Deno.test({
  name: "wasm engine: worker threads compute their slices of C",
  ignore: plain === null || !hasWorkers,
  fn() {
    const threaded = WasmGemm.create(3)!;
    assert.equal(threaded.warmup(HANG_MS), 3, "both worker threads started");
    for (const cs of wasmShapes) {
      const before = threaded.workerSlices;
      check({ ...cs, beta: 0.5 }, wasmJob(threaded), "wasm 3 threads");
      const big = 2 * cs.m * cs.n * cs.k >= 2 * 128 ** 3;
      // A large product is split three ways: two slices of C come from the workers.
      assert.equal(threaded.workerSlices - before, big ? 2 : 0, `worker slices of ${JSON.stringify(cs)}`);
    }
  },
});

const active = gemmInfo();
Deno.test({
  name: "warmupGemm starts the active path's worker threads",
  // js has no threads and OpenBLAS manages its own; wax's wasm and x86 paths start workers.
  ignore: !hasWorkers || active.threads < 2 || /^(js|openblas)/.test(active.path),
  fn() {
    const ready = warmupGemm(HANG_MS);
    assert.ok(ready >= 2 && ready <= active.threads, `${ready} of ${active.threads} threads ready (${active.path})`);
  },
});

Deno.test("sgemm validates shapes and buffer sizes", () => {
  assert.throws(
    () => sgemm({ m: 2, n: 2, k: 3, a: new Float32Array(5), b: new Float32Array(6), c: new Float32Array(4) }),
    /sgemm\(m=2 n=2 k=3\): a needs 6 elements/,
  );
  assert.throws(
    () => sgemm({ m: 2, n: 2, k: 2, a: new Float32Array(4), lda: 1, b: new Float32Array(4), c: new Float32Array(4) }),
    /lda must be an integer >= 2/,
  );
  assert.throws(
    () => sgemm({ m: -1, n: 2, k: 2, a: new Float32Array(4), b: new Float32Array(4), c: new Float32Array(4) }),
    /m must be/,
  );
  assert.throws(
    () =>
      sgemmBatched({
        batch: 2,
        m: 2,
        n: 2,
        k: 2,
        a: new Float32Array(8),
        b: new Float32Array(8),
        c: new Float32Array(4),
      }),
    /c needs 8 elements/,
  );
});
