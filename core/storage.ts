/**
 * What an array is made of, below the `Array` class: its abstract value (shape and dtype) and
 * the backend buffer that holds its values (re-exported by `array.ts`).
 * @module
 */
import type { DType, TypedArray } from "./dtype.ts";

/** What tracing knows of a value: its shape and dtype. */
export interface Aval {
  /** The dimensions, outermost first. */
  readonly shape: readonly number[];
  /** The element type. */
  readonly dtype: DType;
  /** Weakly typed (a plain number passed to jit): adapts to the other operand's dtype like a JS number. */
  readonly weak?: boolean;
}

/** A backend-owned buffer with the bookkeeping wax needs to release it once. */
export interface Storage {
  /** The backend the buffer lives on. */
  readonly backend: BufferOwner;
  /** The backend's own handle (a typed array on cpu, a GPUBuffer on webgpu). */
  readonly handle: unknown;
  /** Size in bytes, for `memoryStats()`. */
  readonly bytes: number;
  /** Set once the buffer went back to its backend. */
  released: boolean;
}

/** The part of a backend that arrays need: reading and releasing buffers. */
export interface BufferOwner {
  /** Backend name, e.g. `"cpu"`. */
  readonly name: string;
  /** Copies a buffer to the host. */
  read(handle: unknown, aval: Aval): Promise<TypedArray>;
  /**
   * The values of a buffer that already lives on the host, without a copy (for printing);
   * backends whose buffers live on a device omit it.
   */
  peek?(handle: unknown): ArrayLike<number>;
  /** Returns a buffer to the backend (its pool or the collector). */
  release(handle: unknown): void;
  /** Resolves once the buffer's value is computed (backends that compute synchronously omit it). */
  ready?(handle: unknown): Promise<void>;
  /**
   * Whether `release` reuses this buffer (a pool) rather than dropping it. A buffer the backend
   * would drop is not kept for the collected array's release: the collector frees it with the
   * array. Backends that must release every buffer omit it.
   */
  reuses?(handle: unknown): boolean;
}
