/**
 * Experimental x86-64 AVX-512 GEMM path: JIT-generated macro-kernels
 * (kernel.ts) in executable memory (exec.ts), JavaScript packing and cache
 * blocking (slice.ts), and `node:worker_threads` workers that run their
 * share of C on raw pointers while the main thread runs its own share and
 * then blocks in `Atomics.wait`.
 *
 * Available only on linux x86_64 with the FFI permission already granted and
 * `avx512f` in /proc/cpuinfo, and only after a self-check product matches a
 * plain loop; otherwise {@link loadX86Gemm} returns null (it never throws).
 *
 * @module
 */
import { type ResolvedGemm, resolveGemm, scaleC, sgemmJs, type SgemmOptions, sgemmRef } from "../reference.ts";
import { avx512Usable, loadCode, setInt64 } from "./exec.ts";
import { genMacroKernel, TILE } from "./kernel.ts";
import { genIndexedPacker, genPacker } from "./pack.ts";
import { materializeB, type ResolvedGather, resolveGatherB } from "../gather.ts";
import { addrOf, BLOCKING, codesAt, encodeJob, J, makeCtx, runSlice, type SliceCtx, type SliceJob } from "./slice.ts";
import { ACK, CLAIM, CMD, ERR, JOB_BASE, MAX_SLOTS, READY, SPIN_MS, WAIT_MS } from "./control.ts";
import { workerCtor } from "../threads.ts";

/** Largest row stride the packers' int32 gather offsets (64 rows, bytes) can address. */
const GATHER_MAX_STRIDE = Math.floor(0x7fffffff / (64 * 4));

/**
 * Use worker threads only above this many flops (2·m·n·k). Measured on 2 cores: a 192³ product
 * took 113 µs on average alone and 147 µs split (a hand-off, and an occasional late worker
 * stretching the tail); at 256³ the split wins (229 against 256 µs).
 */
const THREAD_MIN_FLOPS = 2 * 224 ** 3;

/** A loaded x86 AVX-512 GEMM engine. */
export interface X86Gemm {
  /** Description, e.g. "x86-avx512 jit 12x32, 2 threads". */
  readonly name: string;
  /** Threads a large product may use (main thread included). */
  readonly threads: number;
  /** Run C = alpha·op(A)·op(B) + beta·C on validated options. */
  sgemm(r: ResolvedGemm): void;
  /** Run C = alpha·op(A)·B + beta·C with B indexed through offset tables (validated options). */
  sgemmGatherB(g: ResolvedGather): void;
  /** Start workers and block until ready (at most `timeoutMs`); returns usable threads. */
  warmup(timeoutMs: number): number;
  /** Slices of C that worker threads have computed so far (tests check that threads ran). */
  readonly workerSlices: number;
  /** Slices offered to a worker that had not started when the main thread finished its own, and ran there. */
  readonly takenBack: number;
  /**
   * Whether the main thread takes back a share whose worker has not started yet (default true):
   * a worker woken late (its core busy, or asleep after a pause) then costs no waiting.
   */
  takeBackLate: boolean;
}

class Engine implements X86Gemm {
  readonly name: string;
  private ctl: Int32Array;
  private jobs: Float64Array[] = [];
  private started = false;
  private seq = 0;
  /** Offset tables of the indexed B (reused; alive while a product runs). */
  private rowTable = new Int32Array(0);
  private colTable = new Int32Array(0);
  workerSlices = 0;
  takenBack = 0;
  takeBackLate = true;

  constructor(readonly threads: number, private ctx: SliceCtx, private codes: bigint[]) {
    const nw = Math.min(MAX_SLOTS, threads - 1);
    const sab = new SharedArrayBuffer(JOB_BASE + Math.max(1, nw) * J.size * 8);
    this.ctl = new Int32Array(sab, 0, JOB_BASE / 4);
    for (let s = 0; s < nw; s++) this.jobs.push(new Float64Array(sab, JOB_BASE + s * J.size * 8, J.size));
    this.name = `x86-avx512 jit ${TILE.mr}x${16 * TILE.nv}, ${threads} threads`;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    const Worker = workerCtor();
    for (let s = 0; s < this.jobs.length; s++) {
      try {
        if (!Worker) throw new Error("no node:worker_threads");
        const w = new Worker(new URL("./worker.ts", import.meta.url));
        w.unref();
        w.on("error", () => Atomics.store(this.ctl, READY + s, 2));
        w.postMessage({ sab: this.ctl.buffer, slot: s, codes: this.codes, tile: TILE, blocking: BLOCKING });
      } catch {
        Atomics.store(this.ctl, READY + s, 2);
      }
    }
  }

