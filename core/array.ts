/**
 * The user-facing `Array` value: a shape, a dtype and a buffer on a backend.
 * Tracers (values seen inside `grad`, `vmap`, `jit`) are `Array`s too, so user code never
 * sees the difference; reading values is the only thing a tracer refuses.
 * @module
 */
import type { DType, TypedArray } from "./dtype.ts";
import { sizeOf } from "./shape.ts";
import { formatArray, placeholder, shownValues } from "./print.ts";
import type { AtOf, IndexOf } from "./index_types.ts";

export type { AtOf, IndexList, IndexOf, Slice } from "./index_types.ts";
/** One entry of `x.at(...)` (see {@link IndexOf}). */
export type Index = IndexOf<Array>;
/** An indexed place of an array, `x.at(...)` (see {@link AtOf}). */
export type At = AtOf<Array>;

import type { Aval, Storage } from "./storage.ts";
export type { Aval, BufferOwner, Storage } from "./storage.ts";

const JSArray = globalThis.Array;
const live = new Map<string, { buffers: number; bytes: number }>();
function count(name: string, bytes: number, sign: 1 | -1) {
  const s = live.get(name) ?? { buffers: 0, bytes: 0 };
  s.buffers += sign;
  s.bytes += sign * bytes;
  live.set(name, s);
}
function releaseStorage(s: Storage) {
  if (s.released) return;
  s.released = true;
  count(s.backend.name, s.bytes, -1);
  if (s.handle !== undefined) s.backend.release(s.handle);
}
const registry = new FinalizationRegistry<Storage>(releaseStorage);
/** What the registry keeps for a collected array's release: the buffer only if the backend reuses it. */
function forRegistry(s: Storage): Storage {
  if (s.backend.reuses?.(s.handle) ?? true) return s;
  return { backend: s.backend, handle: undefined, bytes: s.bytes, released: false };
}

/**
 * Arrays made since the read path last gave the event loop a turn. The registry's callbacks run
 * only on a turn of the event loop (never inside a chain of resolved promises), so an eager loop
 * that reads values now and then (`await loss.item()`) would otherwise keep every collected
 * array's buffer until it ends. Reads give a turn once enough was made for it to matter.
 */
const sinceTurn = { arrays: 0, bytes: 0 };
/** Arrays or bytes made since the last turn after which a read gives the event loop one. */
const TURN_AFTER = { arrays: 256, bytes: 4 * 2 ** 20 };

/**
 * One turn of the event loop, so that pending registry callbacks run. Two `setImmediate` hops
 * cost microseconds and always span one turn (measured in Deno 2.9: one hop does not when the
 * caller resumed from a timer, an op or a module's top level, and a `MessageChannel` message
 * does not either); `setTimeout(0)` always does, but waits a millisecond or more.
 */
const eventLoopTurn: () => Promise<void> = (() => {
  const immediate = (globalThis as { setImmediate?: (cb: () => void) => unknown }).setImmediate;
  if (!immediate) return () => new Promise<void>((r) => setTimeout(r, 0));
  const hop = () => new Promise<void>((r) => immediate(r));
  return () => hop().then(hop);
})();

/** Gives the event loop a turn if many arrays were made since the last one (see {@link sinceTurn}). */
function settle(): Promise<void> | undefined {
  if (sinceTurn.arrays < TURN_AFTER.arrays && sinceTurn.bytes < TURN_AFTER.bytes) return undefined;
  sinceTurn.arrays = sinceTurn.bytes = 0;
  return eventLoopTurn();
}

/** Where the arrays made inside {@link freeUnkept} are recorded. */
interface Scope {
  /** Concrete arrays made while `eager()` held. */
  readonly made: Array[];
  /** Arrays handed to user code: never freed. */
  readonly seen: Set<Array>;
  /** Whether arrays made now are eager values (no transform is tracing). */
  readonly eager: () => boolean;
}
let scope: Scope | null = null;

/**
 * @internal Runs `fn` (internal code of a transform, at the top level) and disposes every array
 * made while it ran except those `keep(result)` lists and those handed to user code through
 * {@link userOwned}: the intermediates a transform knows die when it returns (the residuals of
 * `grad`, the arrays of a backward pass), freed at once as `jit` frees its own. Arrays made
 * while a transform traces (`eager()` false) are not touched. If `fn` throws, nothing is freed.
 */
