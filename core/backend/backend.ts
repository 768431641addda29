/**
 * The backend interface and registry: where arrays live and how primitives run there. A
 * backend provides kernels and a buffer model only; structural primitives (jitted programs,
 * scan) run through their rules on that buffer model (see eager.ts and the executors).
 * @module
 */
import { Array, type Aval, type BufferOwner, userOwned } from "../array.ts";

const WaxArray = Array;
import { allocTyped, type DType, itemSize, type TypedArray, weakDType } from "../dtype.ts";
import { sizeOf } from "../shape.ts";
import type { Buffers, KernelName, Params } from "../primitives/types.ts";

/** Names of the backends wax knows. */
export type BackendName = "cpu" | "webgpu";

/** A place arrays live and primitives run. */
export interface Backend extends BufferOwner {
  /** The backend's name. */
  readonly name: BackendName;
  /**
   * Copies host data into a new buffer; with `owned`, `data` is a fresh buffer nobody else holds
   * and the backend may keep it as it is.
   */
  fromHost(data: TypedArray, aval: Aval, owned?: boolean): unknown;
  /** Runs the kernel of one primitive on concrete arrays of this backend. */
  execute<K extends KernelName>(prim: K, args: Array[], params: Params[K], outAvals: Aval[]): Array[];
  /** The buffer model and program executor structural primitives run on. */
  readonly buffers: Buffers;
  /**
   * Runs `body` on the buffers of `args` as one operation named `op` — its errors name `op`
   * and the results `outAvals`, work it records is submitted at the end — and wraps the
   * buffers it returns as arrays.
   */
  operation(op: string, args: Array[], outAvals: Aval[], body: (ins: unknown[]) => unknown[]): Array[];
}

const registry = new Map<BackendName, () => Promise<Backend>>();
const ready = new Map<BackendName, Backend>();
let current: Backend | null = null;

/** Registers a backend factory (done by each backend module). */
export function registerBackend(name: BackendName, make: () => Promise<Backend>, instance?: Backend): void {
  registry.set(name, make);
  if (instance) ready.set(name, instance);
}

/**
 * Makes `name` the backend new arrays are created on.
 *
 * @example Select the cpu backend
 * ```ts
 * import { useBackend } from "@wax/wax";
 * await useBackend("cpu");
 * ```
 */
export async function useBackend(name: BackendName): Promise<void> {
  const make = registry.get(name);
  if (!make) {
    throw new Error(
      `useBackend: unknown backend ${JSON.stringify(name)}; available: ${[...registry.keys()].join(", ")}`,
    );
  }
  const b = ready.get(name) ?? await make();
  ready.set(name, b);
  current = b;
}

/**
 * The names of the registered backends (`cpu` always; `webgpu` where the platform has WebGPU).
 *
 * @example List backends
 * ```ts
 * import assert from "node:assert";
 * import { backends } from "@wax/wax";
 * assert(backends().includes("cpu"));
 * ```
 */
export function backends(): BackendName[] {
  return [...registry.keys()];
}

/** The backend new arrays go to. */
export function defaultBackend(): Backend {
  if (current) return current;
  const cpu = ready.get("cpu");
  if (!cpu) throw new Error("wax: no backend is ready; import mod.ts (it registers cpu) or call useBackend");
  current = cpu;
  return cpu;
}

/** Wraps a backend buffer as an array. */
export function wrap(backend: Backend, handle: unknown, aval: Aval): Array {
  return new WaxArray(aval, { backend, handle, bytes: sizeOf(aval.shape) * itemSize(aval.dtype), released: false });
}

/** Makes an array from host data on a backend (default: the current one). */
export function fromHost(data: TypedArray, aval: Aval, backend: Backend = defaultBackend()): Array {
  return wrap(backend, backend.fromHost(data, aval), aval);
}

/** Makes an array on the current backend from a fresh host buffer that nobody else holds (no copy on the cpu). */
export function fromOwned(data: TypedArray, aval: Aval): Array {
  const backend = defaultBackend();
  return wrap(backend, backend.fromHost(data, aval, true), aval);
}

const constCache = new Map<string, Array>();
/** A cached scalar constant on the default backend. */
export function constant(value: number, dtype: DType): Array {
  const b = defaultBackend();
  const key = `${b.name}:${dtype}:${Object.is(value, -0) ? "-0" : value}`;
  let c = constCache.get(key);
  if (!c || !c.isLive) {
    const data = allocTyped(dtype, 1);
    data[0] = dtype === "bool" ? (value ? 1 : 0) : value;
    c = userOwned([], () => fromHost(data, { shape: [], dtype }, b)); // the cache's, not a transform's to free
    constCache.set(key, c);
  }
  return c;
}

/** Numbers and booleans become weakly typed scalar constants; arrays pass through. */
export function toArray(x: Array | number | boolean): Array {
  if (x instanceof Array) return x;
  if (typeof x === "number" || typeof x === "boolean") return constant(Number(x), weakDType(x, null));
  throw new TypeError(`Expected an array or a number, got ${typeof x}`);
}

/** The backend that runs `prim` on `args`: theirs (all must agree), else the default. */
export function backendOf(prim: string, args: readonly Array[]): Backend {
  let b: Backend | null = null;
  for (const a of args) {
    const s = a.buffer(prim);
    const ab = s.backend as Backend;
    if (b && ab !== b) {
      throw new Error(
        `${prim}: inputs live on different backends (${b.name} and ${ab.name}); create them on one backend`,
      );
    }
    b = ab;
  }
  return b ?? defaultBackend();
}
