/**
 * Array creation: from data, constant fills, ranges and the identity.
 * @module
 */
import type { Array } from "../array.ts";
import { allocTyped, checkDType, checkIntRange, type DType, type TypedArray } from "../dtype.ts";
import { checkShape, fmt, sizeOf } from "../shape.ts";
import { constant, fromOwned } from "../backend/backend.ts";
import { add, bind1, broadcastInDim, convert, mul } from "../primitives/ops.ts";

/** Nested lists of numbers or booleans. */
export type NestedNumbers = number | boolean | readonly NestedNumbers[];

/** Options of `np.array`. */
export interface ArrayOptions {
  /** Element type (default float32; int32/uint32/bool typed arrays keep theirs). */
  dtype?: DType;
  /** Shape for flat data (default: inferred). */
  shape?: number[];
}

function inferShape(x: NestedNumbers): number[] {
  const shape: number[] = [];
  let cur: NestedNumbers = x;
  while (globalThis.Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as NestedNumbers[])[0];
    if (cur === undefined) break;
  }
  return shape;
}

function typedDType(x: TypedArray | Float64Array): DType {
  if (x instanceof Int32Array) return "int32";
  if (x instanceof Uint32Array) return "uint32";
  if (x instanceof Uint8Array) return "bool";
  return "float32";
}

/**
 * Makes an array from nested lists or a typed array (copied).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const x = np.array([[1, 2, 3], [4, 5, 6]]);
 * assert(JSON.stringify(x.shape) === "[2,3]" && x.dtype === "float32");
 * const i = np.array([1, 2], { dtype: "int32" });
 * assert(i.dtype === "int32");
 * ```
 */
export function array(data: NestedNumbers | TypedArray | Float64Array, opts: ArrayOptions = {}): Array {
  let flat: ArrayLike<number>;
  let shape: number[];
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    flat = data as ArrayLike<number>;
    shape = opts.shape ?? [data.length];
    dtype = opts.dtype ? checkDType(opts.dtype, "array") : typedDType(data as TypedArray);
  } else {
    shape = opts.shape ?? inferShape(data);
    const vals: number[] = [];
    let isBool = true;
    const walk = (x: NestedNumbers, depth: number) => {
      if (globalThis.Array.isArray(x)) {
        if (!opts.shape && x.length !== shape[depth]) {
          throw new Error(
            `array: ragged nested lists (expected length ${shape[depth]} at depth ${depth}, got ${x.length})`,
          );
        }
        for (const y of x) walk(y, depth + 1);
      } else {
        if (typeof x !== "number" && typeof x !== "boolean") {
          throw new TypeError(`array: entries must be numbers or booleans, got ${typeof x}`);
        }
        if (!opts.shape && depth !== shape.length) {
          throw new Error(`array: ragged nested lists (a number at depth ${depth} of ${shape.length})`);
        }
        if (typeof x === "number") isBool = false;
        vals.push(Number(x));
      }
    };
    walk(data, 0);
    flat = vals;
    dtype = opts.dtype ? checkDType(opts.dtype, "array") : isBool && vals.length ? "bool" : "float32";
    for (const v of vals) checkIntRange("array", v, dtype);
  }
  checkShape("array", shape);
  if (sizeOf(shape) !== flat.length) throw new Error(`array: ${flat.length} values do not fill shape ${fmt(shape)}`);
  const buf = allocTyped(dtype, flat.length);
  // A typed array's set converts each value as an indexed store would (rounding, int wrapping).
  if (dtype !== "bool") buf.set(flat);
  else for (let i = 0; i < flat.length; i++) buf[i] = flat[i] ? 1 : 0;
  return fromOwned(buf, { shape, dtype });
}

/** Options with a dtype. */
export interface DTypeOptions {
  /** Element type (default float32). */
  dtype?: DType;
}

/**
 * An array of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert(JSON.stringify(await np.full([2], 7).tolist()) === "[7,7]");
 * ```
 */
