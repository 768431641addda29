/**
 * The im2col gather of the phase-split convolution (`conv_phase.ts`) in WebAssembly, split
 * over two threads. In a convolution the gather writes taps × channels × outputs values, as
 * many as the GEMM has multiply-adds per output channel, and in JavaScript it took as long as
 * the GEMM; wasm loads and stores without bounds checks, and a worker thread takes half the rows.
 *
 * The padded input copy, the index tables and the gathered columns live in one shared wasm
 * memory; the GEMM reads the columns in place. The worker starts on first use and joins once
 * it reports ready, so no call waits for it to start; without workers or shared memory the
 * calling thread does all rows, and without WebAssembly the caller keeps its JavaScript loop.
 * @module
 */
import { emitModule, Fn, I32 } from "../gemm/wasm_gen.ts";
import { type NodeWorker, workerCtor } from "../gemm/threads.ts";

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB
/** Control words (Int32 indices): command, acknowledgement, ready, error; the job's parameters at PARAMS. */
const CMD = 0, ACK = 1, READY = 2, ERR = 3, PARAMS = 16;
const DATA = 1024; // first data byte
/** Spin this long (ms) before sleeping on a command or acknowledgement. */
const SPIN_MS = 0.2;
/** Rows × width below which the worker is not worth waking. */
const SPLIT_MIN = 1 << 16;

/** `gather(col, xp, idx, tap, wd, T, r0, r1, chanStride)`: col[r·wd + j] = xp[c·chanStride + tap[t] + idx[j]], r = c·T + t. */
function gatherModule(): Uint8Array<ArrayBuffer> {
  const f = new Fn("gather", [I32, I32, I32, I32, I32, I32, I32, I32, I32], []);
  const [col, xp, idx, tap, wd, T, r0, r1, cs] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const r = f.local(I32), src = f.local(I32), dst = f.local(I32), ip = f.local(I32);
  const end = f.local(I32);
  const i32Load = () => f.op(0x28, 2, 0), shl2 = () => f.i32(2).op(0x74);
  f.get(r0).set(r);
  f.block(() =>
    f.loop(() => {
      f.get(r).get(r1).op(0x4f).brIf(1); // r >= r1 (unsigned)
      // src = xp + 4·((r / T)·chanStride + tap[r % T]); dst = col + 4·r·wd
      f.get(xp).get(r).get(T).op(0x6e).get(cs).mul();
      f.get(tap).get(r).get(T).op(0x70);
      shl2();
      f.add();
      i32Load();
      f.add();
      shl2();
      f.add().set(src);
      f.get(col).get(r).get(wd).mul();
      shl2();
      f.add().set(dst);
      f.get(idx).set(ip);
      f.get(dst).get(wd);
      shl2();
      f.add().set(end);
      f.block(() =>
        f.loop(() => {
          f.get(dst).get(end).op(0x4f).brIf(1);
          f.get(dst);
          f.get(src).get(ip);
          i32Load();
          shl2();
          f.add().f32Load();
          f.f32Store();
          f.inc(dst, 4).inc(ip, 4).br(0);
        })
      );
      f.inc(r, 1).br(0);
    })
  );
  return emitModule({ module: "env", name: "mem", min: 1, max: MAX_PAGES, shared: true }, [f]);
}

function workerSource(): string {
  return `"use strict";
const { parentPort } = require("node:worker_threads");
parentPort.once("message", ({ module, mem }) => {
  const gather = new WebAssembly.Instance(module, { env: { mem } }).exports.gather;
  const ctl = new Int32Array(mem.buffer, 0, 64);
  let seen = Atomics.load(ctl, ${CMD});
  Atomics.store(ctl, ${READY}, 1);
  for (;;) {
    const t0 = performance.now();
    let spins = 0;
    while (Atomics.load(ctl, ${CMD}) === seen) {
      if ((++spins & 255) === 0 && performance.now() - t0 > ${SPIN_MS}) break;
    }
    Atomics.wait(ctl, ${CMD}, seen);
    const cmd = Atomics.load(ctl, ${CMD});
    if (cmd === seen) continue;
    seen = cmd;
    const p = ${PARAMS};
    try { gather(ctl[p], ctl[p + 1], ctl[p + 2], ctl[p + 3], ctl[p + 4], ctl[p + 5], ctl[p + 6], ctl[p + 7], ctl[p + 8]); }
    catch (_e) { Atomics.store(ctl, ${ERR}, 1); }
    Atomics.store(ctl, ${ACK}, cmd);
    Atomics.notify(ctl, ${ACK});
  }
});
`;
}

/** Offsets (in elements) of the regions one convolution call uses. */
export interface GatherRegions {
  xp: number;
  idx: number;
  tap: number;
  col: number;
}

