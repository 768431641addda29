/**
 * Fast float32 GEMM for the cpu backend.
 *
 * Paths, in default order of preference:
 * - `x86`: AVX-512 kernels generated at run time (see `gemm/x86/`), on
 *   Linux x86-64 CPUs with AVX-512 when FFI is granted; checked against the
 *   reference on a small product before first use;
 * - `openblas`: `cblas_sgemm` through `Deno.dlopen`, only when the FFI
 *   permission is already granted and the library loads;
 * - `wasm`: generated WebAssembly SIMD kernels (relaxed FMA when the runtime
 *   validates it), multithreaded with `node:worker_threads` workers sharing
 *   the wasm memory;
 * - `js`: plain JavaScript loops.
 *
 * Environment (read only when the env permission is granted):
 * - `WAX_GEMM=x86|openblas|wasm|js` forces a path (an unavailable forced path
 *   falls back to the next available one);
 * - `WAX_THREADS=N` sets the thread count (default
 *   `navigator.hardwareConcurrency`); `WAX_THREADS=1` disables workers.
 *
 * @module
 */
import { type ResolvedGemm, resolveGemm, sgemmJs, type SgemmOptions, sgemmRef } from "./reference.ts";
import { WasmGemm } from "./wasm_path.ts";
import { loadOpenBlas, type OpenBlas } from "./openblas.ts";
import { loadX86Gemm, type X86Gemm } from "./x86/driver.ts";
import { type GatherBOptions, materializeB, resolveGatherB } from "./gather.ts";

export { sgemmRef };
export type { GatherBOptions, SgemmOptions };

/** Implementation paths of {@link sgemm}. */
export type GemmPath = "x86" | "openblas" | "wasm" | "js";

/** Options of {@link sgemmBatched}: {@link SgemmOptions} plus batch strides. */
export interface SgemmBatchedOptions extends SgemmOptions {
  /** Number of independent products. */
  batch: number;
  /** Elements between consecutive A matrices (default rows·lda; 0 broadcasts A). */
  strideA?: number;
  /** Elements between consecutive B matrices (default rows·ldb; 0 broadcasts B). */
  strideB?: number;
  /** Elements between consecutive C matrices (default m·ldc; must not overlap). */
  strideC?: number;
}

interface State {
  threads: number;
  forced: GemmPath | null;
  wasm: WasmGemm | null | undefined;
  blas: OpenBlas | null | undefined;
  x86: X86Gemm | null | undefined;
}

let state: State | null = null;

