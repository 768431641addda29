/**
 * Contractions: `dotGeneral` (batched tensor contraction) and `convGeneralDilated`
 * (N-d convolution in the canonical NC.../OI.../NC... layout; other layouts are transposes
 * around it, see `convWithSpecs`). Both bilinear: transposes follow JAX's.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import { fmt, invertPerm, range } from "../shape.ts";
import { moveBdim } from "./batching.ts";
import { bind1, productJvp, reshape, transpose } from "./ops.ts";
import type { ContractParams, ConvParams, DotDims } from "./params.ts";
import { type FamilyRules, LinearIn, Zero } from "./types.ts";

export type { ContractParams, ConvParams, DotDims };

const remaining = (n: number, ...drop: number[][]) => range(n).filter((i) => !drop.some((d) => d.includes(i)));
function rangesLike(...xs: number[][]): number[][] {
  let start = 0;
  return xs.map((x) => {
    const r = range(x.length).map((i) => i + start);
    start += x.length;
    return r;
  });
}
const argsort = (v: number[]) => range(v.length).sort((a, b) => v[a] - v[b]);

/** `dotGeneral` with shape checks. */
export const dot = (a: Array, b: Array, dims: DotDims): Array => bind1("dotGeneral", [a, b], dims);

function dotTransposeLhs(
  g: Array,
  xAval: Aval,
  y: Array | Aval,
  dims: DotDims,
  swapAns: boolean,
  yNdim: number,
): Array {
  const [[xc, yc], [xb, yb]] = [dims.contract, dims.batch];
  const xKept = remaining(xAval.shape.length, xc, xb);
  const yKept = remaining(yNdim, yc, yb);
  const [ansBatch, ansY] = swapAns
    ? (([b, ay]) => [b, ay])(rangesLike(xb, yKept, xKept))
    : (([b, , ay]) => [b, ay])(rangesLike(xb, xKept, yKept));
  const xContractSortedByY = argsort(yc).map((i) => xc[i]);
  const outAxes = argsort([...xb, ...xKept, ...xContractSortedByY]);
  // dot(g, y) has axes [batch, g's free, y's free]. When the cotangent wants [batch, y's free,
  // g's free] (the weight of x @ w), dot(y, g) gives it directly: no transpose to materialise.
  const nb = ansBatch.length, gFree = g.ndim - nb - ansY.length, yFree = yNdim - yb.length - yKept.length;
  const swapped = [...range(nb), ...range(yFree).map((i) => nb + gFree + i), ...range(gFree).map((i) => nb + i)];
  if (gFree > 0 && yFree > 0 && outAxes.every((a, i) => a === swapped[i])) {
    return dot(y as Array, g, { contract: [yKept, ansY], batch: [yb, ansBatch] });
  }
  return transpose(dot(g, y as Array, { contract: [ansY, yKept], batch: [ansBatch, yb] }), outAxes);
}

/** Dilated length of an axis: `1 + d*(n-1)`, or 0 for an empty axis. */
export const dilate = (n: number, d: number): number => (n === 0 ? 0 : 1 + d * (n - 1));

/** Output spatial size of a convolution axis. */
export function convOutSize(n: number, k: number, p: ConvParams, i: number): number {
  const padded = dilate(n, p.lhsDilation[i]) + p.padding[i][0] + p.padding[i][1];
  const dk = dilate(k, p.rhsDilation[i]);
  return padded < dk ? 0 : Math.floor((padded - dk) / p.strides[i]) + 1;
}

/**
 * Convolution with layouts given as specs (JAX's ConvDimensionNumbers as permutations):
 * `lhs: [batch, feature, ...spatial]`, `rhs: [out, in, ...spatial]`, `out: [batch, feature, ...spatial]`.
 */
export function convWithSpecs(lhs: Array, rhs: Array, specs: [number[], number[], number[]], p: ConvParams): Array {
  const [ls, rs, os] = specs;
  const y = bind1("convGeneralDilated", [transpose(lhs, ls), transpose(rhs, rs)], p);
  return transpose(y, invertPerm(os));
}

