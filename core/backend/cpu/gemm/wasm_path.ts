/**
 * WebAssembly SIMD GEMM engine: owns one shared wasm memory, the generated
 * kernel module, and an optional pool of worker threads that run slices of
 * the same call synchronously (the main thread computes its own slice and
 * then blocks on `Atomics.wait` until the workers acknowledge).
 *
 * Workers are `node:worker_threads` workers that are `unref`'d, so they
 * never keep the process alive. They start lazily on the first large call
 * and are used only once they report ready, so no call ever blocks on
 * worker start-up.
 *
 * @module
 */
import { buildGemmModule, type KernelConfig, relaxedSimdSupported, simdSupported } from "./kernels.ts";
import { driveSlice, type GemmExports, P } from "./drive.ts";
import { type NodeWorker, workerCtor } from "./threads.ts";

/** A (possibly batched) GEMM problem with compactly describable operands. */
export interface WasmJob {
  m: number;
  n: number;
  k: number;
  batch: number;
  transA: boolean;
  transB: boolean;
  a: Float32Array;
  aOffset: number;
  lda: number;
  strideA: number;
  b: Float32Array;
  bOffset: number;
  ldb: number;
  strideB: number;
  c: Float32Array;
  cOffset: number;
  ldc: number;
  strideC: number;
  alpha: number;
  beta: number;
}

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB
const MAX_SLOTS = 16;
// Control block (Int32 indices): cmd[slot], ack[slot], err[slot], ready[slot].
const CMD = 0, ACK = 16, ERR = 32, READY = 48;
const PARAM_BASE = 1024; // bytes; one Float64 block of P.size per slot
const WORK_BASE = PARAM_BASE + MAX_SLOTS * P.size * 8;
/** Use threads only above this many flops (2·m·n·k·batch). */
const THREAD_MIN_FLOPS = 2 * 128 * 128 * 128;
/** Milliseconds a thread busy-waits for the next command/ack before sleeping. */
const SPIN_MS = 0.2;

const KERNEL: Omit<KernelConfig, "relaxed"> = { mr: 6, nr: 8, unroll: 4 };
const MC = 96, KC = 256, NC = 2048;

function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

function workerSource(): string {
  return `"use strict";
const { parentPort } = require("node:worker_threads");
const driveSlice = (${driveSlice.toString()});
parentPort.once("message", (msg) => {
  const ex = new WebAssembly.Instance(msg.module, { env: { mem: msg.mem } }).exports;
  const slot = msg.slot;
  const ctl = new Int32Array(msg.mem.buffer, 0, 64);
  const q = new Float64Array(msg.mem.buffer, ${PARAM_BASE} + slot * ${P.size * 8}, ${P.size});
  let seen = Atomics.load(ctl, ${CMD} + slot);
  Atomics.store(ctl, ${READY} + slot, 1);
  for (;;) {
    const t0 = performance.now();
    let spins = 0;
    while (Atomics.load(ctl, ${CMD} + slot) === seen) {
      if ((++spins & 255) === 0 && performance.now() - t0 > ${SPIN_MS}) break;
    }
    Atomics.wait(ctl, ${CMD} + slot, seen);
    const cmd = Atomics.load(ctl, ${CMD} + slot);
    if (cmd === seen) continue;
    seen = cmd;
    try { driveSlice(ex, q); } catch (_e) { Atomics.store(ctl, ${ERR} + slot, 1); }
    Atomics.store(ctl, ${ACK} + slot, cmd);
    Atomics.notify(ctl, ${ACK} + slot);
  }
});
`;
}

/** Copy a rows×cols matrix (row stride `ld`) into `dst` compactly at `at`. */
function copyIn(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  off: number,
  rows: number,
  cols: number,
  ld: number,
): void {
  if (ld === cols) {
    dst.set(src.subarray(off, off + rows * cols), at);
    return;
  }
  for (let i = 0; i < rows; i++) dst.set(src.subarray(off + i * ld, off + i * ld + cols), at + i * cols);
}

