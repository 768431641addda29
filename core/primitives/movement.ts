/**
 * Movement primitives: reshape, broadcastInDim, transpose, slice, pad, concatenate, rev, iota.
 * All linear; their transposes move cotangents back.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import { fmt, invertPerm, range, sizeOf } from "../shape.ts";
import { moveBdim, shiftAxis } from "./batching.ts";
import { bind1, broadcastInDim, full, reduceSum, reshape, select, sub, transpose } from "./ops.ts";
import type { MovementParams } from "./params.ts";
import { type FamilyRules, LinearIn, type Rule, type Tangent, Zero } from "./types.ts";

/** The rule of a single-input primitive that is linear, given its transpose. */
function linear1<P>(
  name: keyof MovementParams,
  abstractEval: (a: Aval, p: P) => Aval,
  batch: (x: Array, d: number, p: P, size: number) => [Array, number],
  transposeCt: (ct: Array, a: Aval, p: P) => Array,
): Rule<P> {
  const apply = (x: Array, p: P) => bind1(name, [x], p as never);
  return {
    abstractEval: ([a], p) => [abstractEval(a, p)],
    jvp([x], [t], p) {
      const y = apply(x, p);
      return [[y], [t instanceof Zero ? new Zero(y.aval) : apply(t, p)]];
    },
    batch([x], [d], p, size) {
      const [y, dy] = batch(x, d as number, p, size);
      return [[y], [dy]];
    },
    transpose([ct], [x], p) {
      return [ct instanceof Zero ? null : transposeCt(ct, x.aval, p)];
    },
  };
}

/** Length of a padded axis. */
const padLen = (n: number, lo: number, hi: number, interior: number) => lo + hi + n + Math.max(0, n - 1) * interior;

function padRule(): Rule<MovementParams["pad"]> {
  return {
    abstractEval([a, v], { lo, hi, interior }) {
      if (v.shape.length !== 0 || v.dtype !== a.dtype) {
        throw new Error(`pad: padding value must be a scalar of dtype ${a.dtype}, got ${v.dtype}${fmt(v.shape)}`);
      }
      if (lo.length !== a.shape.length || hi.length !== a.shape.length || interior.length !== a.shape.length) {
        throw new Error(`pad: padding config has ${lo.length} entries for shape ${fmt(a.shape)}`);
      }
      const shape = a.shape.map((n, i) => padLen(n, lo[i], hi[i], interior[i]));
      if (shape.some((n) => n < 0) || interior.some((n) => n < 0)) {
        throw new Error(`pad: negative resulting size for ${fmt(a.shape)} with lo ${fmt(lo)} hi ${fmt(hi)}`);
      }
      return [{ shape, dtype: a.dtype }];
    },
    jvp([x, v], [tx, tv], p) {
      const y = bind1("pad", [x, v], p);
      if (tx instanceof Zero && tv instanceof Zero) return [[y], [new Zero(y.aval)]];
      const t0 = tx instanceof Zero ? full(x.aval, 0) : tx;
      const tvv = tv instanceof Zero ? full(v.aval, 0) : tv;
      return [[y], [bind1("pad", [t0, tvv], p)]];
    },
    batch([x, v], [dx, dv], p, size) {
      const xb = moveBdim(x, dx, 0, size);
      const q = { lo: [0, ...p.lo], hi: [0, ...p.hi], interior: [0, ...p.interior] };
      if (dv === null) return [[bind1("pad", [xb, v], q)], [0]];
      // A batched padding value: pad with zeros, then select the value where padding sits.
      const zero = full({ shape: [], dtype: v.dtype }, 0);
      const padded = bind1("pad", [xb, zero], q);
      const mask = bind1("pad", [
        full({ shape: xb.aval.shape, dtype: "bool" }, 1),
        full({ shape: [], dtype: "bool" }, 0),
      ], q);
      const vb = broadcastInDim(moveBdim(v, dv, 0, size), padded.aval.shape, [0]);
      return [[select(mask, padded, vb)], [0]];
    },
    transpose([ct], [x, v], { lo, hi, interior }) {
      if (ct instanceof Zero) return [null, null];
      const unpadded = bind1("pad", [ct, full({ shape: [], dtype: ct.dtype }, 0)], {
        lo: lo.map((n) => -n),
        hi: hi.map((n) => -n),
        interior: lo.map(() => 0),
      });
      const tx = bind1("slice", [unpadded], {
        start: lo.map(() => 0),
        limit: [...unpadded.aval.shape],
        strides: interior.map((n) => n + 1),
      });
      const total = (y: Array) => reduceSum(y, range(y.ndim));
      return [x instanceof LinearIn ? tx : null, v instanceof LinearIn ? sub(total(ct), total(tx)) : null];
    },
  };
}