const specT = (s: number[]) => [s[1], s[0], ...s.slice(2)];
function axisOutOf(src: number, size1: number, x: Array): Array {
  const s = [...x.aval.shape];
  s.splice(src, 1, size1, s[src] / size1);
  return reshape(x, s);
}
function axisInto(src: number, dst: number, x: Array): Array {
  const perm = range(x.ndim).filter((i) => i !== src);
  perm.splice(dst, 0, src);
  const shape = x.aval.shape.filter((_, i) => i !== src);
  shape[dst] *= x.aval.shape[src];
  return reshape(transpose(x, perm), shape);
}

function convTransposeLhs(g: Array, lhs: Aval, rhs: Array, p: ConvParams): Array {
  const nsp = lhs.shape.length - 2;
  const spec = range(nsp + 2);
  let w = rhs;
  let fgc = p.featureGroupCount;
  if (fgc > 1) w = axisInto(0, 1, axisOutOf(0, fgc, w));
  else if (p.batchGroupCount > 1) {
    w = axisInto(0, 1, axisOutOf(0, p.batchGroupCount, w));
    fgc = p.batchGroupCount;
  }
  const sp = range(nsp);
  const lhsD = sp.map((i) => dilate(lhs.shape[i + 2], p.lhsDilation[i]));
  const rhsD = sp.map((i) => dilate(w.aval.shape[i + 2], p.rhsDilation[i]));
  const outD = sp.map((i) => dilate(g.aval.shape[i + 2], p.strides[i]));
  const before = sp.map((i) => rhsD[i] - p.padding[i][0] - 1);
  const padding = sp.map((i): [number, number] => [before[i], lhsD[i] + rhsD[i] - 1 - outD[i] - before[i]]);
  const rev = bind1("rev", [w], { axes: sp.map((i) => i + 2) });
  let out = convWithSpecs(g, rev, [spec, specT(spec), spec], {
    strides: p.lhsDilation,
    padding,
    lhsDilation: p.strides,
    rhsDilation: p.rhsDilation,
    featureGroupCount: fgc,
    batchGroupCount: 1,
  });
  if (p.batchGroupCount > 1) out = axisInto(1, 0, axisOutOf(1, p.batchGroupCount, out));
  return out;
}

function convTransposeRhs(g: Array, lhs: Array, rhs: Aval, p: ConvParams): Array {
  const nsp = rhs.shape.length - 2;
  const spec = range(nsp + 2);
  const sp = range(nsp);
  let fgc = p.featureGroupCount;
  let bgc = p.batchGroupCount;
  if (bgc > 1) [fgc, bgc] = [bgc, 1];
  else if (fgc > 1) [fgc, bgc] = [1, fgc];
  const lhsD = sp.map((i) => dilate(lhs.aval.shape[i + 2], p.lhsDilation[i]));
  const rhsD = sp.map((i) => dilate(rhs.shape[i + 2], p.rhsDilation[i]));
  const outD = sp.map((i) => dilate(g.aval.shape[i + 2], p.strides[i]));
  const padding = sp.map((i): [number, number] => [p.padding[i][0], outD[i] - lhsD[i] + rhsD[i] - p.padding[i][0] - 1]);
  return convWithSpecs(lhs, g, [specT(spec), specT(spec), specT(spec)], {
    strides: p.rhsDilation,
    padding,
    lhsDilation: p.lhsDilation,
    rhsDilation: p.strides,
    featureGroupCount: fgc,
    batchGroupCount: bgc,
  });
}