/**
 * The wasm GEMM engine. Create with {@link WasmGemm.create}; returns null
 * when WebAssembly SIMD is unavailable.
 *
 * @example
 * ```ts
 * const eng = WasmGemm.create(2);
 * eng?.info(); // "wasm-simd (relaxed fma) 6x8, 2 threads"
 * ```
 */
export class WasmGemm {
  private readonly mem: WebAssembly.Memory;
  private readonly module: WebAssembly.Module;
  private readonly ex: GemmExports;
  private readonly workBytes: number;
  private readonly dataBase: number;
  private workers: NodeWorker[] | null = null;
  private workersFailed = false;
  private job = 0;
  #workerSlices = 0;
  /** Cached views of the memory (refreshed after growth). */
  private f32: Float32Array;
  private readonly ctl: Int32Array;
  private readonly params: Float64Array;

  private constructor(
    /** Whether the kernel uses `f32x4.relaxed_madd`. */
    readonly relaxed: boolean,
    /** Thread count including the calling thread. */
    readonly threads: number,
  ) {
    const cfg: KernelConfig = { ...KERNEL, relaxed };
    this.workBytes = align(MC * KC * 4, 64) + align(KC * align(NC, cfg.nr) * 4, 64) + align(cfg.mr * cfg.nr * 4, 64);
    this.dataBase = align(WORK_BASE + threads * this.workBytes, PAGE);
    const pages = this.dataBase / PAGE + 16;
    this.mem = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    this.module = new WebAssembly.Module(buildGemmModule(cfg, 1, MAX_PAGES, true));
    this.ex = new WebAssembly.Instance(this.module, { env: { mem: this.mem } }).exports as unknown as GemmExports;
    const buf = this.mem.buffer;
    this.f32 = new Float32Array(buf);
    this.ctl = new Int32Array(buf, 0, 64);
    this.params = new Float64Array(buf, PARAM_BASE, MAX_SLOTS * P.size);
  }

  /**
   * Build the engine, or return null when wasm SIMD is not supported.
   * `relaxed` defaults to feature detection; passing false forces mul+add.
   */
  static create(threads: number, relaxed?: boolean): WasmGemm | null {
    if (typeof WebAssembly === "undefined" || typeof SharedArrayBuffer === "undefined" || !simdSupported()) return null;
    const useRelaxed = relaxedSimdSupported() && relaxed !== false;
    return new WasmGemm(useRelaxed, Math.max(1, Math.min(MAX_SLOTS, threads | 0)));
  }

