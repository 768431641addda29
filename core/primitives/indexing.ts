/**
 * Indexing primitives: `gather`/`scatterAdd` along one axis (take and its transpose),
 * `dynamicSlice`/`dynamicUpdateSlice` with traced start indices (clamped like XLA).
 * @module
 */
import type { Array, Aval } from "../array.ts";
import { fmt, range } from "../shape.ts";
import { moveBdim } from "./batching.ts";
import { add, bind1, broadcastInDim, full, instantiate, mul, reshape, select, transpose, zeros } from "./ops.ts";
import type { IndexingParams } from "./params.ts";
import { type FamilyRules, LinearIn, Zero } from "./types.ts";

const gatherShape = (op: readonly number[], idx: readonly number[], axis: number) => [
  ...op.slice(0, axis),
  ...idx,
  ...op.slice(axis + 1),
];

function checkIndices(op: string, a: Aval) {
  if (a.dtype !== "int32") {
    throw new TypeError(`${op}: indices must be int32, got ${a.dtype}; cast with astype("int32")`);
  }
}

/** Gather along `axis` where operand and indices both carry a leading batch axis. */
function gatherBatched(x: Array, idx: Array, axis: number): Array {
  // x: [B, ...S] (axis counts within S); idx: [B, ...I]. Result: [B, ...S[:axis], ...I, ...S[axis+1:]].
  const B = x.aval.shape[0];
  const S = x.aval.shape.slice(1);
  const N = S[axis];
  const perm = [0, axis + 1, ...range(S.length).filter((i) => i !== axis).map((i) => i + 1)];
  const rest = S.filter((_, i) => i !== axis);
  const flat = reshape(transpose(x, perm), [B * N, ...rest]);
  const I = idx.aval.shape.slice(1);
  const offs = broadcastInDim(
    mul(bind1("iota", [], { shape: [B], dtype: "int32", dimension: 0 }), full({ shape: [B], dtype: "int32" }, N)),
    idx.aval.shape,
    [0],
  );
  const clamped = clampIdx(idx, N);
  const g = bind1("gather", [flat, add(clamped, offs)], { axis: 0 }); // [B, ...I, ...rest]
  // Move I axes to sit at `axis` among rest.
  const nI = I.length;
  const order = [
    0,
    ...range(axis).map((i) => 1 + nI + i),
    ...range(nI).map((i) => 1 + i),
    ...range(rest.length - axis).map((i) => 1 + nI + axis + i),
  ];
  return transpose(g, order);
}

function clampIdx(idx: Array, n: number): Array {
  const lo = full(idx.aval, 0);
  const hi = full(idx.aval, Math.max(0, n - 1));
  return bind1("min", [bind1("max", [idx, lo], {}), hi], {});
}

