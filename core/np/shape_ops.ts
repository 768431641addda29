/**
 * Shape manipulation: reshape, transpose, squeeze/expandDims, joining, splitting, tiling,
 * padding, flipping and `take`.
 * @module
 */
import type { Array } from "../array.ts";
import { checkShape, fmt, normAxes, normAxis, normNewAxis, range, sizeOf } from "../shape.ts";
import { bind1, broadcastInDim, convert, reshape as reshapeP, transpose as transposeP } from "../primitives/ops.ts";
import { type ArrayLike, asArray, broadcastTo as bcast, promoteArgs } from "./util.ts";
import { add, less, where } from "./math.ts";

/**
 * Same elements in a new shape; one entry may be -1 (inferred).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert(JSON.stringify(np.reshape(np.arange(6), [2, -1]).shape) === "[2,3]");
 * ```
 */
export function reshape(x: ArrayLike, shape: number[]): Array {
  const a = asArray(x);
  checkShape("reshape", shape, true);
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`reshape: at most one -1 in ${fmt(shape)}`);
  let s = shape;
  if (unknown) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || a.size % known) {
      throw new Error(`reshape: cannot reshape ${fmt(a.aval.shape)} into ${fmt(shape)}`);
    }
    s = shape.map((d) => (d === -1 ? a.size / known : d));
  }
  return reshapeP(a, s);
}
/** Flattens to 1-D. */
export const ravel = (x: ArrayLike): Array => reshape(x, [-1]);

/**
 * Permutes axes (reverses them when `axes` is omitted); `axes` names every axis once, and
 * negative entries count from the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert.deepEqual(np.transpose(np.zeros([2, 3, 4]), [-1, 0, 1]).shape, [4, 2, 3]);
 * ```
 */
export function transpose(x: ArrayLike, axes?: number[]): Array {
  const a = asArray(x);
  if (!axes) return transposeP(a, range(a.ndim).reverse());
  normAxes("transpose", axes, a.aval.shape);
  if (axes.length !== a.ndim) {
    throw new Error(
      `transpose: axes ${JSON.stringify(axes)} must name each of the ${a.ndim} axes of ${fmt(a.aval.shape)} once`,
    );
  }
  return transposeP(a, axes.map((ax) => normAxis("transpose", ax, a.aval.shape)));
}

/**
 * Moves axis `src` to position `dst` (or several axes, given as equal-length lists), keeping
 * the order of the others.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert.deepEqual(np.moveaxis(np.zeros([2, 3, 4]), 0, -1).shape, [3, 4, 2]);
 * ```
 */
export function moveaxis(x: ArrayLike, src: number | number[], dst: number | number[]): Array {
  const a = asArray(x);
  const [s, d] = [toList(src), toList(dst)];
  if (s.length !== d.length) {
    throw new Error(`moveaxis: ${s.length} source axes but ${d.length} destinations; pass lists of equal length`);
  }
  normAxes("moveaxis", s, a.aval.shape);
  normAxes("moveaxis", d, a.aval.shape);
  const from = s.map((v) => normAxis("moveaxis", v, a.aval.shape));
  const to = d.map((v) => normAxis("moveaxis", v, a.aval.shape));
  const perm = range(a.ndim).filter((i) => !from.includes(i));
  [...to.keys()].sort((i, j) => to[i] - to[j]).forEach((k) => perm.splice(to[k], 0, from[k]));
  return transposeP(a, perm);
}
const toList = (v: number | number[]): number[] => (typeof v === "number" ? [v] : v);

/** Swaps two axes. */
export function swapaxes(x: ArrayLike, a1: number, a2: number): Array {
  const a = asArray(x);
  const perm = range(a.ndim);
  const [i, j] = [normAxis("swapaxes", a1, a.aval.shape), normAxis("swapaxes", a2, a.aval.shape)];
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return transposeP(a, perm);
}

