/**
 * `x.at(...)`: NumPy/JAX indexing with integers, slices, new axes, `...` and integer index
 * arrays, read with `get()` or updated on a copy with `set/add/mul/min/max` (JAX's
 * `x.at[...]`). Reads lower to `slice`/`rev` and `gather`; updates of a box (unit steps, static
 * or traced scalar indices) to `dynamicUpdateSlice`, others to `scatterAdd` at flat indices.
 * Everything is made of primitives, so it differentiates and batches like any other op.
 * @module
 */
import { Array, type At, type Index, type IndexList, type Operand, type Slice } from "./array.ts";
import type { DType } from "./dtype.ts";
import { broadcastShapes, fmt, range, sizeOf } from "./shape.ts";
import { bind1, broadcastInDim, convert } from "./primitives/ops.ts";
import { asArray } from "./np/util.ts";
import { broadcastTo, concatenate, flip, reshape, take, transpose } from "./np/shape_ops.ts";
import { add, equal, greater, less, logicalAnd, logicalNot, maximum, minimum, multiply, where } from "./np/math.ts";
import { any, max as reduceMax, min as reduceMin, prod } from "./np/reduce.ts";
import { array, zeros } from "./np/creation.ts";
import { dynamicSlice, dynamicUpdateSlice, slice as sliceP } from "./lax.ts";

/** One parsed entry, bound to the axis of `x` it reads (`new` reads none). */
type Entry =
  | { kind: "int"; axis: number; i: number }
  | { kind: "slice"; axis: number; start: number; step: number; len: number }
  | { kind: "new" }
  | { kind: "array"; axis: number; idx: Array; isStatic: boolean };

const ELLIPSIS = "...";
const where_ = (op: string, shape: readonly number[]) => `${op}: indexing an array of shape ${fmt(shape)}`;

/** `"1:-1:2"` as a slice (empty parts are defaults). */
function parseSlice(s: string, op: string): Slice {
  const parts = s.split(":");
  const num = (p: string) => {
    const t = p.trim();
    if (t === "") return null;
    if (!/^[+-]?\d+$/.test(t)) {
      throw new TypeError(`${op}: "${s}" is not a slice; write "start:stop:step" with integers`);
    }
    return Number(t);
  };
  if (parts.length < 2 || parts.length > 3) {
    throw new TypeError(
      `${op}: the string index "${s}" is not a slice; use "start:stop:step" (e.g. ":", "1:3", "::-1"), ` +
        `"..." or a number`,
    );
  }
  return { start: num(parts[0]), stop: num(parts[1]), step: parts.length === 3 ? num(parts[2]) : null };
}

/** Python's `slice.indices`: the first index, the step and the number of elements on an axis of length `n`. */
function sliceIndices(sl: Slice, n: number, op: string): { start: number; step: number; len: number } {
  const step = sl.step ?? 1;
  if (!Number.isInteger(step) || step === 0) {
    throw new RangeError(`${op}: slice step ${step} must be a nonzero integer`);
  }
  for (const v of [sl.start, sl.stop]) {
    if (v !== null && v !== undefined && !Number.isInteger(v)) {
      throw new TypeError(`${op}: slice bounds must be integers, got ${v}`);
    }
  }
  const norm = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
  const [lo, hi] = step > 0 ? [0, n] : [-1, n - 1];
  const start = sl.start === null || sl.start === undefined ? (step > 0 ? 0 : n - 1) : norm(sl.start, lo, hi);
  const stop = sl.stop === null || sl.stop === undefined ? (step > 0 ? n : -1) : norm(sl.stop, lo, hi);
  const len = Math.max(0, Math.ceil((stop - start) / step));
  return { start, step, len };
}

/** The nested list's values and shape, checked to be integers in range for an axis of length `n`. */
function listIndex(list: IndexList, n: number, op: string, shape: readonly number[], axis: number): Array {
  const flat: number[] = [];
  const dims: number[] = [];
  const walk = (l: unknown, depth: number) => {
    if (!globalThis.Array.isArray(l)) {
      if (typeof l !== "number" || !Number.isInteger(l)) {
        throw new TypeError(`${op}: index lists hold integers, got ${JSON.stringify(l)}`);
      }
      return void flat.push(checkInt(l, n, op, shape, axis));
    }
    if (dims.length === depth) dims.push(l.length);
    else if (dims[depth] !== l.length) throw new Error(`${op}: the index list ${JSON.stringify(list)} is ragged`);
    l.forEach((x) => walk(x, depth + 1));
  };
  walk(list, 0);
  return array(Int32Array.from(flat), { shape: dims, dtype: "int32" });
}