function envVar(name: string): string | undefined {
  const D = (globalThis as {
    Deno?: {
      permissions: { querySync(d: { name: "env"; variable: string }): { state: string } };
      env: { get(k: string): string | undefined };
    };
  }).Deno;
  if (!D) return undefined;
  try {
    if (D.permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    return D.env.get(name);
  } catch {
    return undefined;
  }
}

function getState(): State {
  if (state) return state;
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  const envThreads = Number.parseInt(envVar("WAX_THREADS") ?? "", 10);
  const threads = Number.isFinite(envThreads) && envThreads >= 1 ? envThreads : Math.max(1, hc);
  const f = (envVar("WAX_GEMM") ?? "").trim().toLowerCase();
  const forced = f === "x86" || f === "wasm" || f === "openblas" || f === "js" ? f : null;
  state = { threads, forced, wasm: undefined, blas: undefined, x86: undefined };
  return state;
}

function wasmEngine(s: State): WasmGemm | null {
  if (s.wasm === undefined) s.wasm = WasmGemm.create(s.threads);
  return s.wasm;
}

function blasLib(s: State): OpenBlas | null {
  if (s.blas === undefined) s.blas = loadOpenBlas(s.threads);
  return s.blas;
}

function x86Engine(s: State): X86Gemm | null {
  if (s.x86 === undefined) s.x86 = loadX86Gemm(s.threads);
  return s.x86;
}

function activePath(s: State): GemmPath {
  const order: GemmPath[] = s.forced === "js"
    ? ["js"]
    : s.forced === "wasm"
    ? ["wasm", "js"]
    : s.forced === "openblas"
    ? ["openblas", "wasm", "js"]
    : ["x86", "openblas", "wasm", "js"];
  for (const p of order) {
    if (p === "x86" && x86Engine(s)) return p;
    if (p === "openblas" && blasLib(s)) return p;
    if (p === "wasm" && wasmEngine(s)) return p;
    if (p === "js") return p;
  }
  return "js";
}

/**
 * Force a path (`"auto"` restores the default choice). Used by tests and
 * benchmarks; throws if the requested path is unavailable here.
 *
 * @example
 * ```ts
 * setGemmPath("js");
 * setGemmPath("auto");
 * ```
 */
export function setGemmPath(path: GemmPath | "auto"): void {
  const s = getState();
  if (path !== "auto" && !availableGemmPaths().includes(path)) {
    throw new Error(`setGemmPath: path "${path}" is not available (available: ${availableGemmPaths().join(", ")})`);
  }
  s.forced = path === "auto" ? null : path;
}

/**
 * Paths usable in this process (wasm needs SIMD; openblas needs the FFI
 * permission and the library).
 *
 * @example
 * ```ts
 * availableGemmPaths(); // e.g. ["x86", "openblas", "wasm", "js"]
 * ```
 */
export function availableGemmPaths(): GemmPath[] {
  const s = getState();
  const out: GemmPath[] = [];
  if (x86Engine(s)) out.push("x86");
  if (blasLib(s)) out.push("openblas");
  if (wasmEngine(s)) out.push("wasm");
  out.push("js");
  return out;
}

/**
 * Which path {@link sgemm} uses and with how many threads.
 *
 * @example
 * ```ts
 * gemmInfo(); // { path: "wasm-simd (relaxed fma) 6x8, 2 threads", threads: 2 }
 * ```
 */
export function gemmInfo(): { path: string; threads: number } {
  const s = getState();
  const p = activePath(s);
  if (p === "x86") return { path: s.x86!.name, threads: s.x86!.threads };
  if (p === "openblas") return { path: `openblas (${s.blas!.name}), ${s.threads} threads`, threads: s.threads };
  if (p === "wasm") return { path: s.wasm!.info(), threads: s.wasm!.threads };
  return { path: "js, 1 thread", threads: 1 };
}

/**
 * Start the worker threads of the active path (x86 or wasm) now and block (at
 * most `timeoutMs`) until they are ready; otherwise they start lazily on the
 * first large product and join once ready. Returns the number of threads the
 * active path will use.
 *
 * @example
 * ```ts
 * warmupGemm(); // e.g. 2
 * ```
 */
export function warmupGemm(timeoutMs = 2000): number {
  const s = getState();
  const p = activePath(s);
  if (p === "x86") return s.x86!.warmup(timeoutMs);
  if (p === "openblas") return s.threads;
  const eng = wasmEngine(s);
  return eng ? eng.warmup(timeoutMs) : 1;
}

function runWasm(eng: WasmGemm, r: ResolvedGemm, batch: number, sA: number, sB: number, sC: number): boolean {
  const aN = r.m * r.k, bN = r.k * r.n, cN = r.m * r.n;
  const cap = eng.capacityFloats();
  const perItem = (sA === 0 ? 0 : aN) + (sB === 0 ? 0 : bN) + cN;
  const fixed = (sA === 0 ? aN : 0) + (sB === 0 ? bN : 0);
  const job = { ...r, batch, strideA: sA, strideB: sB, strideC: sC };
  if (fixed + perItem * batch <= cap) {
    eng.run(job);
    return true;
  }
  if (batch > 1 && fixed + perItem <= cap) {
    const chunk = Math.floor((cap - fixed) / perItem);
    for (let t0 = 0; t0 < batch; t0 += chunk) {
      const nb = Math.min(chunk, batch - t0);
      eng.run({
        ...job,
        batch: nb,
        aOffset: r.aOffset + t0 * sA,
        bOffset: r.bOffset + t0 * sB,
        cOffset: r.cOffset + t0 * sC,
      });
    }
    return true;
  }
  // Single huge product: split rows of C (B must fit once).
  const rowFloats = 2 * r.k + 2 * r.n;
  const rows = Math.floor((cap - bN) / rowFloats);
  if (rows < 1) return false;
  for (let t = 0; t < batch; t++) {
    for (let i0 = 0; i0 < r.m; i0 += rows) {
      const mm = Math.min(rows, r.m - i0);
      const aOff = r.aOffset + t * sA + (r.transA ? i0 : i0 * r.lda);
      eng.run({
        ...job,
        m: mm,
        batch: 1,
        aOffset: aOff,
        bOffset: r.bOffset + t * sB,
        cOffset: r.cOffset + t * sC + i0 * r.ldc,
      });
    }
  }
  return true;
}

/** m·n·k·batch at or below which plain JS beats the fast paths' call overhead. */
const SMALL_WORK = 1024;

function dispatch(r: ResolvedGemm, batch: number, sA: number, sB: number, sC: number): void {
  const { m, n, k } = r;
  if (m === 0 || n === 0 || batch === 0) return;
  if (k === 0 || r.alpha === 0) {
    for (let t = 0; t < batch; t++) sgemmJs({ ...r, k: 0, cOffset: r.cOffset + t * sC });
    return;
  }
  const s = getState();
  // Tiny products: call overhead of the fast paths exceeds the work.
  const path = m * n * k * batch <= SMALL_WORK ? "js" : activePath(s);
  if (path === "x86") {
    for (let t = 0; t < batch; t++) {
      s.x86!.sgemm({ ...r, aOffset: r.aOffset + t * sA, bOffset: r.bOffset + t * sB, cOffset: r.cOffset + t * sC });
    }
    return;
  }
  if (path === "openblas") {
    for (let t = 0; t < batch; t++) {
      s.blas!.sgemm({ ...r, aOffset: r.aOffset + t * sA, bOffset: r.bOffset + t * sB, cOffset: r.cOffset + t * sC });
    }
    return;
  }
  if (path === "wasm" && runWasm(s.wasm!, r, batch, sA, sB, sC)) return;
  for (let t = 0; t < batch; t++) {
    sgemmJs({ ...r, aOffset: r.aOffset + t * sA, bOffset: r.bOffset + t * sB, cOffset: r.cOffset + t * sC });
  }
}

/**
 * C[m,n] = alpha · op(A)[m,k] @ op(B)[k,n] + beta · C (row-major; op is an
 * optional transpose). `beta` defaults to 0, in which case C is not read.
 *
 * @example
 * ```ts
 * const a = new Float32Array([1, 2, 3, 4]); // 2x2
 * const b = new Float32Array([5, 6, 7, 8]); // 2x2
 * const c = new Float32Array(4);
 * sgemm({ m: 2, n: 2, k: 2, a, b, c }); // c = [19, 22, 43, 50]
 * ```
 */
export function sgemm(o: SgemmOptions): void {
  const r = resolveGemm("sgemm", o);
  dispatch(r, 1, 0, 0, 0);
}

/**
 * Batched GEMM: for t in [0, batch), C_t = alpha·op(A_t)·op(B_t) + beta·C_t
 * where X_t starts at `xOffset + t·strideX`. A stride of 0 broadcasts A or B.
 *
 * @example
 * ```ts
 * const a = new Float32Array(2 * 4), b = new Float32Array(2 * 4), c = new Float32Array(2 * 4);
 * sgemmBatched({ batch: 2, m: 2, n: 2, k: 2, a, b, c }); // strides default to 4
 * ```
 */
export function sgemmBatched(o: SgemmBatchedOptions): void {
  const r = resolveGemm("sgemmBatched", o);
  const batch = o.batch;
  const shape = `batch=${batch} m=${r.m} n=${r.n} k=${r.k}`;
  if (!Number.isInteger(batch) || batch < 0) {
    throw new RangeError(`sgemmBatched(${shape}): batch must be an integer >= 0`);
  }
  const aRows = r.transA ? r.k : r.m, bRows = r.transB ? r.n : r.k;
  const sA = o.strideA ?? aRows * r.lda, sB = o.strideB ?? bRows * r.ldb, sC = o.strideC ?? r.m * r.ldc;
  for (const [name, v] of [["strideA", sA], ["strideB", sB], ["strideC", sC]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`sgemmBatched(${shape}): ${name} must be an integer >= 0, got ${v}`);
    }
  }
  if (batch > 1 && r.m > 0 && r.n > 0 && sC < (r.m - 1) * r.ldc + r.n) {
    throw new RangeError(
      `sgemmBatched(${shape}): strideC=${sC} makes C matrices overlap (need >= ${(r.m - 1) * r.ldc + r.n})`,
    );
  }
  if (batch > 1) {
    // Validate the last matrix of each operand against buffer lengths.
    resolveGemm(`sgemmBatched(${shape}) last batch`, {
      ...o,
      aOffset: r.aOffset + (batch - 1) * sA,
      bOffset: r.bOffset + (batch - 1) * sB,
      cOffset: r.cOffset + (batch - 1) * sC,
    });
  }
  dispatch(r, batch, sA, sB, sC);
}

