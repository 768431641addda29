/**
 * Thin typed wrappers over `bind` used by the rules and by `lax`/`np`: no broadcasting,
 * no conveniences, one line each.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import type { DType } from "../dtype.ts";
import { bind, bind1 } from "../trace.ts";
import { constant } from "../backend/backend.ts";
import type { UnaryName } from "./params.ts";
import { type Tangent, Zero } from "./types.ts";
import { invertPerm, range } from "../shape.ts";

const E = {} as Record<string, never>;
/** `-x`. */
export const neg = (x: Array): Array => bind1("neg", [x], E);
/** `a + b` (same shapes). */
export const add = (a: Array, b: Array): Array => bind1("add", [a, b], E);
/** `a - b` (same shapes). */
export const sub = (a: Array, b: Array): Array => bind1("sub", [a, b], E);
/** `a * b` (same shapes). */
export const mul = (a: Array, b: Array): Array => bind1("mul", [a, b], E);
/** `a / b` (same shapes). */
export const div = (a: Array, b: Array): Array => bind1("div", [a, b], E);
/** A unary primitive by name. */
export const unary = (name: UnaryName, x: Array): Array => bind1(name, [x], E);
/** `pred ? a : b` (same shapes, bool predicate). */
export const select = (pred: Array, a: Array, b: Array): Array => bind1("select", [pred, a, b], E);
/** Casts to `dtype`. */
export const convert = (x: Array, dtype: DType): Array => x.dtype === dtype ? x : bind1("convert", [x], { dtype });
/** Reinterprets the bits as `dtype` (32-bit types only). */
export const bitcast = (x: Array, dtype: DType): Array => bind1("bitcast", [x], { dtype });
/** Broadcasts `x` into `shape`, its axes landing on `dims`. */
export const broadcastInDim = (x: Array, shape: readonly number[], dims: readonly number[]): Array =>
  bind1("broadcastInDim", [x], { shape: [...shape], dims: [...dims] });
/** Same elements, new shape. */
export const reshape = (x: Array, shape: readonly number[]): Array => bind1("reshape", [x], { shape: [...shape] });
/** Permutes axes. */
export const transpose = (x: Array, perm: readonly number[]): Array =>
  perm.every((p, i) => p === i) ? x : bind1("transpose", [x], { perm: [...perm] });
/** Sums over `axes`. */
export const reduceSum = (x: Array, axes: readonly number[]): Array =>
  axes.length === 0 ? x : bind1("reduceSum", [x], { axes: [...axes] });
/** Stops gradients flowing through `x`. */
export const stopGradient = (x: Array): Array => bind1("stopGradient", [x], E);

/** A scalar constant of `dtype`. */
export function scalar(value: number, dtype: DType): Array {
  return constant(value, dtype);
}
/** An array of `aval`'s shape filled with `value`. */
export function full(aval: Aval, value: number): Array {
  return broadcastInDim(scalar(value, aval.dtype), aval.shape, []);
}
/** Zeros of `aval`'s shape and dtype. */
export function zeros(aval: Aval): Array {
  return full(aval, 0);
}
/** Materialises a symbolic zero. */
export function instantiate(t: Tangent): Array {
  return t instanceof Zero ? zeros(t.aval) : t;
}
/** Moves axis `from` to position `to`. */
export function moveAxis(x: Array, from: number, to: number): Array {
  if (from === to) return x;
  const perm = range(x.ndim).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}
/** Multiplies by a scalar constant. */
export function scale(x: Array, c: number): Array {
  return mul(x, full(x.aval, c));
}
/** Inverse of `transpose(x, perm)`. */
export function untranspose(x: Array, perm: readonly number[]): Array {
  return transpose(x, invertPerm(perm));
}
/** `f(t)` for a tangent `t`, passing a symbolic zero through. */
export const term = (t: Tangent, f: (t: Array) => Array): Tangent => (t instanceof Zero ? t : f(t));

/** The sum of two tangents, skipping symbolic zeros. */
export function plus(a: Tangent, b: Tangent): Tangent {
  if (a instanceof Zero) return b;
  if (b instanceof Zero) return a;
  return add(a, b);
}

/**
 * The tangent of `f(a, b)` for an `f` linear in each operand (a product: mul, dotGeneral,
 * convolution): `f(ta, b) + f(a, tb)`, skipping symbolic zeros; a zero of `out` when both are.
 */
export function productJvp(
  f: (a: Array, b: Array) => Array,
  [a, b]: readonly Array[],
  [ta, tb]: readonly Tangent[],
  out: Aval,
): Tangent {
  const t = plus(term(ta, (t) => f(t, b)), term(tb, (t) => f(a, t)));
  return t instanceof Zero ? new Zero(out) : t;
}

/** Multi-output bind re-export for rules that need it. */
export { bind, bind1 };