/** A static integer index, normalised; out of range is an error naming the axis and shape. */
function checkInt(i: number, n: number, op: string, shape: readonly number[], axis: number): number {
  if (!Number.isInteger(i)) throw new TypeError(`${where_(op, shape)}: index ${i} is not an integer`);
  if (i < -n || i >= n) {
    throw new RangeError(
      `${where_(op, shape)}: index ${i} is out of bounds for axis ${axis} of size ${n}; ` +
        (n ? `valid indices are ${-n}..${n - 1}` : "the axis is empty"),
    );
  }
  return i < 0 ? i + n : i;
}

/** Binds each entry of `indices` to an axis of an array of `shape` (expanding `...`). */
function parse(shape: readonly number[], indices: readonly Index[], op: string): Entry[] {
  const isEllipsis = (e: Index) => e === ELLIPSIS;
  const nEll = indices.filter(isEllipsis).length;
  if (nEll > 1) throw new Error(`${where_(op, shape)}: at most one "..." is allowed`);
  const consuming = indices.filter((e) => e !== null && !isEllipsis(e)).length;
  if (consuming > shape.length) {
    throw new RangeError(`${where_(op, shape)}: too many indices (${consuming}) for ${shape.length} axes`);
  }
  const full = [...indices];
  const fill = Array_repeat<Index>(":", shape.length - consuming);
  const at = full.findIndex(isEllipsis);
  if (at >= 0) full.splice(at, 1, ...fill);
  else full.push(...fill);
  let axis = 0;
  const entries = full.map((e): Entry => {
    if (e === null) return { kind: "new" };
    const ax = axis++;
    const n = shape[ax];
    if (typeof e === "number") return { kind: "int", axis: ax, i: checkInt(e, n, op, shape, ax) };
    if (typeof e === "string") return { kind: "slice", axis: ax, ...sliceIndices(parseSlice(e, op), n, op) };
    if (e instanceof Array) return { kind: "array", axis: ax, idx: intIndex(e, n, op, shape), isStatic: false };
    if (globalThis.Array.isArray(e)) {
      return { kind: "array", axis: ax, idx: listIndex(e, n, op, shape, ax), isStatic: true };
    }
    if (typeof e === "object") return { kind: "slice", axis: ax, ...sliceIndices(e as Slice, n, op) };
    throw new TypeError(`${where_(op, shape)}: unsupported index ${String(e)}`);
  });
  // With index arrays present, integers index like 0-d arrays (NumPy's advanced indexing).
  if (!entries.some((e) => e.kind === "array")) return entries;
  return entries.map((e) =>
    e.kind === "int" ? { kind: "array", axis: e.axis, idx: array(e.i, { dtype: "int32" }), isStatic: true } : e
  );
}
const Array_repeat = <T>(x: T, n: number): T[] => globalThis.Array.from({ length: n }, () => x);

/** A traced or concrete integer array index: int32 with negative entries counted from the end. */
function intIndex(a: Array, n: number, op: string, shape: readonly number[]): Array {
  if (a.dtype === "bool") {
    throw new TypeError(
      `${where_(op, shape)}: boolean mask indices select a data-dependent number of elements; ` +
        `use np.where(mask, value, x) to update where a mask holds`,
    );
  }
  if (a.dtype === "float32") {
    throw new TypeError(`${where_(op, shape)}: index arrays must be integers; astype("int32")`);
  }
  const i = a.dtype === "int32" ? a : convert(a, "int32");
  return where(less(i, 0), add(i, n), i);
}

/** Whether the index arrays sit next to each other (their result axes then stay in place, else go first). */
function adjacentArrays(entries: readonly Entry[]): boolean {
  const pos = entries.flatMap((e, k) => (e.kind === "array" ? [k] : []));
  return pos.every((p, k) => k === 0 || p === pos[k - 1] + 1);
}

/**
 * The layout of `x[idx]`: the shape of the gathered array `z` (`[...B, ...slices]`, `B` the
 * broadcast shape of the index arrays) and how its axes and the new axes order into the result.
 */