export function full(shape: number[], value: number | boolean, opts: DTypeOptions = {}): Array {
  const dtype = checkDType(opts.dtype ?? (typeof value === "boolean" ? "bool" : "float32"), "full");
  checkIntRange("full", Number(value), dtype);
  return broadcastInDim(constant(Number(value), dtype), checkShape("full", shape), []);
}
/** Zeros of `shape`. */
export function zeros(shape: number[], opts: DTypeOptions = {}): Array {
  return full(checkShape("zeros", shape), 0, opts);
}
/** Ones of `shape`. */
export function ones(shape: number[], opts: DTypeOptions = {}): Array {
  return full(checkShape("ones", shape), 1, opts);
}
/** Zeros with the shape and dtype of `x`. */
export function zerosLike(x: Array, opts: DTypeOptions = {}): Array {
  return full([...x.aval.shape], 0, { dtype: opts.dtype ?? x.dtype });
}
/** Ones with the shape and dtype of `x`. */
export function onesLike(x: Array, opts: DTypeOptions = {}): Array {
  return full([...x.aval.shape], 1, { dtype: opts.dtype ?? x.dtype });
}
/** `value` with the shape and dtype of `x`. */
export function fullLike(x: Array, value: number, opts: DTypeOptions = {}): Array {
  return full([...x.aval.shape], value, { dtype: opts.dtype ?? x.dtype });
}

/**
 * Evenly spaced values in `[start, stop)`: `arange(stop)` or `arange(start, stop, step)`.
 * Integer arguments give int32 (like JAX), otherwise float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert(JSON.stringify(await np.arange(1, 7, 2).tolist()) === "[1,3,5]");
 * ```
 */
export function arange(start: number, stop?: number, step = 1, opts: DTypeOptions = {}): Array {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new RangeError("arange: step must not be 0");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts.dtype ?? ([start, stop, step].every(Number.isInteger) ? "int32" : "float32");
  const i = bind1("iota", [], { shape: [n], dtype, dimension: 0 });
  const c = (v: number) => broadcastInDim(constant(v, dtype), [n], []);
  return add(mul(i, c(step)), c(start));
}

/** Options of `linspace`. */
export interface LinspaceOptions extends DTypeOptions {
  /** Include `stop` (default true). */
  endpoint?: boolean;
}

/**
 * `num` evenly spaced values from `start` to `stop`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert(JSON.stringify(await np.linspace(0, 1, 3).tolist()) === "[0,0.5,1]");
 * ```
 */
export function linspace(start: number, stop: number, num = 50, opts: LinspaceOptions = {}): Array {
  const { endpoint = true } = opts;
  const div = endpoint ? Math.max(1, num - 1) : num;
  const step = (stop - start) / div;
  const i = bind1("iota", [], { shape: [num], dtype: "float32", dimension: 0 });
  const c = (v: number) => broadcastInDim(constant(v, "float32"), [num], []);
  const out = add(mul(i, c(step)), c(start));
  return opts.dtype && opts.dtype !== "float32" ? convert(out, opts.dtype) : out;
}

/** Options of `eye`. */
export interface EyeOptions extends DTypeOptions {
  /** Diagonal offset (default 0). */
  k?: number;
}

/**
 * The `n × m` identity (ones on diagonal `k`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert(JSON.stringify(await np.eye(2).tolist()) === "[[1,0],[0,1]]");
 * ```
 */
export function eye(n: number, m: number = n, opts: EyeOptions = {}): Array {
  const { k = 0, dtype = "float32" } = opts;
  const r = bind1("iota", [], { shape: [n, m], dtype: "int32", dimension: 0 });
  const c = bind1("iota", [], { shape: [n, m], dtype: "int32", dimension: 1 });
  const diag = bind1("eq", [add(r, broadcastInDim(constant(k, "int32"), [n, m], [])), c], {});
  return convert(diag, dtype);
}
