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

/** Normalises a possibly negative axis against `ndim`, with a clear error. */
export function normAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new RangeError(`${op}: axis ${axis} is out of range for an array of rank ${ndim}; use -${ndim}..${ndim - 1}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalises `axis` (a number, a list, or null for all) into sorted unique axes. */
export function normAxes(op: string, axis: number | readonly number[] | null | undefined, ndim: number): number[] {
  if (axis === null || axis === undefined) return [...Array(ndim).keys()];
  const list = typeof axis === "number" ? [axis] : axis;
  const out = list.map((a) => normAxis(op, a, ndim));
  if (new Set(out).size !== out.length) throw new Error(`${op}: repeated axis in ${JSON.stringify(list)}`);
  return out.sort((a, b) => a - b);
}

/** Checks a shape is a list of non-negative integers. */
export function checkShape(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(`${op}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return [...shape];
}

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