function layout(entries: readonly Entry[]) {
  const arrays = entries.filter((e) => e.kind === "array");
  const B = arrays.length ? broadcastShapes("at", ...arrays.map((e) => e.idx.aval.shape)) : [];
  const slices = entries.filter((e) => e.kind === "slice");
  const zShape = [...B, ...slices.map((e) => e.len)];
  // Result tokens: z axes (numbers) and new axes (-1), in output order.
  const tokens: number[] = [];
  const group = range(B.length);
  const front = arrays.length > 0 && !adjacentArrays(entries);
  if (front) tokens.push(...group);
  let s = B.length;
  let placed = front;
  for (const e of entries) {
    if (e.kind === "new") tokens.push(-1);
    else if (e.kind === "slice") tokens.push(s++);
    else if (e.kind === "array" && !placed) {
      tokens.push(...group);
      placed = true;
    }
  }
  const perm = tokens.filter((t) => t >= 0);
  const outShape = tokens.map((t) => (t < 0 ? 1 : zShape[t]));
  return { B, zShape, perm, outShape };
}

/** Moves the gathered `z` into the result order and inserts the new axes. */
function arrange(z: Array, perm: readonly number[], outShape: readonly number[]): Array {
  const t = perm.every((p, i) => p === i) ? z : transpose(z, [...perm]);
  return reshape(t, [...outShape]);
}

/** The merged index into the index-array axes (row-major over them), each clamped into its axis. */
function mergedIndex(x: Array, entries: readonly Entry[], B: readonly number[], clampTo: boolean): Array {
  let m: Array | null = null;
  for (const e of entries) {
    if (e.kind !== "array") continue;
    const n = x.aval.shape[e.axis];
    const i = broadcastTo(clampTo ? minimum(maximum(e.idx, 0), Math.max(n - 1, 0)) : e.idx, [...B]);
    m = m ? add(multiply(m, n), i) : i;
  }
  return m!;
}

/** `x[idx]`. */
function get(x: Array, entries: readonly Entry[]): Array {
  const nd = x.ndim;
  const start = range(nd).map(() => 0);
  const limit = [...x.aval.shape];
  const strides = range(nd).map(() => 1);
  const rev: number[] = [];
  for (const e of entries) {
    if (e.kind === "int") [start[e.axis], limit[e.axis]] = [e.i, e.i + 1];
    if (e.kind !== "slice") continue;
    const n = x.aval.shape[e.axis];
    const s0 = e.step > 0 ? e.start : n - 1 - e.start;
    if (e.step < 0) rev.push(e.axis);
    [start[e.axis], strides[e.axis]] = [e.len ? s0 : 0, Math.abs(e.step)];
    limit[e.axis] = e.len ? s0 + (e.len - 1) * Math.abs(e.step) + 1 : 0;
  }
  let y = rev.length ? flip(x, rev) : x;
  const trivial = start.every((v) => v === 0) && limit.every((v, i) => v === x.aval.shape[i]) &&
    strides.every((v) => v === 1);
  if (!trivial) y = sliceP(y, start, limit, strides);
  const { B, zShape, perm, outShape } = layout(entries);
  let z: Array;
  const arrays = entries.filter((e) => e.kind === "array");
  if (arrays.length) {
    const first = arrays.map((e) => e.axis);
    const rest = range(nd).filter((a) => !first.includes(a));
    const moved = transpose(y, [...first, ...rest]);
    const merged = reshape(moved, [sizeOf(first.map((a) => y.aval.shape[a])), ...rest.map((a) => y.aval.shape[a])]);
    z = take(merged, mergedIndex(y, entries, B, true), 0);
  } else z = reshape(y, zShape);
  return arrange(z, perm, outShape);
}

type Combine = "set" | "add" | "mul" | "min" | "max";
const combine = (how: Combine, old: Array, v: Array): Array =>
  how === "set"
    ? v
    : how === "add"
    ? add(old, v)
    : how === "mul"
    ? multiply(old, v)
    : how === "min"
    ? minimum(old, v)
    : maximum(old, v);

/** The update `v` broadcast to the indexed shape and laid out as `z` (`[...B, ...slices]`). */
function updateInZ(v: Operand, entries: readonly Entry[], dtype: DType): Array {
  const { zShape, perm, outShape } = layout(entries);
  let u = asArray(v, dtype);
  if (u.dtype !== dtype) u = convert(u, dtype);
  const full = broadcastTo(u, [...outShape]);
  const inv = perm.map((_, i) => perm.indexOf(i));
  const noNew = reshape(full, perm.map((p) => zShape[p]));
  return inv.every((p, i) => p === i) ? noNew : transpose(noNew, inv);
}