  private readySlots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.jobs.length; s++) if (Atomics.load(this.ctl, READY + s) === 1) out.push(s);
    return out;
  }

  warmup(timeoutMs: number): number {
    this.start();
    const t0 = performance.now();
    for (let s = 0; s < this.jobs.length; s++) {
      while (Atomics.load(this.ctl, READY + s) === 0) {
        const left = timeoutMs - (performance.now() - t0);
        if (left <= 0) break;
        Atomics.wait(this.ctl, READY + s, 0, left);
      }
    }
    return 1 + this.readySlots().length;
  }

  sgemm(r: ResolvedGemm): void {
    const { m, n, k } = r;
    if (m === 0 || n === 0) return;
    if (k === 0 || r.alpha === 0) return scaleC(r);
    if ((!r.transA && r.lda > GATHER_MAX_STRIDE) || (r.transB && r.ldb > GATHER_MAX_STRIDE)) return sgemmJs(r);
    this.run(sliceJob(r, addrOf(r.b), r.bOffset, 0, 0), m, n, k);
  }

  sgemmGatherB(g: ResolvedGather): void {
    const { r, rows, cols } = g;
    const { m, n, k } = r;
    if (m === 0 || n === 0) return;
    if (k === 0 || r.alpha === 0) return scaleC(r);
    if (!r.transA && r.lda > GATHER_MAX_STRIDE) return sgemmJs({ ...r, b: materializeB(g) });
    // Row offsets as int64 bytes (two int32 halves); column offsets padded to whole panels.
    if (this.rowTable.length < 2 * k) this.rowTable = new Int32Array(2 * k);
    if (this.colTable.length < n + 64) this.colTable = new Int32Array(n + 64);
    const rt = this.rowTable, ct = this.colTable;
    for (let p = 0; p < k; p++) setInt64(rt, p, rows[p] * 4);
    ct.set(cols.subarray(0, n));
    ct.fill(0, n, n + 64);
    this.run(sliceJob(r, addrOf(r.b), 0, addrOf(rt), addrOf(ct)), m, n, k);
  }

  private run(job: SliceJob, m: number, n: number, k: number): void {
    const big = 2 * m * n * k >= THREAD_MIN_FLOPS && this.jobs.length > 0;
    if (big) this.start();
    const slots = big ? this.readySlots() : [];
    if (slots.length === 0) return runSlice(this.ctx, job);
    const parts = splitJob(job, m, n, 1 + slots.length);
    const sent: { s: number; cmd: number; part: SliceJob }[] = [];
    for (let t = 1; t < parts.length; t++) {
      const s = slots[t - 1];
      encodeJob(this.jobs[s], parts[t]);
      const cmd = this.seq = (this.seq % 0x3fffffff) + 1; // positive: −1 and 0 are claim states
      Atomics.store(this.ctl, CLAIM + s, cmd);
      Atomics.store(this.ctl, CMD + s, cmd);
      Atomics.notify(this.ctl, CMD + s);
      sent.push({ s, cmd, part: parts[t] });
    }
    runSlice(this.ctx, parts[0]);
    let failed = false, ran = 0;
    for (const { s, cmd, part } of sent) {
      if (this.takeBackLate && Atomics.compareExchange(this.ctl, CLAIM + s, cmd, 0) === cmd) {
        runSlice(this.ctx, part); // the worker had not started: no waiting for it
        this.takenBack++;
        continue;
      }
      const t0 = performance.now();
      let spins = 0;
      while (Atomics.load(this.ctl, ACK + s) !== cmd) {
        if ((++spins & 255) === 0 && performance.now() - t0 > SPIN_MS) {
          const cur = Atomics.load(this.ctl, ACK + s);
          if (cur !== cmd) Atomics.wait(this.ctl, ACK + s, cur, WAIT_MS);
        }
      }
      if (Atomics.load(this.ctl, ERR + s) !== 0) {
        // Its share of C may be half-updated (beta ≠ 0), so it can't simply be redone.
        Atomics.store(this.ctl, READY + s, 2);
        failed = true;
      }
      ran++;
    }
    if (failed) throw new Error("x86 sgemm: a worker thread failed; it is disabled, C is incomplete");
    this.workerSlices += ran;
  }
}

function sliceJob(r: ResolvedGemm, bAddr: number, bOffset: number, bRows: number, bCols: number): SliceJob {
  return {
    k: r.k,
    aAddr: addrOf(r.a),
    aOffset: r.aOffset,
    lda: r.lda,
    transA: r.transA,
    bAddr,
    bOffset,
    ldb: r.ldb,
    transB: r.transB,
    bRows,
    bCols,
    cAddr: addrOf(r.c),
    cOffset: r.cOffset,
    ldc: r.ldc,
    alpha: r.alpha,
    beta: r.beta,
    i0: 0,
    i1: r.m,
    j0: 0,
    j1: r.n,
  };
}

/**
 * Split C into `t` parts: along M (multiples of mr rows) when there are rows enough for an even
 * split, else along N (multiples of nr columns) unless N is narrow. Measured interleaved on 2
 * cores, row blocks were 10–14 % faster at 256³, 1–6 % at 512³ and the same from 1024³: each
 * thread then packs only its own rows of A and writes whole rows of C.
 */
