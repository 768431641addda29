/**
 * Shape helpers: sizes, strides, broadcasting and axis normalisation.
 * @module
 */

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Formats a shape as `[2,3]` for error messages. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** True when two shapes are equal. */
export function shapeEq(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The numpy broadcast of several shapes, or an error naming `op` and the shapes. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = nd - s.length + i;
      const d = s[i];
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new Error(
          `${op}: shapes ${shapes.map(fmt).join(" and ")} do not broadcast (axis ${j - nd}: ${out[j]} vs ${d}); ` +
            `reshape one operand so each axis matches or is 1`,
        );
      }
    }
  }
  return out;
}

/**
 * The one axis normaliser of wax (every op that takes an axis calls it, as `jnp` does): an
 * axis of an array of `shape` (or of a rank, when only that is known) in `-rank..rank-1`,
 * negative ones counting from the end, becomes `0..rank-1`; anything else is an error that
 * names `op`, the rank, the shape and the valid range.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { normAxis } from "./shape.ts";
 * assert.equal(normAxis("sum", -1, [3, 4]), 1);
 * assert.throws(() => normAxis("sum", 3, [3, 4]), /sum: axis 3 is out of range for an array of rank 2 \(shape \[3,4\]\); use -2..1/);
 * ```
 */
export function normAxis(op: string, axis: number, shape: number | readonly number[]): number {
  return checkAxis(op, axis, shape, 0);
}

/**
 * `normAxis` for the position of a new axis inserted into an array of `shape` (`expandDims`,
 * `stack`): the range is `-(rank+1)..rank`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { normNewAxis } from "./shape.ts";
 * assert.equal(normNewAxis("expandDims", -1, [3, 4]), 2);
 * ```
 */
export function normNewAxis(op: string, axis: number, shape: number | readonly number[]): number {
  return checkAxis(op, axis, shape, 1);
}

function checkAxis(op: string, axis: number, shape: number | readonly number[], extra: number): number {
  const rank = typeof shape === "number" ? shape : shape.length;
  const n = rank + extra;
  if (typeof axis === "number" && Number.isInteger(axis) && axis >= -n && axis < n) return axis < 0 ? axis + n : axis;
  const of = `${extra ? "a new axis of " : ""}an array of rank ${rank}${
    typeof shape === "number" ? "" : ` (shape ${fmt(shape)})`
  }`;
  const use = n ? `use ${-n}..${n - 1}` : "it has no axes";
  if (typeof axis !== "number" || !Number.isInteger(axis)) {
    const got = typeof axis === "string" ? JSON.stringify(axis) : String(axis);
    throw new TypeError(`${op}: axis ${got} is not an integer; for ${of}, ${use}`);
  }
  throw new RangeError(`${op}: axis ${axis} is out of range for ${of}; ${use}`);
}

/**
 * Normalises `axis` (a number, a list, or null/undefined for all) of an array of `shape` into
 * sorted axes, each checked by `normAxis`; an axis named twice is an error, as in `jnp`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { normAxes } from "./shape.ts";
 * assert.deepEqual(normAxes("sum", [-1, 0], [2, 3, 4]), [0, 2]);
 * assert.throws(() => normAxes("sum", [0, -3], [2, 3, 4]), /sum: axis -3 repeats axis 0/);
 * ```
 */
export function normAxes(
  op: string,
  axis: number | readonly number[] | null | undefined,
  shape: number | readonly number[],
): number[] {
  const rank = typeof shape === "number" ? shape : shape.length;
  if (axis === null || axis === undefined) return [...Array(rank).keys()];
  const list = Array.isArray(axis) ? axis : [axis as number];
  const out: number[] = [];
  list.forEach((a, i) => {
    const ax = normAxis(op, a, shape);
    const j = out.indexOf(ax);
    if (j >= 0) {
      throw new Error(`${op}: axis ${a} repeats axis ${list[j]} in ${JSON.stringify(list)}; name each axis once`);
    }
    out[i] = ax;
  });
  return out.sort((a, b) => a - b);
}

/**
 * Checks a shape a user passed is a list of non-negative integers (with `inferOne`, one `-1`
 * may stand for the size that fills the array, as in `reshape`), with an error naming `op`,
 * the shape and the bad dimension.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkShape } from "./shape.ts";
 * assert.deepEqual(checkShape("zeros", [2, 3]), [2, 3]);
 * assert.throws(() => checkShape("zeros", [-3]), /zeros: shape \[-3\] has dimension -3 at axis 0/);
 * ```
 */
export function checkShape(op: string, shape: readonly number[], inferOne = false): number[] {
  if (!Array.isArray(shape)) {
    const got = typeof shape === "number" ? `the number ${shape} (write [${shape}])` : describe(shape);
    throw new TypeError(`${op}: shape must be a list of non-negative integers, got ${got}`);
  }
  const what = inferOne
    ? "non-negative integers (or one -1 for the size that fills the array)"
    : "non-negative integers";
  shape.forEach((d, i) => {
    if (Number.isInteger(d) && (d >= 0 || (inferOne && d === -1))) return;
    throw new TypeError(
      `${op}: shape ${fmtAny(shape)} has dimension ${describe(d)} at axis ${i}; dimensions must be ${what}`,
    );
  });
  if (inferOne && shape.filter((d) => d === -1).length > 1) {
    throw new TypeError(`${op}: shape ${fmt(shape)} has more than one -1; at most one size can be inferred`);
  }
  return [...shape];
}

/** A short description of any value for an error message. */
function describe(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint" || x == null) return String(x);
  if (Array.isArray(x)) return fmtAny(x);
  return typeof x === "function" ? "a function" : `an object (${(x as object).constructor?.name ?? "no prototype"})`;
}
const fmtAny = (xs: readonly unknown[]) =>
  `[${xs.map((x) => (typeof x === "string" ? JSON.stringify(x) : String(x))).join(",")}]`;

/** The inverse of a permutation. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** `[0, 1, ..., n-1]`. */
export function range(n: number): number[] {
  return [...globalThis.Array(n).keys()];
}

/** Offset and strides that read a row-major array of `shape` reversed along `axes`. */
export function reversedView(shape: readonly number[], axes: readonly number[]): { offset: number; strides: number[] } {
  let offset = 0;
  const strides = stridesOf(shape).map((s, d) => {
    if (!axes.includes(d)) return s;
    offset += (shape[d] - 1) * s;
    return -s;
  });
  return { offset: sizeOf(shape) === 0 ? 0 : offset, strides };
}

/**
 * A strided index space with size-1 axes dropped and adjacent axes merged where the outer
 * stride is the inner one times its size (same iteration order, fewer axes).
 */
export function mergeAxes(shape: readonly number[], strides: readonly number[]): [number[], number[]] {
  const sh: number[] = [], st: number[] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const k = sh.length - 1;
    if (k >= 0 && st[k] === strides[d] * n) {
      sh[k] *= n;
      st[k] = strides[d];
    } else {
      sh.push(n);
      st.push(strides[d]);
    }
  });
  return [sh, st];
}