/**
 * Inserts a size-1 axis at `axis` (or at each of several positions of the result, as in `jnp`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert.deepEqual(np.expandDims(np.zeros([3, 4]), -1).shape, [3, 4, 1]);
 * assert.deepEqual(np.expandDims(np.zeros([3]), [0, 2]).shape, [1, 3, 1]);
 * ```
 */
export function expandDims(x: ArrayLike, axis: number | number[]): Array {
  const a = asArray(x);
  const n = toList(axis).length;
  const outRank = a.ndim + n;
  const axes = n === 1
    ? [normNewAxis("expandDims", toList(axis)[0], a.aval.shape)]
    : normAxes("expandDims", axis, outRank);
  const s = [...a.aval.shape];
  for (const ax of axes) s.splice(ax, 0, 1);
  return reshapeP(a, s);
}
/** Removes size-1 axes (all of them, or those named). */
export function squeeze(x: ArrayLike, axis?: number | number[]): Array {
  const a = asArray(x);
  const axes = axis === undefined
    ? range(a.ndim).filter((i) => a.aval.shape[i] === 1)
    : normAxes("squeeze", axis, a.aval.shape);
  for (const ax of axes) {
    if (a.aval.shape[ax] !== 1) {
      throw new Error(
        `squeeze: axis ${ax} of ${fmt(a.aval.shape)} has size ${a.aval.shape[ax]}, not 1; name only size-1 axes`,
      );
    }
  }
  return reshapeP(a, a.aval.shape.filter((_, i) => !axes.includes(i)));
}
/** Broadcasts to `shape` (numpy rules). */
export function broadcastTo(x: ArrayLike, shape: number[]): Array {
  return bcast(asArray(x), checkShape("broadcastTo", shape));
}

/**
 * Joins arrays along an existing axis.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const c = np.concatenate([np.ones([2, 1]), np.zeros([2, 2])], 1);
 * assert(JSON.stringify(c.shape) === "[2,3]");
 * ```
 */
export function concatenate(xs: ArrayLike[], axis = 0): Array {
  if (xs.length === 0) throw new Error("concatenate: needs at least one array");
  const arrs = promoteArgs(...xs);
  const ax = normAxis("concatenate", axis, arrs[0].aval.shape);
  return arrs.length === 1 ? arrs[0] : bind1("concatenate", arrs, { axis: ax });
}
/** Joins arrays along a new axis. */
export function stack(xs: ArrayLike[], axis = 0): Array {
  if (xs.length === 0) throw new Error("stack: needs at least one array");
  const arrs = promoteArgs(...xs);
  const ax = normNewAxis("stack", axis, arrs[0].aval.shape);
  return concatenate(arrs.map((a) => expandDims(a, ax)), ax);
}

/**
 * Static slice `start:stop:step` along one axis, like `a[..., start:stop:step, ...]`: a
 * negative `axis`, `start` or `stop` counts from the end, and the bounds are clamped.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const x = np.arange(12).reshape(3, 4);
 * assert.deepEqual(await np.sliceAxis(x, -1, 0, 2).tolist(), [[0, 1], [4, 5], [8, 9]]);
 * ```
 */
export function sliceAxis(a: Array, axis: number, start: number, stop: number, step = 1): Array {
  const ax = normAxis("sliceAxis", axis, a.aval.shape);
  if (!Number.isInteger(step) || step < 1) {
    throw new RangeError(`sliceAxis: step ${step} must be a positive integer; flip the array for a reversed slice`);
  }
  const n = a.aval.shape[ax];
  const bound = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const st = a.aval.shape.map(() => 0);
  const lim = [...a.aval.shape];
  const strides = st.map(() => 1);
  st[ax] = bound(start);
  lim[ax] = Math.max(st[ax], bound(stop));
  strides[ax] = step;
  return bind1("slice", [a], { start: st, limit: lim, strides });
}