function convBatch(
  lhs: Array,
  rhs: Array,
  dl: number | null,
  dr: number | null,
  p: ConvParams,
  B: number,
): [Array, number] {
  const conv = (a: Array, b: Array, q: ConvParams) => bind1("convGeneralDilated", [a, b], q);
  const G = Math.max(p.featureGroupCount, p.batchGroupCount);
  if (dl !== null && dr !== null) {
    const l = moveBdim(lhs, dl, 0, B);
    const r = moveBdim(rhs, dr, 0, B);
    if (p.batchGroupCount > 1) {
      const y = conv(axisInto(0, 0, l), axisInto(0, 0, r), { ...p, batchGroupCount: p.batchGroupCount * B });
      return [axisOutOf(1, B, y), 1];
    }
    const y = conv(axisInto(0, 1, l), axisInto(0, 0, r), { ...p, featureGroupCount: p.featureGroupCount * B });
    return [axisOutOf(1, B, y), 1];
  }
  if (dl !== null) {
    const l = moveBdim(lhs, dl, 0, B);
    if (p.batchGroupCount > 1) {
      const N = l.aval.shape[1];
      const split = axisOutOf(1, p.batchGroupCount, l); // [B, bgc, N/bgc, ...]
      const y = conv(reshape(axisInto(0, 1, split), [N * B, ...l.aval.shape.slice(2)]), rhs, p);
      return [axisOutOf(0, B, y), 0];
    }
    const y = conv(axisInto(0, 0, l), rhs, p);
    return [axisOutOf(0, B, y), 0];
  }
  const r = moveBdim(rhs, dr, 0, B); // [B, O, I, ...]
  const grouped = axisOutOf(1, G, r); // [B, G, O/G, I, ...]
  const w = axisInto(0, 1, grouped); // [G, B*O/G, I, ...] merged into [G*B*O/G, ...] below
  const O = r.aval.shape[1];
  const y = conv(lhs, reshape(w, [B * O, ...r.aval.shape.slice(2)]), p); // [N, G*B*O/G, ...]
  const ys = reshape(y, [y.aval.shape[0], G, B, O / G, ...y.aval.shape.slice(2)]);
  const moved = transpose(ys, [2, 0, 1, 3, ...range(y.ndim - 2).map((i) => i + 4)]);
  return [reshape(moved, [B, y.aval.shape[0], O, ...y.aval.shape.slice(2)]), 0];
}