/** Rules of the indexing primitives. */
export const indexingRules: FamilyRules<IndexingParams> = {
  gather: {
    abstractEval([x, idx], { axis }) {
      checkIndices("gather", idx);
      if (axis < 0 || axis >= x.shape.length) {
        throw new RangeError(`gather: axis ${axis} out of range for ${fmt(x.shape)}`);
      }
      return [{ shape: gatherShape(x.shape, idx.shape, axis), dtype: x.dtype }];
    },
    jvp([x, idx], [t], p) {
      const y = bind1("gather", [x, idx], p);
      return [[y], [t instanceof Zero ? new Zero(y.aval) : bind1("gather", [t, idx], p)]];
    },
    batch([x, idx], [dx, di], { axis }, size) {
      if (di === null) {
        const xb = moveBdim(x, dx, 0, size);
        const g = bind1("gather", [xb, idx], { axis: axis + 1 });
        return [[g], [0]];
      }
      if (dx === null) {
        const ib = moveBdim(idx, di, 0, size);
        return [[bind1("gather", [x, ib], { axis })], [axis]];
      }
      const g = gatherBatched(moveBdim(x, dx, 0, size), moveBdim(idx, di, 0, size), axis);
      return [[g], [0]];
    },
    transpose([ct], [x, idx], { axis }) {
      if (!(x instanceof LinearIn) || idx instanceof LinearIn) {
        throw new Error("gather: transpose needs a linear operand and known indices");
      }
      if (ct instanceof Zero) return [null, null];
      return [bind1("scatterAdd", [zeros(x.aval), idx, ct], { axis }), null];
    },
  },
  scatterAdd: {
    abstractEval([x, idx, u], { axis }) {
      checkIndices("scatterAdd", idx);
      const want = gatherShape(x.shape, idx.shape, axis);
      if (u.dtype !== x.dtype || want.length !== u.shape.length || want.some((n, i) => n !== u.shape[i])) {
        throw new Error(`scatterAdd: updates ${u.dtype}${fmt(u.shape)} do not match ${x.dtype}${fmt(want)}`);
      }
      return [x];
    },
    jvp([x, idx, u], [tx, , tu], p) {
      const y = bind1("scatterAdd", [x, idx, u], p);
      if (tx instanceof Zero && tu instanceof Zero) return [[y], [new Zero(y.aval)]];
      return [[y], [bind1("scatterAdd", [instantiate(tx), idx, instantiate(tu)], p)]];
    },
    batch([x, idx, u], [dx, di, du], { axis }, size) {
      if (di === null) {
        const r = bind1("scatterAdd", [moveBdim(x, dx, 0, size), idx, moveBdim(u, du, 0, size)], { axis: axis + 1 });
        return [[r], [0]];
      }
      // Batched indices: flatten batch into the scattered axis, offsetting each batch's indices.
      const xb = moveBdim(x, dx, 0, size);
      const ib = clampIdx(moveBdim(idx, di, 0, size), xb.aval.shape[axis + 1]);
      const ub = moveBdim(u, du, 0, size);
      const S = xb.aval.shape.slice(1);
      const N = S[axis];
      const perm = [0, axis + 1, ...range(S.length).filter((i) => i !== axis).map((i) => i + 1)];
      const rest = S.filter((_, i) => i !== axis);
      const flat = reshape(transpose(xb, perm), [size * N, ...rest]);
      const nI = ib.ndim - 1;
      const offs = broadcastInDim(
        mul(
          bind1("iota", [], { shape: [size], dtype: "int32", dimension: 0 }),
          full({ shape: [size], dtype: "int32" }, N),
        ),
        ib.aval.shape,
        [0],
      );
      // updates [B, ...S[:axis], ...I, ...S[axis+1:]] -> [B, ...I, ...rest]
      const uperm = [
        0,
        ...range(nI).map((i) => 1 + axis + i),
        ...range(axis).map((i) => 1 + i),
        ...range(rest.length - axis).map((i) => 1 + axis + nI + i),
      ];
      const r = bind1("scatterAdd", [flat, add(ib, offs), transpose(ub, uperm)], { axis: 0 });
      const back = reshape(r, [size, N, ...rest]);
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [[transpose(back, inv)], [0]];
    },
    transpose([ct], [x, idx, u], { axis }) {
      if (idx instanceof LinearIn) throw new Error("scatterAdd: indices cannot be linear");
      if (ct instanceof Zero) return [null, null, null];
      return [
        x instanceof LinearIn ? ct : null,
        null,
        u instanceof LinearIn ? bind1("gather", [ct, idx as Array], { axis }) : null,
      ];
    },
  },
  dynamicSlice: {
    abstractEval([x, s], { sizes }) {
      checkIndices("dynamicSlice", s);
      if (
        s.shape.length !== 1 || s.shape[0] !== x.shape.length || sizes.length !== x.shape.length ||
        sizes.some((n, i) => n < 0 || n > x.shape[i])
      ) {
        throw new Error(
          `dynamicSlice: start indices ${fmt(s.shape)} / sizes ${fmt(sizes)} do not fit operand ${fmt(x.shape)}`,
        );
      }
      return [{ shape: sizes, dtype: x.dtype }];
    },
    jvp([x, s], [t], p) {
      const y = bind1("dynamicSlice", [x, s], p);
      return [[y], [t instanceof Zero ? new Zero(y.aval) : bind1("dynamicSlice", [t, s], p)]];
    },
    batch([x, s], [dx, ds], { sizes }, size) {
      const xb = moveBdim(x, dx, 0, size);
      if (ds === null) {
        const s0 = bind1("concatenate", [full({ shape: [1], dtype: "int32" }, 0), s], { axis: 0 });
        return [[bind1("dynamicSlice", [xb, s0], { sizes: [size, ...sizes] })], [0]];
      }
      // Batched starts: one gather per axis with per-example indices start + iota.
      const sb = moveBdim(s, ds, 0, size);
      let y = xb;
      sizes.forEach((n, k) => {
        const dim = xb.aval.shape[k + 1];
        const start = bind1("slice", [sb], { start: [0, k], limit: [size, k + 1], strides: [1, 1] });
        const clampedStart = bind1(
          "min",
          [bind1("max", [start, full(start.aval, 0)], {}), full(start.aval, dim - n)],
          {},
        );
        const idx = add(
          broadcastInDim(reshape(clampedStart, [size]), [size, n], [0]),
          broadcastInDim(bind1("iota", [], { shape: [n], dtype: "int32", dimension: 0 }), [size, n], [1]),
        );
        y = gatherBatched(y, idx, k);
      });
      return [[y], [0]];
    },
    transpose([ct], [x, s]) {
      if (s instanceof LinearIn) throw new Error("dynamicSlice: start indices cannot be linear");
      if (ct instanceof Zero) return [null, null];
      return [bind1("dynamicUpdateSlice", [zeros(x.aval), ct, s as Array], {}), null];
    },
  },
  dynamicUpdateSlice: {
    abstractEval([x, u, s]) {
      checkIndices("dynamicUpdateSlice", s);
      if (
        u.dtype !== x.dtype || u.shape.length !== x.shape.length || u.shape.some((n, i) => n > x.shape[i]) ||
        s.shape.length !== 1 || s.shape[0] !== x.shape.length
      ) {
        throw new Error(
          `dynamicUpdateSlice: update ${u.dtype}${fmt(u.shape)} with starts ${fmt(s.shape)} does not fit ${x.dtype}${
            fmt(x.shape)
          }`,
        );
      }
      return [x];
    },
    jvp([x, u, s], [tx, tu], p) {
      const y = bind1("dynamicUpdateSlice", [x, u, s], p);
      if (tx instanceof Zero && tu instanceof Zero) return [[y], [new Zero(y.aval)]];
      return [[y], [bind1("dynamicUpdateSlice", [instantiate(tx), instantiate(tu), s], p)]];
    },
    batch([x, u, s], [dx, du, ds], _p, size) {
      const xb = moveBdim(x, dx, 0, size);
      const ub = moveBdim(u, du, 0, size);
      if (ds === null) {
        const s0 = bind1("concatenate", [full({ shape: [1], dtype: "int32" }, 0), s], { axis: 0 });
        return [[bind1("dynamicUpdateSlice", [xb, ub, s0], {})], [0]];
      }
      // Batched starts: gather the update onto the operand's grid, then select inside the window.
      const sb = moveBdim(s, ds, 0, size);
      let g = ub;
      let mask: Array | null = null;
      xb.aval.shape.slice(1).forEach((dim, k) => {
        const n = ub.aval.shape[k + 1];
        const start = reshape(bind1("slice", [sb], { start: [0, k], limit: [size, k + 1], strides: [1, 1] }), [size]);
        const st = bind1("min", [bind1("max", [start, full(start.aval, 0)], {}), full(start.aval, dim - n)], {});
        const pos = bind1("sub", [
          broadcastInDim(bind1("iota", [], { shape: [dim], dtype: "int32", dimension: 0 }), [size, dim], [1]),
          broadcastInDim(st, [size, dim], [0]),
        ], {});
        const inside = bind1("and", [
          bind1("ge", [pos, full(pos.aval, 0)], {}),
          bind1("lt", [pos, full(pos.aval, n)], {}),
        ], {});
        g = gatherBatched(g, clampIdx(pos, n), k);
        const m = broadcastInDim(inside, xb.aval.shape, [0, k + 1]);
        mask = mask ? bind1("and", [mask, m], {}) : m;
      });
      return [[mask ? select(mask, g, xb) : g], [0]];
    },
    transpose([ct], [x, u, s]) {
      if (s instanceof LinearIn) throw new Error("dynamicUpdateSlice: start indices cannot be linear");
      if (ct instanceof Zero) return [null, null, null];
      const ctx = x instanceof LinearIn ? bind1("dynamicUpdateSlice", [ct, zeros(u.aval), s as Array], {}) : null;
      const ctu = u instanceof LinearIn ? bind1("dynamicSlice", [ct, s as Array], { sizes: [...u.aval.shape] }) : null;
      return [ctx, ctu, null];
    },
  },
};