export function freeUnkept<T>(fn: () => T, keep: (result: T) => readonly unknown[], eager: () => boolean): T {
  const outer = scope;
  const s: Scope = { made: [], seen: new Set(), eager };
  scope = s;
  let result: T;
  try {
    result = fn();
  } finally {
    scope = outer;
  }
  const kept = new Set<unknown>(keep(result));
  for (const a of s.made) if (!kept.has(a) && !s.seen.has(a)) a.dispose();
  if (outer) {
    for (const a of s.made) if (a.isLive) outer.made.push(a);
    for (const a of s.seen) outer.seen.add(a);
  }
  return result;
}

/**
 * @internal Runs user code (or a cache) inside {@link freeUnkept}: the arrays it is `given` and
 * the arrays it makes are the user's, never freed by the enclosing transform.
 */
export function userOwned<T>(given: readonly unknown[], fn: () => T): T {
  const s = scope;
  if (!s) return fn();
  for (const a of given) if (a instanceof Array) s.seen.add(a);
  scope = null;
  try {
    return fn();
  } finally {
    scope = s;
  }
}

/**
 * Live buffers and bytes per backend, counting every array not yet disposed or collected.
 *
 * @example Count buffers
 * ```ts
 * import assert from "node:assert";
 * import { memoryStats, np } from "@wax/wax";
 * const before = memoryStats().cpu?.buffers ?? 0;
 * {
 *   using x = np.array([1, 2, 3, 4]);
 *   assert.equal(memoryStats().cpu.buffers, before + 1);
 * }
 * assert.equal(memoryStats().cpu.buffers, before);
 * ```
 */
export function memoryStats(): Record<string, { buffers: number; bytes: number }> {
  return Object.fromEntries([...live].map(([k, v]) => [k, { ...v }]));
}

/** The array operations `Array`'s methods call; filled in by `numpy.ts`. */
export interface ArrayOps {
  at(a: Array, indices: Index[]): At;
  binary(name: string, a: Array, b: Array | number): Array;
  unary(name: string, a: Array): Array;
  reduce(name: string, a: Array, axis: number | number[] | null, keepdims: boolean): Array;
  reshape(a: Array, shape: number[]): Array;
  transpose(a: Array, axes?: number[]): Array;
  astype(a: Array, dtype: DType): Array;
  squeeze(a: Array, axis?: number | number[]): Array;
  expandDims(a: Array, axis: number): Array;
}
/** @internal The late-bound operation table (avoids an import cycle with numpy.ts). */
export const arrayOps: ArrayOps = {} as ArrayOps;

/** A right-hand operand of the method sugar: an array or a plain number. */
export type Operand = Array | number;

/**
 * An n-dimensional array of float32, int32, uint32 or bool values on a backend.
 *
 * @example Make, combine and read arrays
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const x = np.array([[1, 2], [3, 4]]);
 * const y = x.mul(2).add(1).sum(0);
 * assert(JSON.stringify(await y.tolist()) === "[10,14]");
 * ```
 */
export class Array {
  /** Shape and dtype. */
  readonly aval: Aval;
  /** The buffer of a concrete array; `null` for tracers. */
  readonly storage: Storage | null;
  #state: "live" | "disposed" | "donated" = "live";
  /** The values that print, kept from the last read of an array whose buffer is on a device. */
  #shown: ArrayLike<number> | null = null;

  /** Wraps a backend buffer (internal: use `np.array` and the ops to make arrays). */
  constructor(aval: Aval, storage: Storage | null) {
    this.aval = aval;
    this.storage = storage;
    if (storage) {
      count(storage.backend.name, storage.bytes, 1);
      registry.register(this, forRegistry(storage), this);
      sinceTurn.arrays++;
      sinceTurn.bytes += storage.bytes;
      if (scope?.eager()) scope.made.push(this);
    }
  }

  /** The dimensions. */
  get shape(): number[] {
    return [...this.aval.shape];
  }
  /** The element type. */
  get dtype(): DType {
    return this.aval.dtype;
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.aval.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return sizeOf(this.aval.shape);
  }

  /** The live buffer, or an error saying why there is none. */
  buffer(op: string): Storage {
    if (this.#state !== "live") {
      throw new Error(
        `${op}: this array was ${
          this.#state === "donated" ? "donated to a jitted call (donateArgnums)" : "disposed"
        }; ` +
          `its buffer is gone. Use the value the call returned instead`,
      );
    }
    if (!this.storage) throw new Error(`${op}: a traced value has no buffer`);
    return this.storage;
  }