  /**
   * Start the worker threads (if any) and block until they are ready or
   * `timeoutMs` elapses. Returns the number of ready threads, including the
   * calling one.
   */
  warmup(timeoutMs: number): number {
    this.startWorkers();
    if (!this.workers || this.workersFailed) return 1;
    const ctl = this.ctl;
    const deadline = performance.now() + timeoutMs;
    let ready = 1;
    for (let s = 1; s < this.threads; s++) {
      while (Atomics.load(ctl, READY + s) !== 1) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        Atomics.wait(ctl, READY + s, 0, Math.min(left, 10));
      }
      if (Atomics.load(ctl, READY + s) === 1) ready++;
    }
    return ready;
  }

  /** Slices of C that worker threads have computed so far (tests check that threads ran). */
  get workerSlices(): number {
    return this.#workerSlices;
  }

  /** Human-readable description of this path. */
  info(): string {
    const fma = this.relaxed ? "relaxed fma" : "mul+add";
    return `wasm-simd (${fma}) ${KERNEL.mr}x${KERNEL.nr}, ${this.threads} thread${this.threads > 1 ? "s" : ""}`;
  }

  /** Largest batch·(A+B+C) footprint in floats that fits the memory. */
  capacityFloats(): number {
    return (MAX_PAGES * PAGE - this.dataBase) / 4;
  }

  private ensure(bytes: number): void {
    const need = this.dataBase + bytes;
    const have = this.f32.byteLength;
    if (need > have) {
      this.mem.grow(Math.ceil((need - have) / PAGE));
      this.f32 = new Float32Array(this.mem.buffer);
    }
  }

  private startWorkers(): void {
    if (this.workers || this.workersFailed || this.threads < 2) return;
    try {
      const Worker = workerCtor();
      if (!Worker) {
        this.workersFailed = true;
        return;
      }
      const src = workerSource();
      const ws: NodeWorker[] = [];
      for (let s = 1; s < this.threads; s++) {
        const w = new Worker(src, { eval: true });
        w.unref();
        w.on("error", () => {
          this.workersFailed = true;
        });
        w.postMessage({ module: this.module, mem: this.mem, slot: s });
        ws.push(w);
      }
      this.workers = ws;
    } catch {
      this.workersFailed = true;
    }
  }

  private writeParams(slot: number, v: ArrayLike<number>): void {
    this.params.set(v, slot * P.size);
  }

  /** Run a (batched) job. The caller validated shapes; k, m, n, batch > 0. */
  run(j: WasmJob): void {
    const aRows = j.transA ? j.k : j.m, aCols = j.transA ? j.m : j.k;
    const bRows = j.transB ? j.n : j.k, bCols = j.transB ? j.k : j.n;
    const aN = aRows * aCols, bN = bRows * bCols, cN = j.m * j.n;
    const aCopies = j.strideA === 0 ? 1 : j.batch, bCopies = j.strideB === 0 ? 1 : j.batch;
    const floats = aN * aCopies + bN * bCopies + cN * j.batch;
    this.ensure(floats * 4 + 64);
    const f = this.f32;
    const aAt = this.dataBase / 4, bAt = aAt + aN * aCopies, cAt = bAt + bN * bCopies;
    for (let t = 0; t < aCopies; t++) copyIn(f, aAt + t * aN, j.a, j.aOffset + t * j.strideA, aRows, aCols, j.lda);
    for (let t = 0; t < bCopies; t++) copyIn(f, bAt + t * bN, j.b, j.bOffset + t * j.strideB, bRows, bCols, j.ldb);
    for (let t = 0; t < j.batch; t++) {
      const at = cAt + t * cN;
      if (j.beta === 0) continue; // the kernel overwrites C on the first k block
      copyIn(f, at, j.c, j.cOffset + t * j.strideC, j.m, j.n, j.ldc);
      if (j.beta !== 1) { for (let i = at; i < at + cN; i++) f[i] *= j.beta; }
    }

    const q = new Float64Array(P.size);
    q[0] = 1;
    q[P.m] = j.m, q[P.n] = j.n, q[P.k] = j.k, q[P.batch] = j.batch;
    q[P.aPtr] = aAt * 4, q[P.aRs] = (j.transA ? 1 : j.k) * 4, q[P.aCs] = (j.transA ? j.m : 1) * 4;
    q[P.aBs] = j.strideA === 0 ? 0 : aN * 4;
    q[P.bPtr] = bAt * 4, q[P.bRs] = (j.transB ? 1 : j.n) * 4, q[P.bCs] = (j.transB ? j.k : 1) * 4;
    q[P.bBs] = j.strideB === 0 ? 0 : bN * 4;
    q[P.cPtr] = cAt * 4, q[P.ldc] = j.n * 4, q[P.cBs] = cN * 4, q[P.alpha] = j.alpha;
    q[P.mr] = KERNEL.mr, q[P.nr] = KERNEL.nr, q[P.unroll] = KERNEL.unroll;
    q[P.mcMax] = MC, q[P.kcMax] = KC, q[P.ncMax] = NC, q[P.overwrite] = j.beta === 0 ? 1 : 0;
    this.compute(q, 2 * j.m * j.n * j.k * j.batch);

    for (let t = 0; t < j.batch; t++) {
      const at = cAt + t * cN, off = j.cOffset + t * j.strideC;
      if (j.ldc === j.n) j.c.set(f.subarray(at, at + cN), off);
      else for (let i = 0; i < j.m; i++) j.c.set(f.subarray(at + i * j.n, at + (i + 1) * j.n), off + i * j.ldc);
    }
  }

  /** Split the job over ready threads, run, and wait for completion. */
  private compute(q: Float64Array, flops: number): void {
    const slots: number[] = [0];
    if (this.threads > 1 && flops >= THREAD_MIN_FLOPS) {
      this.startWorkers();
      if (this.workers && !this.workersFailed) {
        const ctl = this.ctl;
        for (let s = 1; s < this.threads; s++) if (Atomics.load(ctl, READY + s) === 1) slots.push(s);
      }
    }
    const parts = this.split(q, slots.length);
    const work = (s: number) => {
      const base = WORK_BASE + s * this.workBytes;
      const p = parts[slots.indexOf(s)];
      p[P.packA] = base;
      p[P.packB] = base + align(MC * KC * 4, 64);
      p[P.tile] = p[P.packB] + align(KC * align(NC, KERNEL.nr) * 4, 64);
      return p;
    };
    if (slots.length === 1) {
      driveSlice(this.ex, work(0));
      return;
    }
    const ctl = this.ctl;
    const id = ++this.job;
    for (const s of slots.slice(1)) {
      this.writeParams(s, work(s));
      Atomics.store(ctl, ERR + s, 0);
      Atomics.store(ctl, CMD + s, id);
      Atomics.notify(ctl, CMD + s);
    }
    driveSlice(this.ex, work(0));
    let failed = false;
    for (const s of slots.slice(1)) {
      const t0 = performance.now();
      let spins = 0;
      for (;;) {
        const ack = Atomics.load(ctl, ACK + s);
        if (ack === id) break;
        if ((++spins & 255) === 0 && performance.now() - t0 > SPIN_MS) Atomics.wait(ctl, ACK + s, ack, 50);
      }
      if (Atomics.load(ctl, ERR + s) !== 0) failed = true;
    }
    if (failed) {
      this.workersFailed = true;
      throw new Error(`sgemm: a worker thread failed while computing its slice (m=${q[P.m]} n=${q[P.n]} k=${q[P.k]})`);
    }
    this.#workerSlices += slots.length - 1;
  }

  /** Partition q into `parts` slices over batch, n or m (aligned to the tile). */
  private split(q: Float64Array, parts: number): Float64Array[] {
    if (parts === 1) return [q.slice()];
    const out: Float64Array[] = [];
    const batch = q[P.batch], m = q[P.m], n = q[P.n];
    const range = (len: number, unit: number, i: number): [number, number] => {
      const units = Math.ceil(len / unit);
      const lo = Math.min(len, Math.round((units * i) / parts) * unit);
      const hi = Math.min(len, Math.round((units * (i + 1)) / parts) * unit);
      return [lo, hi];
    };
    for (let i = 0; i < parts; i++) {
      const p = q.slice();
      if (batch >= 2 * parts || (batch >= parts && batch % parts === 0)) {
        const [lo, hi] = range(batch, 1, i);
        p[P.batch] = hi - lo;
        p[P.aPtr] += lo * q[P.aBs], p[P.bPtr] += lo * q[P.bBs], p[P.cPtr] += lo * q[P.cBs];
      } else if (n >= m) {
        const [lo, hi] = range(n, KERNEL.nr, i);
        p[P.n] = hi - lo;
        p[P.bPtr] += lo * q[P.bCs], p[P.cPtr] += lo * 4;
      } else {
        const [lo, hi] = range(m, KERNEL.mr, i);
        p[P.m] = hi - lo;
        p[P.aPtr] += lo * q[P.aRs], p[P.cPtr] += lo * q[P.ldc];
      }
      out.push(p);
    }
    return out;
  }
}