/** Updates of a box (unit-step slices, integers and scalar index arrays): one `dynamicUpdateSlice`. */
function updateBox(x: Array, entries: readonly Entry[], u: Array, how: Combine): Array {
  const sizes = [...x.aval.shape];
  const starts: (number | Array)[] = range(x.ndim).map(() => 0);
  let valid: Array | null = null;
  for (const e of entries) {
    if (e.kind === "new") continue;
    if (e.kind === "slice") [starts[e.axis], sizes[e.axis]] = [e.start, e.len];
    else if (e.kind === "int") [starts[e.axis], sizes[e.axis]] = [e.i, 1];
    else {
      const n = x.aval.shape[e.axis];
      [starts[e.axis], sizes[e.axis]] = [e.idx, 1];
      if (!e.isStatic) {
        const ok = logicalAnd(greater(e.idx, -1), less(e.idx, n));
        valid = valid ? logicalAnd(valid, ok) : ok;
      }
    }
  }
  if (sizes.some((n) => n === 0)) return x;
  const box = reshape(u, sizes);
  const next = how === "set" ? box : combine(how, dynamicSlice(x, starts, sizes), box);
  const out = dynamicUpdateSlice(x, next, starts);
  return valid ? where(valid, out, x) : out;
}

/** Updates at flat indices with `scatterAdd`; repeated index-array entries combine, the last `set` wins. */
function updateScatter(x: Array, entries: readonly Entry[], u: Array, how: Combine): Array {
  const { B, zShape } = layout(entries);
  const shape = x.aval.shape;
  if (sizeOf(zShape) === 0) return x;
  const strides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  const nB = B.length;
  const iota = (axis: number) => bind1("iota", [], { shape: zShape, dtype: "int32", dimension: axis });
  // The flat index of each element of z, and whether its index-array entries are in range.
  let flatIdx: Array = zeros([...zShape], { dtype: "int32" });
  let valid: Array | null = null;
  let s = nB;
  for (const e of entries) {
    if (e.kind === "new") continue;
    let coord: Array | number;
    if (e.kind === "int") coord = e.i;
    else if (e.kind === "slice") coord = add(multiply(iota(s++), e.step), e.start);
    else {
      const n = shape[e.axis];
      const i = broadcastInDim(broadcastTo(e.idx, [...B]), zShape, range(nB));
      if (!e.isStatic) {
        const ok = logicalAnd(greater(i, -1), less(i, n));
        valid = valid ? logicalAnd(valid, ok) : ok;
      }
      coord = minimum(maximum(i, 0), Math.max(n - 1, 0));
    }
    flatIdx = add(flatIdx, multiply(coord, strides[e.axis]));
  }
  const size = sizeOf(zShape);
  const flatX = reshape(x, [sizeOf(shape)]);
  const idx = reshape(flatIdx, [size]);
  let keep: Array | null = valid ? reshape(valid, [size]) : null;
  let vals = reshape(u, [size]);
  if (nB > 0 && how !== "add") {
    // Entries of z that share a target differ only in their B position: combine over those.
    const k = sizeOf(B);
    const m = reshape(mergedIndex(x, entries, B, true), [k]);
    const okB = valid ? reshape(any(reshape(valid, [k, -1]), { axis: 1 }), [k]) : null;
    let same = equal(reshape(m, [k, 1]), reshape(m, [1, k]));
    if (okB) same = logicalAnd(same, logicalAnd(reshape(okB, [k, 1]), reshape(okB, [1, k])));
    const later = less(
      bind1("iota", [], { shape: [k, k], dtype: "int32", dimension: 0 }),
      bind1("iota", [], { shape: [k, k], dtype: "int32", dimension: 1 }),
    );
    const last = logicalNot(any(logicalAnd(same, later), { axis: 1 })); // [k]
    const lastZ = reshape(broadcastTo(reshape(last, [k, 1]), [k, size / k]), [size]);
    keep = keep ? logicalAnd(keep, lastZ) : lastZ;
    if (how !== "set") {
      const v2 = reshape(vals, [k, size / k]);
      const sameR = broadcastTo(reshape(same, [k, k, 1]), [k, k, size / k]);
      const pick = where(sameR, reshape(v2, [1, k, size / k]), how === "mul" ? 1 : reshape(v2, [k, 1, size / k]));
      const red = how === "mul" ? prod(pick, { axis: 1 }) : how === "min" ? reduceMin(pick, { axis: 1 }) : reduceMax(
        pick,
        { axis: 1 },
      );
      vals = reshape(red, [size]);
    }
  }
  const zero = zeros([sizeOf(shape)], { dtype: x.dtype });
  const masked = keep ? where(keep, vals, 0) : vals;
  if (how === "add") return reshape(bind1("scatterAdd", [flatX, idx, masked], { axis: 0 }), [...shape]);
  const scattered = bind1("scatterAdd", [zero, idx, masked], { axis: 0 });
  const ones = keep ? where(keep, 1, 0) : broadcastTo(array(1, { dtype: "int32" }), [size]);
  const hit = greater(bind1("scatterAdd", [zeros([sizeOf(shape)], { dtype: "int32" }), idx, ones], { axis: 0 }), 0);
  return reshape(where(hit, combine(how, flatX, scattered), flatX), [...shape]);
}

