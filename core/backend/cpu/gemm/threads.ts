/**
 * `node:worker_threads`, resolved synchronously (Deno and Node), for the cpu backend's
 * helper threads (the wasm GEMM, the x86 GEMM and the convolution gather).
 * @module
 */

/** The subset of a `node:worker_threads` Worker the backend uses. */
export interface NodeWorker {
  unref(): void;
  on(event: "error", cb: (e: unknown) => void): void;
  postMessage(msg: unknown): void;
}

/** A Worker constructor: a module URL, or source text with `{ eval: true }`. */
export type NodeWorkerCtor = new (src: string | URL, opts?: { eval?: boolean }) => NodeWorker;

/** The Worker constructor of `node:worker_threads`, or null where there is none. */
export function workerCtor(): NodeWorkerCtor | null {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.("node:worker_threads") as { Worker?: NodeWorkerCtor } | undefined;
    return mod?.Worker ?? null;
  } catch {
    return null;
  }
}