function concatRule(): Rule<{ axis: number }> {
  return {
    abstractEval(avals, { axis }) {
      const [a] = avals;
      if (axis < 0 || axis >= a.shape.length) {
        throw new RangeError(`concatenate: axis ${axis} out of range for ${fmt(a.shape)}`);
      }
      for (const b of avals) {
        if (b.dtype !== a.dtype) {
          throw new TypeError(`concatenate: dtypes differ (${a.dtype} vs ${b.dtype}); cast first`);
        }
        if (b.shape.length !== a.shape.length || b.shape.some((n, i) => i !== axis && n !== a.shape[i])) {
          throw new Error(`concatenate: shapes ${avals.map((v) => fmt(v.shape)).join(", ")} differ off axis ${axis}`);
        }
      }
      const shape = [...a.shape];
      shape[axis] = avals.reduce((n, b) => n + b.shape[axis], 0);
      return [{ shape, dtype: a.dtype }];
    },
    jvp(xs, ts, p) {
      const y = bind1("concatenate", xs, p);
      const allZero = !ts.some((t) => !(t instanceof Zero));
      if (allZero) return [[y], [new Zero(y.aval)]];
      return [[y], [bind1("concatenate", ts.map((t, i) => (t instanceof Zero ? full(xs[i].aval, 0) : t)), p)]];
    },
    batch(xs, ds, { axis }, size) {
      return [[bind1("concatenate", xs.map((x, i) => moveBdim(x, ds[i], 0, size)), { axis: axis + 1 })], [0]];
    },
    transpose([ct], xs, { axis }) {
      let off = 0;
      return xs.map((x): Tangent | null => {
        const n = x.aval.shape[axis];
        off += n;
        if (!(x instanceof LinearIn) || ct instanceof Zero) return null;
        const start = ct.aval.shape.map(() => 0);
        const limit = [...ct.aval.shape];
        start[axis] = off - n;
        limit[axis] = off;
        return bind1("slice", [ct], { start, limit, strides: start.map(() => 1) });
      });
    },
  };
}