/** Rules of the contraction primitives. */
export const contractRules: FamilyRules<ContractParams> = {
  dotGeneral: {
    abstractEval([a, b], { contract: [ac, bc], batch: [ab, bb] }) {
      const where = `dotGeneral: ${fmt(a.shape)} @ ${fmt(b.shape)}`;
      if (a.dtype !== b.dtype) {
        throw new TypeError(`${where}: dtypes differ (${a.dtype} vs ${b.dtype}); cast one with astype`);
      }
      if (ac.length !== bc.length || ab.length !== bb.length) {
        throw new Error(`${where}: dimension numbers have unequal lengths`);
      }
      const all = [...ac, ...ab];
      if (all.some((d) => d < 0 || d >= a.shape.length) || [...bc, ...bb].some((d) => d < 0 || d >= b.shape.length)) {
        throw new RangeError(`${where}: dimension numbers out of range`);
      }
      ac.forEach((d, i) => {
        if (a.shape[d] !== b.shape[bc[i]]) {
          throw new Error(
            `matmul: contracting dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${a.shape[d]} vs ${
              b.shape[bc[i]]
            })`,
          );
        }
      });
      ab.forEach((d, i) => {
        if (a.shape[d] !== b.shape[bb[i]]) {
          throw new Error(`${where}: batch dimensions differ (${a.shape[d]} vs ${b.shape[bb[i]]})`);
        }
      });
      const shape = [
        ...ab.map((d) => a.shape[d]),
        ...remaining(a.shape.length, ac, ab).map((d) => a.shape[d]),
        ...remaining(b.shape.length, bc, bb).map((d) => b.shape[d]),
      ];
      return [{ shape, dtype: a.dtype }];
    },
    jvp(primals, tangents, p) {
      const f = (a: Array, b: Array) => dot(a, b, p);
      const y = f(primals[0], primals[1]);
      return [[y], [productJvp(f, primals, tangents, y.aval)]];
    },
    batch([a, b], [da, db], { contract: [ac, bc], batch: [ab, bb] }, size) {
      const up = (d: number | null) => (xs: number[]) => xs.map((x) => (d !== null && x >= d ? x + 1 : x));
      if (da !== null && db !== null) {
        const a0 = moveBdim(a, da, 0, size);
        const b0 = moveBdim(b, db, 0, size);
        const s = (xs: number[]) => xs.map((x) => x + 1);
        return [[dot(a0, b0, { contract: [s(ac), s(bc)], batch: [[0, ...s(ab)], [0, ...s(bb)]] })], [0]];
      }
      if (da !== null) {
        const [c, bt] = [up(da)(ac), up(da)(ab)];
        const kept = remaining(a.ndim, c, bt);
        return [[dot(a, b, { contract: [c, bc], batch: [bt, bb] })], [ab.length + kept.indexOf(da)]];
      }
      const [c, bt] = [up(db)(bc), up(db)(bb)];
      const kept = remaining(b.ndim, c, bt);
      const aKept = remaining(a.ndim, ac, ab).length;
      return [[dot(a, b, { contract: [ac, c], batch: [ab, bt] })], [ab.length + aKept + kept.indexOf(db as number)]];
    },
    transpose([ct], [a, b], dims) {
      if (ct instanceof Zero) return [null, null];
      const ca = a instanceof LinearIn
        ? dotTransposeLhs(ct, a.aval, b as Array, dims, false, b.aval.shape.length)
        : null;
      const swapped: DotDims = {
        contract: [dims.contract[1], dims.contract[0]],
        batch: [dims.batch[1], dims.batch[0]],
      };
      const cb = b instanceof LinearIn
        ? dotTransposeLhs(ct, b.aval, a as Array, swapped, true, a.aval.shape.length)
        : null;
      return [ca, cb];
    },
  },
  convGeneralDilated: {
    abstractEval([l, r], p) {
      const nsp = l.shape.length - 2;
      const where = `conv: input ${fmt(l.shape)} (N,C,spatial) with kernel ${fmt(r.shape)} (O,I,spatial)`;
      if (nsp < 0 || r.shape.length !== l.shape.length) throw new Error(`${where}: ranks must match and be at least 2`);
      if (l.dtype !== r.dtype) throw new TypeError(`${where}: dtypes differ (${l.dtype} vs ${r.dtype})`);
      for (
        const [k, v] of [["strides", p.strides], ["lhsDilation", p.lhsDilation], ["rhsDilation", p.rhsDilation], [
          "padding",
          p.padding,
        ]] as const
      ) {
        if (v.length !== nsp) throw new Error(`${where}: ${k} has ${v.length} entries for ${nsp} spatial dims`);
      }
      const [fgc, bgc] = [p.featureGroupCount, p.batchGroupCount];
      if (l.shape[1] !== r.shape[1] * fgc) {
        throw new Error(
          `${where}: input channels ${l.shape[1]} != kernel in-channels ${r.shape[1]} × featureGroupCount ${fgc}`,
        );
      }
      if (r.shape[0] % fgc || r.shape[0] % bgc || l.shape[0] % bgc || (fgc > 1 && bgc > 1)) {
        throw new Error(`${where}: group counts (feature ${fgc}, batch ${bgc}) do not divide the channels/batch`);
      }
      const spatial = range(nsp).map((i) => convOutSize(l.shape[i + 2], r.shape[i + 2], p, i));
      return [{ shape: [l.shape[0] / bgc, r.shape[0], ...spatial], dtype: l.dtype }];
    },
    jvp(primals, tangents, p) {
      const conv = (a: Array, b: Array) => bind1("convGeneralDilated", [a, b], p);
      const y = conv(primals[0], primals[1]);
      return [[y], [productJvp(conv, primals, tangents, y.aval)]];
    },
    batch([l, r], [dl, dr], p, size) {
      const [y, d] = convBatch(l, r, dl, dr, p, size);
      return [[y], [d]];
    },
    transpose([ct], [l, r], p) {
      if (ct instanceof Zero) return [null, null];
      return [
        l instanceof LinearIn ? convTransposeLhs(ct, l.aval, r as Array, p) : null,
        r instanceof LinearIn ? convTransposeRhs(ct, l as Array, r.aval, p) : null,
      ];
    },
  },
};
