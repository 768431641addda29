/**
 * Reductions with `axis`/`keepdims` (numpy conventions) and cumulative sums.
 * @module
 */
import type { Array } from "../array.ts";
import { isFloat } from "../dtype.ts";
import { normAxes, normAxis, range, sizeOf } from "../shape.ts";
import { bind1, broadcastInDim, convert, reshape, stopGradient } from "../primitives/ops.ts";
import { type ArrayLike, asArray } from "./util.ts";
import { add, divide, exp, isfinite, log, multiply, notEqual, subtract, where } from "./math.ts";

/** Axis selection: one axis, several, or null for all. */
export type Axis = number | number[] | null;

/** Options of the reductions. */
export interface ReduceOptions {
  /** Axes to reduce (default: all). */
  axis?: Axis;
  /** Keep reduced axes as size 1 (default false). */
  keepdims?: boolean;
}

function keep(y: Array, inShape: readonly number[], axes: number[], keepdims: boolean): Array {
  if (!keepdims) return y;
  return reshape(y, inShape.map((n, i) => (axes.includes(i) ? 1 : n)));
}

function reducer(prim: "reduceSum" | "reduceMax" | "reduceMin" | "reduceProd", name: string, truth = false) {
  return (x: ArrayLike, opts: ReduceOptions = {}): Array => {
    let a = asArray(x);
    if (truth) a = notEqual(a, 0);
    const axes = normAxes(name, opts.axis, a.aval.shape);
    if ((prim === "reduceSum" || prim === "reduceProd") && a.dtype === "bool") a = convert(a, "int32");
    return keep(bind1(prim, [a], { axes }), a.aval.shape, axes, !!opts.keepdims);
  };
}

/**
 * Sum over axes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const x = np.array([[1, 2], [3, 4]]);
 * assert(JSON.stringify(await np.sum(x, { axis: 0 }).tolist()) === "[4,6]");
 * ```
 */
export const sum: (x: ArrayLike, opts?: ReduceOptions) => Array = reducer("reduceSum", "sum");
/** Maximum over axes; a NaN anywhere in a reduced slice makes its result NaN, as in `jnp`. */
export const max: (x: ArrayLike, opts?: ReduceOptions) => Array = reducer("reduceMax", "max");
/** Minimum over axes; NaN propagates, as in `max`. */
export const min: (x: ArrayLike, opts?: ReduceOptions) => Array = reducer("reduceMin", "min");
/** Product over axes. */
export const prod: (x: ArrayLike, opts?: ReduceOptions) => Array = reducer("reduceProd", "prod");

/** Mean over axes (integers give float32). */
export function mean(x: ArrayLike, opts: ReduceOptions = {}): Array {
  const a = asArray(x);
  const axes = normAxes("mean", opts.axis, a.aval.shape);
  const n = sizeOf(axes.map((i) => a.aval.shape[i]));
  return divide(sum(isFloat(a.dtype) ? a : convert(a, "float32"), opts), n);
}

/** Options of `var`/`std`. */
export interface VarOptions extends ReduceOptions {
  /** Delta degrees of freedom (divide by N - ddof; default 0). */
  ddof?: number;
}

/** Variance over axes. */
export function variance(x: ArrayLike, opts: VarOptions = {}): Array {
  return varianceOf("var", x, opts);
}
function varianceOf(op: string, x: ArrayLike, opts: VarOptions): Array {
  const a = asArray(x);
  const axes = normAxes(op, opts.axis, a.aval.shape);
  const n = sizeOf(axes.map((i) => a.aval.shape[i]));
  const m = mean(a, { axis: axes, keepdims: true });
  const d = subtract(a, m);
  return divide(sum(multiply(d, d), { axis: axes, keepdims: opts.keepdims }), Math.max(0, n - (opts.ddof ?? 0)));
}
export { variance as var };

/** Standard deviation over axes. */
export function std(x: ArrayLike, opts: VarOptions = {}): Array {
  return bind1("sqrt", [varianceOf("std", x, opts)], {});
}

/**
 * `log(sum(exp(x)))` computed stably.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const v = await np.logsumexp(np.array([1000, 1000])).item();
 * assert(Math.abs(v - (1000 + Math.log(2))) < 1e-3);
 * ```
 */
export function logsumexp(x: ArrayLike, opts: ReduceOptions = {}): Array {
  const a = asArray(x);
  const axes = normAxes("logsumexp", opts.axis, a.aval.shape);
  const m = stopGradient(max(a, { axis: axes, keepdims: true }));
  const safe = where(isfinite(m), m, 0);
  const s = sum(exp(subtract(a, safe)), { axis: axes, keepdims: true });
  const out = add(log(s), safe);
  return opts.keepdims ? out : reshape(out, a.aval.shape.filter((_, i) => !axes.includes(i)));
}

/** True if any element along the axes is truthy (NaN counts as truthy). */
export const any: (x: ArrayLike, opts?: ReduceOptions) => Array = reducer("reduceMax", "any", true);
/** True if every element along the axes is truthy. */
export const all: (x: ArrayLike, opts?: ReduceOptions) => Array = reducer("reduceMin", "all", true);

function argReduce(prim: "argmax" | "argmin") {
  return (x: ArrayLike, opts: { axis?: number | null; keepdims?: boolean } = {}): Array => {
    const a = asArray(x);
    if (opts.axis === null || opts.axis === undefined) {
      const y = bind1(prim, [reshape(a, [a.size])], { axis: 0 });
      return opts.keepdims ? reshape(y, a.aval.shape.map(() => 1)) : y;
    }
    const ax = normAxis(prim, opts.axis, a.aval.shape);
    const y = bind1(prim, [a], { axis: ax });
    return opts.keepdims ? keep(y, a.aval.shape, [ax], true) : y;
  };
}
/**
 * Index of the maximum along `axis` (of the flattened array when omitted); the first
 * maximum wins, and a NaN counts as the maximum (the first NaN's index), as in `jnp`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert.equal(await np.argmax(np.array([1, NaN, 3, NaN])).item(), 1);
 * ```
 */
export const argmax: (x: ArrayLike, opts?: { axis?: number | null; keepdims?: boolean }) => Array = argReduce("argmax");
/** Index of the minimum along `axis` (a NaN counts as the minimum, as in `jnp`). */
export const argmin: (x: ArrayLike, opts?: { axis?: number | null; keepdims?: boolean }) => Array = argReduce("argmin");

/**
 * Cumulative sum along `axis` (of the flattened array when omitted).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert(JSON.stringify(await np.cumsum(np.array([1, 2, 3])).tolist()) === "[1,3,6]");
 * ```
 */
export function cumsum(x: ArrayLike, opts: { axis?: number | null; reverse?: boolean } = {}): Array {
  let a = asArray(x);
  if (a.dtype === "bool") a = convert(a, "int32");
  if (opts.axis === undefined || opts.axis === null) a = reshape(a, [a.size]);
  const axis = normAxis("cumsum", opts.axis ?? 0, a.aval.shape);
  return bind1("cumsum", [a], { axis, reverse: !!opts.reverse });
}

/** Broadcasts a reduced value back (used by softmax-like composites). */
export function unreduceTo(y: Array, shape: readonly number[], axes: number[]): Array {
  return broadcastInDim(y, shape, range(shape.length).filter((i) => !axes.includes(i)));
}