/** Rules of the movement primitives. */
export const movementRules: FamilyRules<MovementParams> = {
  reshape: linear1<{ shape: number[] }>(
    "reshape",
    (a, { shape }) => {
      if (sizeOf(shape) !== sizeOf(a.shape) || shape.some((n) => !Number.isInteger(n) || n < 0)) {
        throw new Error(`reshape: cannot reshape ${fmt(a.shape)} (${sizeOf(a.shape)} elements) into ${fmt(shape)}`);
      }
      return { shape, dtype: a.dtype };
    },
    (x, d, { shape }, size) => [reshape(moveBdim(x, d, 0, size), [size, ...shape]), 0],
    (ct, a) => reshape(ct, a.shape),
  ),
  broadcastInDim: linear1<{ shape: number[]; dims: number[] }>(
    "broadcastInDim",
    (a, { shape, dims }) => {
      const bad = dims.length !== a.shape.length ||
        dims.some((d, i) =>
          d < 0 || d >= shape.length || (a.shape[i] !== 1 && a.shape[i] !== shape[d]) || (i > 0 && d <= dims[i - 1])
        );
      if (bad) {
        throw new Error(`broadcastInDim: cannot broadcast ${fmt(a.shape)} into ${fmt(shape)} along dims ${fmt(dims)}`);
      }
      return { shape, dtype: a.dtype };
    },
    (
      x,
      d,
      { shape, dims },
      size,
    ) => [broadcastInDim(moveBdim(x, d, 0, size), [size, ...shape], [0, ...dims.map((i) => i + 1)]), 0],
    (ct, a, { shape, dims }) => {
      const axes = range(shape.length).filter((i) =>
        !dims.includes(i) || (a.shape[dims.indexOf(i)] === 1 && shape[i] !== 1)
      );
      return reshape(reduceSum(ct, axes), a.shape);
    },
  ),
  transpose: linear1<{ perm: number[] }>(
    "transpose",
    (a, { perm }) => {
      if (perm.length !== a.shape.length || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) {
        throw new Error(
          `transpose: ${fmt(perm)} is not a permutation of the ${a.shape.length} axes of ${fmt(a.shape)}`,
        );
      }
      return { shape: perm.map((p) => a.shape[p]), dtype: a.dtype };
    },
    (x, d, { perm }, size) => [transpose(moveBdim(x, d, 0, size), [0, ...perm.map((p) => p + 1)]), 0],
    (ct, _a, { perm }) => transpose(ct, invertPerm(perm)),
  ),
  slice: linear1<MovementParams["slice"]>(
    "slice",
    (a, { start, limit, strides }) => {
      const bad = start.length !== a.shape.length || limit.length !== a.shape.length ||
        start.some((s, i) => s < 0 || s > limit[i] || limit[i] > a.shape[i] || strides[i] < 1);
      if (bad) {
        throw new RangeError(
          `slice: start ${fmt(start)} limit ${fmt(limit)} strides ${fmt(strides)} invalid for ${fmt(a.shape)}`,
        );
      }
      return { shape: start.map((s, i) => Math.ceil((limit[i] - s) / strides[i])), dtype: a.dtype };
    },
    (x, d, { start, limit, strides }) => {
      const n = x.aval.shape[d];
      const ins = <T>(v: T[], e: T) => [...v.slice(0, d), e, ...v.slice(d)];
      return [bind1("slice", [x], { start: ins(start, 0), limit: ins(limit, n), strides: ins(strides, 1) }), d];
    },
    (ct, a, { start, strides }) => {
      const lo = start;
      const hi = a.shape.map((n, i) =>
        n - start[i] - (ct.aval.shape[i] === 0 ? 0 : (ct.aval.shape[i] - 1) * strides[i] + 1)
      );
      return bind1("pad", [ct, full({ shape: [], dtype: ct.dtype }, 0)], {
        lo,
        hi,
        interior: strides.map((s) => s - 1),
      });
    },
  ),
  pad: padRule(),
  concatenate: concatRule(),
  rev: linear1<{ axes: number[] }>(
    "rev",
    (a, { axes }) => {
      if (axes.some((ax) => ax < 0 || ax >= a.shape.length)) {
        throw new RangeError(`rev: axes ${fmt(axes)} out of range for ${fmt(a.shape)}`);
      }
      return a;
    },
    (x, d, { axes }) => [bind1("rev", [x], { axes: axes.map((a) => shiftAxis(a, d)) }), d],
    (ct, _a, p) => bind1("rev", [ct], p),
  ),
  iota: {
    abstractEval(_avals, { shape, dtype, dimension }) {
      if (dimension < 0 || dimension >= shape.length) {
        throw new RangeError(`iota: dimension ${dimension} out of range for ${fmt(shape)}`);
      }
      return [{ shape, dtype }];
    },
    jvp(_x, _t, p) {
      const y = bind1("iota", [], p);
      return [[y], [new Zero(y.aval)]];
    },
    batch(_x, _d, p) {
      return [[bind1("iota", [], p)], [null]];
    },
  },
};
