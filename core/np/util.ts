/**
 * Shared helpers of the `np` namespace: operands, dtype promotion and broadcasting.
 * @module
 */
import { Array } from "../array.ts";
import { type DType, promote, weakDType } from "../dtype.ts";
import { broadcastShapes, range, shapeEq } from "../shape.ts";
import { constant } from "../backend/backend.ts";
import { broadcastInDim, convert } from "../primitives/ops.ts";
import "../rules.ts"; // every op namespace needs the rule table registered

/** An array or a plain number/boolean (weakly typed, like a Python scalar in JAX). */
export type ArrayLike = Array | number | boolean;

/**
 * Converts an operand to an array; plain numbers take a dtype compatible with `other` (an
 * integer that does not fit it is an error naming `op`).
 */
export function asArray(x: ArrayLike, other: DType | null = null, op?: string): Array {
  if (x instanceof Array) return x;
  if (typeof x === "number" || typeof x === "boolean") return constant(Number(x), weakDType(x, other, op));
  throw new TypeError(`Expected an array or a number, got ${x === null ? "null" : typeof x}`);
}

/** Operands converted to arrays with one promoted dtype (weak scalars adapt to arrays). */
export function promoteArgs(...xs: ArrayLike[]): Array[] {
  return promoteFor("promote", xs);
}

/** `promoteArgs` for the op named `op` (named in the error for a number out of an integer dtype's range). */
export function promoteFor(op: string, xs: readonly ArrayLike[]): Array[] {
  const isWeak = (x: ArrayLike) => !(x instanceof Array) || !!x.aval.weak;
  const strong = xs.filter((x): x is Array => !isWeak(x)).map((x) => x.dtype);
  let dt: DType | null = strong.length ? strong.reduce(promote) : null;
  for (const x of xs) {
    if (!isWeak(x)) continue;
    // A weak array (a number passed to jit) behaves like the number it came from.
    const w = x instanceof Array ? (x.dtype === "float32" ? 0.5 : x.dtype === "bool" ? true : 1) : x;
    dt = dt === null ? weakDType(w, null, op) : promote(dt, weakDType(w, dt, op));
  }
  return xs.map((x) => convert(asArray(x, dt, op), dt!));
}

/** Broadcasts an array to `shape` (numpy rules: align trailing axes). */
export function broadcastTo(x: Array, shape: readonly number[], op = "broadcastTo"): Array {
  if (shapeEq(x.aval.shape, shape)) return x;
  broadcastShapes(op, x.aval.shape, shape);
  if (x.ndim > shape.length) {
    throw new Error(`${op}: cannot broadcast [${x.aval.shape}] to the smaller rank [${shape}]`);
  }
  const off = shape.length - x.ndim;
  return broadcastInDim(x, shape, range(x.ndim).map((i) => i + off));
}

/** Promotes and broadcasts operands for an elementwise op named `op`. */
export function elementwiseArgs(op: string, ...xs: ArrayLike[]): Array[] {
  const arrs = promoteFor(op, xs);
  const shape = broadcastShapes(op, ...arrs.map((a) => a.aval.shape));
  return arrs.map((a) => broadcastTo(a, shape, op));
}