function splitJob(job: SliceJob, m: number, n: number, t: number): SliceJob[] {
  const nr = 16 * TILE.nv, mr = TILE.mr;
  const out: SliceJob[] = [];
  const rowPanels = Math.ceil(m / mr);
  if (rowPanels < 8 * t && (Math.ceil(n / nr) >= 2 * t || rowPanels < t)) {
    const step = Math.ceil(Math.ceil(n / nr) / t) * nr;
    for (let j0 = 0; j0 < n; j0 += step) out.push({ ...job, j0, j1: Math.min(n, j0 + step) });
  } else {
    const step = Math.ceil(Math.ceil(m / mr) / t) * mr;
    for (let i0 = 0; i0 < m; i0 += step) out.push({ ...job, i0, i1: Math.min(m, i0 + step) });
  }
  return out;
}

/** Self-check products (offsets, strides, transposes, beta) against the reference. */
function selfCheck(eng: Engine): boolean {
  let seed = 12345;
  const rnd = (len: number) =>
    Float32Array.from({ length: len }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
  const cases: [number, number, number, boolean, boolean, number][] = [
    [37, 53, 29, false, false, 0],
    [37, 53, 29, true, true, 0.5],
    [7, 130, 9, false, true, 1],
  ];
  for (const [m, n, k, transA, transB, beta] of cases) {
    const lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5;
    const a = rnd(2 + lda * (transA ? k : m)), b = rnd(1 + ldb * (transB ? n : k));
    const c = rnd(4 + ldc * m), want = c.slice();
    const o = { m, n, k, a, aOffset: 2, lda, transA, b, bOffset: 1, ldb, transB, ldc, cOffset: 4, alpha: 1.25, beta };
    sgemmRef({ ...o, c: want });
    eng.sgemm(resolveGemm("x86 self-check", { ...o, c }));
    for (let i = 0; i < c.length; i++) {
      if (!(Math.abs(c[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])))) return false;
    }
  }
  // An indexed B (two panels and a tail, rows out of order).
  const [m, n, k] = [13, 45, 19];
  const b = rnd(500), a = rnd(m * k), c = rnd(m * n), want = c.slice();
  const rows = Int32Array.from({ length: k }, (_, p) => (p * 37) % 200);
  const cols = Int32Array.from({ length: n }, (_, j) => (j * 53) % 299);
  const g = resolveGatherB("x86 self-check", { m, n, k, a, b, rows, cols, c, alpha: 0.5, beta: 1 });
  sgemmRef({ m, n, k, a, b: materializeB(g), c: want, alpha: 0.5, beta: 1 });
  eng.sgemmGatherB(g);
  return c.every((v, i) => Math.abs(v - want[i]) <= 1e-4 * (1 + Math.abs(want[i])));
}

let cached: X86Gemm | null | undefined;

/**
 * Load the x86 AVX-512 engine (once per process), or null when unavailable
 * here or when its self-check fails. Never throws.
 *
 * @example
 * ```ts
 * const eng = loadX86Gemm(2);
 * if (eng) console.log(eng.name);
 * ```
 */
export function loadX86Gemm(threads: number): X86Gemm | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    if (!avx512Usable()) return null;
    const blobs: Uint8Array[] = [];
    for (let rem = 0; rem < TILE.mr; rem++) blobs.push(genMacroKernel(TILE, rem));
    const nr = 16 * TILE.nv;
    blobs.push(genPacker(TILE.mr, false), genPacker(TILE.mr, true), genPacker(nr, false), genPacker(nr, true));
    blobs.push(genIndexedPacker(nr));
    const codes: bigint[] = [];
    for (const blob of blobs) {
      const p = loadCode(blob);
      if (p === null) return null;
      codes.push(BigInt(Deno.UnsafePointer.value(p)));
    }
    const ctx = makeCtx(TILE, BLOCKING, codesAt(codes));
    const eng = new Engine(Math.max(1, threads | 0), ctx, codes);
    if (selfCheck(eng)) cached = eng;
  } catch {
    cached = null;
  }
  return cached;
}

/**
 * C = alpha·op(A)·op(B) + beta·C through the x86 AVX-512 path (row-major,
 * same options as `sgemm`). Throws if the path is unavailable here.
 *
 * @example
 * ```ts
 * const c = new Float32Array(1);
 * if (loadX86Gemm(2)) {
 *   sgemmX86({ m: 1, n: 1, k: 2, a: new Float32Array([1, 2]), b: new Float32Array([3, 4]), c });
 *   c[0]; // 11
 * }
 * ```
 */
export function sgemmX86(o: SgemmOptions): void {
  const r = resolveGemm("sgemmX86", o);
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  const eng = loadX86Gemm(hc);
  if (!eng) throw new Error("sgemmX86: the x86 AVX-512 path is not available here");
  eng.sgemm(r);
}