/** Whether the update adds at one index array on the first axis, every other axis whole (`x.at(idx).add(u)`). */
const rowsAdd = (entries: readonly Entry[], how: Combine, shape: readonly number[]) =>
  how === "add" && entries[0]?.kind === "array" &&
  entries.slice(1).every((e) => e.kind === "slice" && e.start === 0 && e.step === 1 && e.len === shape[e.axis]);

/**
 * `x.at(idx).add(u)` as one `scatterAdd` of whole rows along axis 0 (the update `u` is already
 * `[...idx.shape, ...rest]`). Rows at out-of-range traced indices add nothing: they are zeroed,
 * or, when `u` is the larger, sent to a spare row of `x` that is then cut off.
 */
function addRows(x: Array, e: Extract<Entry, { kind: "array" }>, u: Array): Array {
  const [n, ...rest] = x.aval.shape;
  if (e.isStatic || n === 0) return bind1("scatterAdd", [x, e.idx, u], { axis: 0 });
  const ok = logicalAnd(greater(e.idx, -1), less(e.idx, n));
  if (u.size <= x.size) {
    const rows = reshape(ok, [...e.idx.aval.shape, ...rest.map(() => 1)]);
    return bind1("scatterAdd", [x, e.idx, where(rows, u, 0)], { axis: 0 });
  }
  const spare = concatenate([x, zeros([1, ...rest], { dtype: x.dtype })], 0);
  const added = bind1("scatterAdd", [spare, where(ok, e.idx, n), u], { axis: 0 });
  return sliceP(added, [0, ...rest.map(() => 0)], [n, ...rest]);
}

/** The update `how` of `x` at the parsed index with `v`. */
function update(x: Array, entries: readonly Entry[], v: Operand, how: Combine): Array {
  // bool arrays update through int32 (scatterAdd sums).
  const work = x.dtype === "bool" ? convert(x, "int32") : x;
  const u = updateInZ(v, entries, work.dtype);
  const box = entries.every((e) =>
    e.kind === "new" || e.kind === "int" || (e.kind === "slice" && e.step === 1) ||
    (e.kind === "array" && e.idx.ndim === 0)
  );
  const out = box
    ? updateBox(work, entries, u, how)
    : rowsAdd(entries, how, work.aval.shape)
    ? addRows(work, entries[0] as Extract<Entry, { kind: "array" }>, u)
    : updateScatter(work, entries, u, how);
  return x.dtype === "bool" ? convert(out, "bool") : out;
}

/**
 * `x.at(...indices)`: the indexed place of `x`, to read or update (see `Array.at`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { atIndex } from "./indexing.ts";
 * assert.deepEqual(await atIndex(np.arange(4), ["::-1"]).get().tolist(), [3, 2, 1, 0]);
 * ```
 */
export function atIndex(x: Array, indices: readonly Index[]): At {
  const entries = parse(x.aval.shape, indices, "at");
  return {
    get: () => get(x, entries),
    set: (v) => update(x, entries, v, "set"),
    add: (v) => update(x, entries, v, "add"),
    mul: (v) => update(x, entries, v, "mul"),
    min: (v) => update(x, entries, v, "min"),
    max: (v) => update(x, entries, v, "max"),
  };
}
