/**
 * CPU kernels of the reductions. Reduced axes are moved last (no copy when they already
 * are), then each contiguous row is folded. Float sums and products accumulate in float64.
 * @module
 */
import type { DType, TypedArray } from "../../../dtype.ts";
import { allocPooled, allocUninit } from "../pool.ts";
import { mergeAxes, stridesOf } from "../../../shape.ts";
import type { Aval } from "../../../array.ts";
import type { ReduceParams } from "../../../primitives/params.ts";
import type { FamilyKernels, Kernel } from "../kernel_types.ts";
import { isIdentity, splitAt, transposeArray } from "./movement.ts";
import { nativeSumF32 } from "../reduce_x86.ts";

/** Views `x` as [rows, cols] with the reduced axes last (transposing when needed). */
function rowsOf(x: TypedArray, a: Aval, axes: readonly number[]): [TypedArray, number, number] {
  const keep = a.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const red = [...axes].sort((p, q) => p - q);
  const perm = [...keep, ...red];
  const cols = red.reduce((n, d) => n * a.shape[d], 1);
  const rows = keep.reduce((n, d) => n * a.shape[d], 1);
  const data = isIdentity(perm) ? x : transposeArray(x, a.shape, perm, a.dtype);
  return [data, rows, cols];
}

type Fold = (x: TypedArray, start: number, n: number) => number;

/**
 * Float32 sums read in place (no transposed copy) when the reduced axes merge into at most
 * two strided runs: each output adds its elements in the same order as the transposed rows
 * (reduced axes in order, row-major) into a float64 accumulator, so results are identical.
 */
function sumInPlace(x: Float32Array, shape: readonly number[], axes: readonly number[]): Float32Array | null {
  const st = stridesOf(shape);
  const red = [...axes].sort((p, q) => p - q);
  const keepAx = shape.map((_, i) => i).filter((i) => !red.includes(i));
  const [rs, rst] = mergeAxes(red.map((d) => shape[d]), red.map((d) => st[d]));
  if (rs.length > 2) return null;
  const [r1, s1] = rs.length === 2 ? [rs[0], rst[0]] : [1, 0];
  const [r2, s2] = rs.length >= 1 ? [rs[rs.length - 1], rst[rst.length - 1]] : [1, 0];
  const [ks, kst] = mergeAxes(keepAx.map((d) => shape[d]), keepAx.map((d) => st[d]));
  if (rs.length) {
    const native = nativeSumF32(x, r1, s1, r2, s2, ks, kst); // AVX-512 when usable (reduce_x86.ts)
    if (native) return native;
  }
  const rows = ks.reduce((n, v) => n * v, 1);
  const out = allocUninit("float32", rows) as Float32Array;
  const idx = ks.map(() => 0);
  let base = 0;
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let i = 0, p = base; i < r1; i++, p += s1) {
      if (s2 === 1) { for (let j = p, e = p + r2; j < e; j++) acc += x[j]; }
      else for (let j = 0, q = p; j < r2; j++, q += s2) acc += x[q];
    }
    out[r] = acc;
    for (let d = ks.length - 1; d >= 0; d--) {
      base += kst[d];
      if (++idx[d] < ks[d]) break;
      base -= kst[d] * ks[d];
      idx[d] = 0;
    }
  }
  return out;
}

function foldK(folds: Partial<Record<DType, Fold>>): Kernel<{ axes: number[] }> {
  return ([x], [a], { axes }, [o]) => {
    const fold = folds[a.dtype];
    if (!fold) throw new TypeError(`cpu reduction: unsupported dtype ${a.dtype}`);
    if (fold === sumF && a.dtype === "float32" && x.length > 0) {
      const out = sumInPlace(x as Float32Array, a.shape, axes);
      if (out) return [out];
    }
    const [data, rows, cols] = rowsOf(x, a, axes);
    const out = allocPooled(o.dtype, rows);
    for (let r = 0; r < rows; r++) out[r] = fold(data, r * cols, cols);
    return [out];
  };
}