/**
 * C = alpha·op(A)·B + beta·C where B is indexed, not stored: B[p][j] = b[rows[p] + cols[j]].
 * The x86 path packs B straight from `b` (e.g. a convolution's columns from the image, an
 * implicit GEMM); the other paths build B and run {@link sgemm}.
 *
 * @example
 * ```ts
 * const b = Float32Array.of(1, 2, 3, 4), c = new Float32Array(2);
 * // B = [[b[0], b[1]], [b[2], b[3]]] read column-swapped: [[2, 1], [4, 3]]
 * sgemmGatherB({ m: 1, n: 2, k: 2, a: Float32Array.of(1, 1), b, rows: Int32Array.of(0, 2), cols: Int32Array.of(1, 0), c });
 * c; // Float32Array [6, 4]
 * ```
 */
export function sgemmGatherB(o: GatherBOptions): void {
  const g = resolveGatherB("sgemmGatherB", o);
  const { m, n, k } = g.r;
  if (m * n * k > SMALL_WORK && gatherGemmNative()) return getState().x86!.sgemmGatherB(g);
  dispatch({ ...g.r, b: materializeB(g) }, 1, 0, 0, 0);
}

/**
 * Whether {@link sgemmGatherB} reads B in place (the x86 path) rather than building it.
 *
 * @example
 * ```ts
 * typeof gatherGemmNative(); // "boolean"
 * ```
 */
export function gatherGemmNative(): boolean {
  return activePath(getState()) === "x86";
}