/** The shared-memory gather engine (one per process; see the module doc). */
export class ConvGather {
  private readonly mem: WebAssembly.Memory;
  private readonly module: WebAssembly.Module;
  private readonly gatherFn: (...a: number[]) => void;
  private readonly ctl: Int32Array;
  private worker: NodeWorker | null = null;
  private workerFailed = false;
  private job = 0;
  /** Gathers whose second half the worker thread computed (tests check that it ran). */
  workerJobs = 0;
  /** Views of the whole memory (refreshed after growth). */
  f32: Float32Array;
  i32: Int32Array;

  private constructor() {
    this.mem = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    this.module = new WebAssembly.Module(gatherModule());
    const inst = new WebAssembly.Instance(this.module, { env: { mem: this.mem } });
    this.gatherFn = inst.exports.gather as (...a: number[]) => void;
    this.ctl = new Int32Array(this.mem.buffer, 0, 64);
    this.f32 = new Float32Array(this.mem.buffer);
    this.i32 = new Int32Array(this.mem.buffer);
  }

  private static instance: ConvGather | null | undefined;
  /** Off: convolutions use their JavaScript gather (tests compare both). */
  static enabled = true;
  /** The engine, or null where WebAssembly or shared memory is missing (or it is switched off). */
  static get(): ConvGather | null {
    if (!ConvGather.enabled) return null;
    if (ConvGather.instance === undefined) {
      try {
        ConvGather.instance = typeof SharedArrayBuffer === "undefined" ? null : new ConvGather();
      } catch {
        ConvGather.instance = null;
      }
    }
    return ConvGather.instance;
  }

  /** Lays out the regions (sizes in elements) and grows the memory to hold them. */
  reserve(xp: number, idx: number, tap: number, col: number): GatherRegions {
    const al = (n: number) => Math.ceil(n / 16) * 16;
    const r = { xp: DATA / 4, idx: 0, tap: 0, col: 0 };
    r.idx = r.xp + al(xp);
    r.tap = r.idx + al(idx);
    r.col = r.tap + al(tap);
    const need = (r.col + col) * 4;
    if (need > this.f32.byteLength) {
      this.mem.grow(Math.ceil((need - this.f32.byteLength) / PAGE));
      this.f32 = new Float32Array(this.mem.buffer);
      this.i32 = new Int32Array(this.mem.buffer);
    }
    return r;
  }

  /** Starts the worker now and waits up to `timeoutMs` for it; true when it is ready (tests). */
  warmup(timeoutMs: number): boolean {
    this.startWorker();
    const deadline = performance.now() + timeoutMs;
    while (this.worker && !this.workerFailed && Atomics.load(this.ctl, READY) !== 1) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.ctl, READY, 0, Math.min(left, 10));
    }
    return this.ready();
  }

  private ready(): boolean {
    return this.worker !== null && !this.workerFailed && Atomics.load(this.ctl, READY) === 1;
  }

  private startWorker(): void {
    if (this.worker || this.workerFailed || (navigator.hardwareConcurrency ?? 1) < 2) return;
    try {
      const Worker = workerCtor();
      if (!Worker) {
        this.workerFailed = true;
        return;
      }
      const w = new Worker(workerSource(), { eval: true });
      w.unref();
      w.on("error", () => {
        this.workerFailed = true;
      });
      w.postMessage({ module: this.module, mem: this.mem });
      this.worker = w;
    } catch {
      this.workerFailed = true;
    }
  }

  /** Gathers rows [0, rows) of `wd` columns each into `r.col` (see {@link gatherModule}). */
  gather(r: GatherRegions, wd: number, T: number, rows: number, chanStride: number): void {
    const args = [r.col * 4, r.xp * 4, r.idx * 4, r.tap * 4, wd, T];
    if (rows * wd < SPLIT_MIN || !this.ready()) {
      this.startWorker();
      this.gatherFn(...args, 0, rows, chanStride);
      return;
    }
    const mid = rows >> 1, ctl = this.ctl, id = ++this.job;
    ctl.set([...args, mid, rows, chanStride], PARAMS);
    Atomics.store(ctl, ERR, 0);
    Atomics.store(ctl, CMD, id);
    Atomics.notify(ctl, CMD);
    this.gatherFn(...args, 0, mid, chanStride);
    const t0 = performance.now();
    let spins = 0;
    for (;;) {
      const ack = Atomics.load(ctl, ACK);
      if (ack === id) break;
      if ((++spins & 255) === 0 && performance.now() - t0 > SPIN_MS) {
        if (performance.now() - t0 > 10_000) Atomics.store(ctl, ERR, 1); // a lost worker: stop waiting
        if (Atomics.load(ctl, ERR) !== 0) break;
        Atomics.wait(ctl, ACK, ack, 50);
      }
    }
    if (Atomics.load(ctl, ERR) !== 0) {
      this.workerFailed = true;
      this.gatherFn(...args, mid, rows, chanStride); // redo the worker's half here
    } else this.workerJobs++;
  }
}