/** Splits into `n` equal parts or at the given indices along `axis`. */
export function split(x: ArrayLike, sections: number | number[], axis = 0): Array[] {
  const a = asArray(x);
  const ax = normAxis("split", axis, a.aval.shape);
  const n = a.aval.shape[ax];
  let cuts: number[];
  if (typeof sections === "number") {
    if (n % sections) {
      throw new Error(`split: axis ${ax} of ${fmt(a.aval.shape)} does not divide into ${sections} equal parts`);
    }
    cuts = range(sections - 1).map((i) => ((i + 1) * n) / sections);
  } else cuts = sections;
  const bounds = [0, ...cuts.map((c) => Math.min(Math.max(c, 0), n)), n];
  return bounds.slice(1).map((hi, i) => sliceAxis(a, ax, bounds[i], Math.max(bounds[i], hi)));
}

/** Repeats the whole array `reps` times along each axis. */
export function tile(x: ArrayLike, reps: number | number[]): Array {
  let a = asArray(x);
  const r = typeof reps === "number" ? [reps] : reps;
  while (a.ndim < r.length) a = expandDims(a, 0);
  const rr = [...a.aval.shape.slice(0, a.ndim - r.length).map(() => 1), ...r];
  const shape = a.aval.shape;
  const big = broadcastInDim(a, rr.flatMap((k, i) => [k, shape[i]]), range(a.ndim).map((i) => 2 * i + 1));
  return reshapeP(big, shape.map((n, i) => n * rr[i]));
}
/** Repeats each element `repeats` times along `axis` (flattened when omitted). */
export function repeat(x: ArrayLike, repeats: number, axis?: number): Array {
  let a = asArray(x);
  if (axis === undefined) a = ravel(a);
  const ax = normAxis("repeat", axis ?? 0, a.aval.shape);
  const s = [...a.aval.shape];
  const big = broadcastInDim(
    a,
    [...s.slice(0, ax + 1), repeats, ...s.slice(ax + 1)],
    range(a.ndim).map((i) => (i <= ax ? i : i + 1)),
  );
  s[ax] *= repeats;
  return reshapeP(big, s);
}

/** Options of `pad`. */
export interface PadOptions {
  /** The fill value (default 0). */
  constantValue?: number;
}
/** Pads with a constant: `width` is `n`, `[lo, hi]`, or one `[lo, hi]` per axis. */
export function pad(x: ArrayLike, width: number | [number, number] | [number, number][], opts: PadOptions = {}): Array {
  const a = asArray(x);
  const w: [number, number][] = typeof width === "number"
    ? a.aval.shape.map(() => [width, width])
    : typeof width[0] === "number"
    ? a.aval.shape.map(() => width as [number, number])
    : (width as [number, number][]);
  if (w.length !== a.ndim) throw new Error(`pad: ${w.length} pad widths for rank ${a.ndim}`);
  const v = convert(asArray(opts.constantValue ?? 0, a.dtype), a.dtype);
  return bind1("pad", [a, v], { lo: w.map((p) => p[0]), hi: w.map((p) => p[1]), interior: w.map(() => 0) });
}
/** Reverses the order of elements along axes (all when omitted). */
export function flip(x: ArrayLike, axis?: number | number[]): Array {
  const a = asArray(x);
  return bind1("rev", [a], { axes: normAxes("flip", axis ?? null, a.aval.shape) });
}

/**
 * Takes elements by integer index along `axis` (of the flattened array when omitted);
 * negative indices count from the end, out-of-range ones are clamped.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const t = np.take(np.array([10, 20, 30]), np.array([2, -1, 0], { dtype: "int32" }));
 * assert(JSON.stringify(await t.tolist()) === "[30,30,10]");
 * ```
 */
export function take(x: ArrayLike, indices: ArrayLike, axis?: number): Array {
  let a = asArray(x);
  if (axis === undefined) a = ravel(a);
  const ax = normAxis("take", axis ?? 0, a.aval.shape);
  let idx = asArray(indices, "int32");
  if (idx.dtype !== "int32") idx = convert(idx, "int32");
  const n = a.aval.shape[ax];
  idx = where(less(idx, 0), add(idx, n), idx);
  return bind1("gather", [a, idx], { axis: ax });
}