  /** Copies the values to the host as a typed array (a fresh copy). */
  async data(): Promise<TypedArray> {
    const s = this.buffer("data"); // (an async function reports errors as rejections)
    const values = await s.backend.read(s.handle, this.aval);
    if (!s.backend.peek) {
      const shown = shownValues(values, this.aval.shape);
      this.#shown = shown === values ? values.slice() : shown; // the caller may write to `values`
    }
    await settle();
    return values;
  }
  /**
   * Waits until the value is computed, without copying it to the host (JAX's
   * `block_until_ready`): for timing, or to bound the work queued on a device.
   *
   * @example Time a matmul
   * ```ts
   * import assert from "node:assert";
   * import { np } from "@wax/wax";
   * const a = np.ones([64, 64]);
   * const t0 = performance.now();
   * const c = await np.matmul(a, a).blockUntilReady();
   * assert.ok(performance.now() >= t0);
   * assert.equal(await c.sum().item(), 64 * 64 * 64);
   * ```
   */
  async blockUntilReady(): Promise<this> {
    const s = this.buffer("blockUntilReady");
    await s.backend.ready?.(s.handle);
    await settle();
    return this;
  }
  /** The single value of a size-1 array. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: array of shape [${this.aval.shape}] has ${this.size} elements, not 1`);
    return (await this.data())[0];
  }
  /** The values as nested JS arrays (booleans become 0/1). */
  async tolist(): Promise<unknown> {
    const d = JSArray.from(await this.data());
    const build = (axis: number, off: number): unknown => {
      if (axis === this.ndim) return d[off];
      const stride = sizeOf(this.aval.shape.slice(axis + 1));
      return JSArray.from({ length: this.aval.shape[axis] }, (_, i) => build(axis + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** Releases the buffer now (the array is unusable afterwards). */
  dispose(): void {
    if (this.#state !== "live" || !this.storage) return;
    this.#state = "disposed";
    registry.unregister(this);
    releaseStorage(this.storage);
  }
  /** `using x = ...` releases at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }
  /** Marks the array as donated: its buffer now belongs to a jitted call's output. */
  donate(): Storage {
    const s = this.buffer("donate");
    this.#state = "donated";
    registry.unregister(this);
    releaseStorage(s);
    return s;
  }
  /** True while the array still holds its buffer (or is a tracer). */
  get isLive(): boolean {
    return this.#state === "live";
  }

  /** `this + y` with broadcasting. */
  add(y: Operand): Array {
    return arrayOps.binary("add", this, y);
  }
  /** `this - y`. */
  sub(y: Operand): Array {
    return arrayOps.binary("sub", this, y);
  }
  /** `this * y`. */
  mul(y: Operand): Array {
    return arrayOps.binary("mul", this, y);
  }
  /** `this / y` (true division). */
  div(y: Operand): Array {
    return arrayOps.binary("div", this, y);
  }
  /** `this ** y`. */
  pow(y: Operand): Array {
    return arrayOps.binary("pow", this, y);
  }
  /** Elementwise maximum. */
  maximum(y: Operand): Array {
    return arrayOps.binary("maximum", this, y);
  }
  /** Elementwise minimum. */
  minimum(y: Operand): Array {
    return arrayOps.binary("minimum", this, y);
  }
  /** Elementwise `this == y` (bool). */
  equal(y: Operand): Array {
    return arrayOps.binary("equal", this, y);
  }
  /** Elementwise `this < y` (bool). */
  less(y: Operand): Array {
    return arrayOps.binary("less", this, y);
  }
  /** Elementwise `this > y` (bool). */
  greater(y: Operand): Array {
    return arrayOps.binary("greater", this, y);
  }
  /** Matrix product with batch broadcasting (`np.matmul`). */
  matmul(y: Array): Array {
    return arrayOps.binary("matmul", this, y);
  }
  /** `-this`. */
  neg(): Array {
    return arrayOps.unary("neg", this);
  }
  /** `|this|`. */
  abs(): Array {
    return arrayOps.unary("abs", this);
  }
  /** `e ** this`. */
  exp(): Array {
    return arrayOps.unary("exp", this);
  }
  /** Natural logarithm. */
  log(): Array {
    return arrayOps.unary("log", this);
  }
  /** Square root. */
  sqrt(): Array {
    return arrayOps.unary("sqrt", this);
  }
  /** Hyperbolic tangent. */
  tanh(): Array {
    return arrayOps.unary("tanh", this);
  }
  /** `this * this`. */
  square(): Array {
    return arrayOps.unary("square", this);
  }
  /** Sum over `axis` (all axes when omitted). */
  sum(axis: number | number[] | null = null, keepdims = false): Array {
    return arrayOps.reduce("sum", this, axis, keepdims);
  }
  /** Mean over `axis`. */
  mean(axis: number | number[] | null = null, keepdims = false): Array {
    return arrayOps.reduce("mean", this, axis, keepdims);
  }
  /** Maximum over `axis`. */
  max(axis: number | number[] | null = null, keepdims = false): Array {
    return arrayOps.reduce("max", this, axis, keepdims);
  }
  /** Minimum over `axis`. */
  min(axis: number | number[] | null = null, keepdims = false): Array {
    return arrayOps.reduce("min", this, axis, keepdims);
  }
  /** Index of the maximum along `axis` (of the flattened array when omitted). */
  argmax(axis: number | null = null): Array {
    return arrayOps.reduce("argmax", this, axis, false);
  }
  /** Same values, new shape (one entry may be -1). */
  reshape(...shape: number[] | [number[]]): Array {
    const s = JSArray.isArray(shape[0]) ? shape[0] : (shape as number[]);
    return arrayOps.reshape(this, s);
  }
  /** Flattens to one dimension. */
  flatten(): Array {
    return arrayOps.reshape(this, [-1]);
  }
  /** Permutes axes (reverses them when omitted). */
  transpose(axes?: number[]): Array {
    return arrayOps.transpose(this, axes);
  }
  /** The transpose (axes reversed). */
  get T(): Array {
    return arrayOps.transpose(this);
  }
  /** Casts to `dtype`. */
  astype(dtype: DType): Array {
    return arrayOps.astype(this, dtype);
  }
  /** Removes size-1 axes. */
  squeeze(axis?: number | number[]): Array {
    return arrayOps.squeeze(this, axis);
  }
  /** Inserts a size-1 axis at `axis`. */
  expandDims(axis: number): Array {
    return arrayOps.expandDims(this, axis);
  }
  /**
   * The place `x[...indices]` (JAX's `x.at[...]`), to read with `.get()` or update on a copy
   * with `.set/.add/.mul/.min/.max(v)`. Entries: integers, slices (`"1:3"`, `"::-1"`,
   * `{ start, stop, step }`), `null` (new axis), `"..."` and integer index arrays (see
   * {@link Index}). Differentiable and batchable; a static index out of range is an error.
   *
   * @example Read a column and update rows
   * ```ts
   * import assert from "node:assert";
   * import { np } from "@wax/wax";
   * const x = np.arange(6).reshape(2, 3);
   * assert.deepEqual(await x.at(":", -1).get().tolist(), [2, 5]);
   * assert.deepEqual(await x.at(0, "::2").set(9).tolist(), [[9, 1, 9], [3, 4, 5]]);
   * assert.deepEqual(await x.at([1, 1]).add(1).tolist(), [[0, 1, 2], [5, 6, 7]]);
   * ```
   */
  at(...indices: Index[]): At {
    return arrayOps.at(this, indices);
  }
  /**
   * The array as NumPy and JAX print it, `Array([[1, 2], [3, 4]], dtype=int32)` (elided past
   * 1,000 elements), when its values are on the host: always on cpu, on webgpu once read
   * (`await x.data()`); otherwise a placeholder with the dtype and shape saying why.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { np } from "@wax/wax";
   * const x = np.array([[1, 2], [3, 4]], { dtype: "int32" });
   * await x.data(); // (on webgpu the values print once read)
   * assert.equal(String(x), "Array([[1, 2],\n       [3, 4]], dtype=int32)");
   * ```
   */
  toString(): string {
    const { shape, dtype } = this.aval;
    if (this.#state !== "live") return placeholder(shape, dtype, this.#state);
    if (!this.storage) return placeholder(shape, dtype, "traced");
    const { backend, handle } = this.storage;
    const values = this.size === 0 ? [] : backend.peek ? shownValues(backend.peek(handle), shape) : this.#shown;
    if (!values) return placeholder(shape, dtype, `on ${backend.name}, not read yet: await x.data() to see it`);
    return formatArray(values, shape, dtype);
  }
  /** `console.log(x)` in Deno shows {@link toString}'s text. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/**
 * A value inside a transform (jvp, vmap, jit tracing). Subclassed by each interpreter.
 */
export abstract class Tracer extends Array {
  /** The interpreter this tracer belongs to. */
  abstract readonly trace: { readonly main: { readonly level: number } };
  constructor(aval: Aval) {
    super(aval, null);
  }
  /** Reading values is impossible while tracing: explains why and what to do. */
  override data(): Promise<TypedArray> {
    return Promise.reject(
      new Error(
        `data: cannot read the values of a traced array ${this.toString()} inside grad/vmap/jit; ` +
          `return it from the transformed function and read it outside`,
      ),
    );
  }
  /** Tracers have no buffers to release. */
  override dispose(): void {}
}