const sumF: Fold = (x, s, n) => {
  let acc = 0;
  for (let i = s; i < s + n; i++) acc += x[i];
  return acc;
};
const sumI: Fold = (x, s, n) => {
  let acc = 0;
  for (let i = s; i < s + n; i++) acc = (acc + x[i]) | 0;
  return acc;
};
const sumU: Fold = (x, s, n) => {
  let acc = 0;
  for (let i = s; i < s + n; i++) acc = (acc + x[i]) >>> 0;
  return acc;
};
const prodF: Fold = (x, s, n) => {
  let acc = 1;
  for (let i = s; i < s + n; i++) acc *= x[i];
  return acc;
};
const prodI: Fold = (x, s, n) => {
  let acc = 1;
  for (let i = s; i < s + n; i++) acc = Math.imul(acc, x[i]);
  return acc;
};
const any: Fold = (x, s, n) => {
  for (let i = s; i < s + n; i++) if (x[i]) return 1;
  return 0;
};
const all: Fold = (x, s, n) => {
  for (let i = s; i < s + n; i++) if (!x[i]) return 0;
  return 1;
};
/** Max propagating NaN; `init` is returned for an empty row. */
const maxF = (init: number): Fold => (x, s, n) => {
  let acc = init;
  for (let i = s; i < s + n; i++) {
    const v = x[i];
    if (v > acc || v !== v) {
      acc = v;
      if (v !== v) break;
    }
  }
  return acc;
};
const minF = (init: number): Fold => (x, s, n) => {
  let acc = init;
  for (let i = s; i < s + n; i++) {
    const v = x[i];
    if (v < acc || v !== v) {
      acc = v;
      if (v !== v) break;
    }
  }
  return acc;
};

/**
 * First index of the extreme of `n` values from `base` in steps of `step` (NaN counts as extreme;
 * the first NaN wins). One loop per direction keeps each comparison monomorphic.
 */
function argExtreme(x: TypedArray, base: number, n: number, step: number, max: boolean): number {
  let best = x[base], bi = 0;
  if (best !== best) return 0;
  if (max) {
    for (let j = 1, p = base + step; j < n; j++, p += step) {
      const v = x[p];
      if (v > best) {
        best = v;
        bi = j;
      } else if (v !== v) return j;
    }
  } else {
    for (let j = 1, p = base + step; j < n; j++, p += step) {
      const v = x[p];
      if (v < best) {
        best = v;
        bi = j;
      } else if (v !== v) return j;
    }
  }
  return bi;
}

/** Kernel of argmax (`max`) or argmin along `axis`. */
function argK(max: boolean): Kernel<{ axis: number }> {
  return ([x], [a], { axis }) => {
    const [outer, n, inner] = splitAt(a.shape, axis);
    const out = new Int32Array(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) out[o * inner + i] = argExtreme(x, o * n * inner + i, n, inner, max);
    }
    return [out];
  };
}

const cumsumK: Kernel<ReduceParams["cumsum"]> = ([x], [a], { axis, reverse }, [o]) => {
  const [outer, n, inner] = splitAt(a.shape, axis);
  const out = allocPooled(o.dtype, x.length);
  const acc = new Float64Array(inner);
  const wrap = a.dtype === "int32"
    ? (v: number) => v | 0
    : a.dtype === "uint32"
    ? (v: number) => v >>> 0
    : (v: number) => v;
  for (let b = 0; b < outer; b++) {
    acc.fill(0);
    for (let t = 0; t < n; t++) {
      const j = reverse ? n - 1 - t : t;
      const off = (b * n + j) * inner;
      for (let i = 0; i < inner; i++) {
        const v = wrap(acc[i] + x[off + i]);
        acc[i] = v;
        out[off + i] = v;
      }
    }
  }
  return [out];
};

/** Kernels of the reduction primitives. */
export const reduceKernels: FamilyKernels<ReduceParams> = {
  reduceSum: foldK({ float32: sumF, int32: sumI, uint32: sumU, bool: any }),
  reduceProd: foldK({ float32: prodF, int32: prodI, uint32: prodI, bool: all }),
  reduceMax: foldK({ float32: maxF(-Infinity), int32: maxF(-2147483648), uint32: maxF(0), bool: any }),
  reduceMin: foldK({ float32: minF(Infinity), int32: minF(2147483647), uint32: minF(4294967295), bool: all }),
  argmax: argK(true),
  argmin: argK(false),
  cumsum: cumsumK,
};
