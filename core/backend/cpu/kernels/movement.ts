/**
 * CPU kernels of the movement primitives, plus the strided-copy helpers the other kernel
 * families share (transpose, broadcast, slice, reverse and pad are all one strided copy).
 * @module
 */
import type { DType, TypedArray } from "../../../dtype.ts";
import { allocPooled, allocUninit } from "../pool.ts";
import { reversedView, sizeOf, stridesOf } from "../../../shape.ts";
import type { MovementParams } from "../../../primitives/params.ts";
import type { FamilyKernels } from "../kernel_types.ts";
import { copyRuns } from "../copy_x86.ts";

/**
 * Copies a strided box: for every multi-index `i` of `shape`,
 * `dst[dOff + Σ i·dStrides] = src[sOff + Σ i·sStrides]`. Strides may be zero (broadcast) or
 * negative (reverse). Adjacent axes that are contiguous on both sides are merged first.
 */
export function stridedCopy(
  src: TypedArray,
  sOff: number,
  sStrides: readonly number[],
  dst: TypedArray,
  dOff: number,
  dStrides: readonly number[],
  shape: readonly number[],
): void {
  if (shape.some((n) => n === 0)) return;
  // Drop size-1 axes and merge axes that are contiguous in both source and destination.
  const sh: number[] = [], ss: number[] = [], ds: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const k = sh.length - 1;
    if (k >= 0 && ss[k] === sStrides[d] * shape[d] && ds[k] === dStrides[d] * shape[d]) {
      sh[k] *= shape[d];
      ss[k] = sStrides[d];
      ds[k] = dStrides[d];
    } else {
      sh.push(shape[d]);
      ss.push(sStrides[d]);
      ds.push(dStrides[d]);
    }
  }
  if (sh.length === 0) {
    dst[dOff] = src[sOff];
    return;
  }
  const nd = sh.length;
  if (nd <= 3 && nativeRuns(src, sOff, ss, dst, dOff, ds, sh)) return;
  if (nd >= 2 && sh[nd - 1] >= 16 && sh[nd - 2] >= 16 && Math.abs(ss[nd - 2]) < Math.abs(ss[nd - 1])) {
    // A transpose-like inner pair: copy it in cache-sized tiles.
    tiledOuter(src, sOff, ss, dst, dOff, ds, sh);
    return;
  }
  const last = nd - 1;
  const n = sh[last], si = ss[last], di = ds[last];
  const idx = new Array<number>(nd).fill(0);
  let outer = 1;
  for (let d = 0; d < last; d++) outer *= sh[d];
  let so = sOff, dO = dOff;
  for (let o = 0; o < outer; o++) {
    if (si === 1 && di === 1) {
      dst.set(src.subarray(so, so + n), dO);
    } else if (si === 0 && di === 1) {
      dst.fill(src[so], dO, dO + n); // a broadcast row
    } else {
      for (let j = 0, s = so, t = dO; j < n; j++, s += si, t += di) dst[t] = src[s];
    }
    // Advance the odometer over the outer axes.
    for (let d = last - 1; d >= 0; d--) {
      if (++idx[d] < sh[d]) {
        so += ss[d];
        dO += ds[d];
        break;
      }
      idx[d] = 0;
      so -= ss[d] * (sh[d] - 1);
      dO -= ds[d] * (sh[d] - 1);
    }
  }
}

/** Copies at least this many elements of contiguous runs natively (a native call costs a few µs). */
const NATIVE_RUNS_MIN = 4096;

/**
 * Contiguous runs under at most two outer axes (a transpose that keeps the trailing axes, e.g.
 * [N, C, H, W] → [C, N, H, W] around a convolution's gradient), of a 4-byte type: one native
 * call (`copy_x86.ts`) instead of a `set` per run. False when it does not apply here.
 */
function nativeRuns(
  src: TypedArray,
  sOff: number,
  ss: number[],
  dst: TypedArray,
  dOff: number,
  ds: number[],
  sh: number[],
): boolean {
  const nd = sh.length, n = sh[nd - 1];
  if (nd < 2 || ss[nd - 1] !== 1 || ds[nd - 1] !== 1 || src.BYTES_PER_ELEMENT !== 4 || dst.BYTES_PER_ELEMENT !== 4) {
    return false;
  }
  if (sh.reduce((a, b) => a * b, 1) < NATIVE_RUNS_MIN || ss.some((v) => v < 0) || ds.some((v) => v < 0)) return false;
  // The bits move unchanged, so any 4-byte type can travel as float32.
  const f32 = (a: TypedArray) => (a instanceof Float32Array ? a : new Float32Array(a.buffer, a.byteOffset, a.length));
  const two = nd === 3;
  return copyRuns(f32(src), sOff, f32(dst), dOff, {
    outer: two ? sh[0] : 1,
    srcOuter: two ? ss[0] : 0,
    dstOuter: two ? ds[0] : 0,
    inner: sh[nd - 2],
    srcInner: ss[nd - 2],
    dstInner: ds[nd - 2],
    srcRows: [0],
    dstRows: [0],
    len: n,
  });
}

/** Runs {@link tiled2} over the last two axes for every index of the leading axes. */
function tiledOuter(
  src: TypedArray,
  sOff: number,
  ss: number[],
  dst: TypedArray,
  dOff: number,
  ds: number[],
  sh: number[],
): void {
  const b = sh.length - 2;
  let outer = 1;
  for (let d = 0; d < b; d++) outer *= sh[d];
  const idx = new Array<number>(b).fill(0);
  let so = sOff, dO = dOff;
  for (let o = 0; o < outer; o++) {
    tiled2(src, so, ss[b], ss[b + 1], dst, dO, ds[b], ds[b + 1], sh[b], sh[b + 1]);
    for (let d = b - 1; d >= 0; d--) {
      if (++idx[d] < sh[d]) {
        so += ss[d];
        dO += ds[d];
        break;
      }
      idx[d] = 0;
      so -= ss[d] * (sh[d] - 1);
      dO -= ds[d] * (sh[d] - 1);
    }
  }
}

/** `dst[dO + i·d0 + j·d1] = src[so + i·s0 + j·s1]` over an n0×n1 block, in 32×32 tiles. */
function tiled2(
  src: TypedArray,
  so: number,
  s0: number,
  s1: number,
  dst: TypedArray,
  dO: number,
  d0: number,
  d1: number,
  n0: number,
  n1: number,
): void {
  const T = 32;
  for (let i0 = 0; i0 < n0; i0 += T) {
    const i1 = Math.min(n0, i0 + T);
    for (let j0 = 0; j0 < n1; j0 += T) {
      const j1 = Math.min(n1, j0 + T);
      for (let i = i0; i < i1; i++) {
        const sr = so + i * s0, dr = dO + i * d0;
        for (let j = j0; j < j1; j++) dst[dr + j * d1] = src[sr + j * s1];
      }
    }
  }
}

/** Gathers a strided view of `src` into a fresh contiguous array of `shape`. */
export function gatherStrided(
  src: TypedArray,
  sOff: number,
  sStrides: readonly number[],
  shape: readonly number[],
  dtype: DType,
): TypedArray {
  const out = allocUninit(dtype, sizeOf(shape));
  stridedCopy(src, sOff, sStrides, out, 0, stridesOf(shape), shape);
  return out;
}

/** Transposes a row-major array: output axis i is input axis perm[i]. */
export function transposeArray(
  x: TypedArray,
  shape: readonly number[],
  perm: readonly number[],
  dtype: DType,
): TypedArray {
  const st = stridesOf(shape);
  return gatherStrided(x, 0, perm.map((p) => st[p]), perm.map((p) => shape[p]), dtype);
}

/** True when `perm` is the identity permutation. */
export const isIdentity = (perm: readonly number[]): boolean => perm.every((p, i) => p === i);

/** Outer/axis/inner sizes of `shape` around `axis`. */
export function splitAt(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return [outer, shape[axis], inner];
}

function padKernel(
  x: TypedArray,
  v: TypedArray,
  shape: readonly number[],
  p: MovementParams["pad"],
  outShape: readonly number[],
  dtype: DType,
): TypedArray {
  const out = allocPooled(dtype, sizeOf(outShape));
  if (v[0] !== 0) out.fill(v[0]);
  const inSt = stridesOf(shape), outSt = stridesOf(outShape);
  // Per axis: the first input index landing inside the output, and how many do.
  let sOff = 0, dOff = 0;
  const box: number[] = [], ss: number[] = [], ds: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const step = p.interior[d] + 1;
    const lo = p.lo[d];
    const first = lo >= 0 ? 0 : Math.ceil(-lo / step);
    const lastPos = Math.min(shape[d] - 1, Math.floor((outShape[d] - 1 - lo) / step));
    const count = Math.max(0, lastPos - first + 1);
    if (count === 0) return out;
    box.push(count);
    sOff += first * inSt[d];
    dOff += (lo + first * step) * outSt[d];
    ss.push(inSt[d]);
    ds.push(outSt[d] * step);
  }
  stridedCopy(x, sOff, ss, out, dOff, ds, box);
  return out;
}

/** Kernels of the movement primitives. */
export const movementKernels: FamilyKernels<MovementParams> = {
  // Arrays are immutable: a reshape (or identity transpose) shares its input's storage; the
  // executor and the backend copy or count holders wherever a result would alias an input.
  reshape: ([x]) => [x],
  broadcastInDim: ([x], [a], { shape, dims }, [o]) => {
    const st = stridesOf(a.shape);
    const ss = shape.map(() => 0);
    dims.forEach((d, i) => {
      if (a.shape[i] !== 1) ss[d] = st[i];
    });
    return [gatherStrided(x, 0, ss, shape, o.dtype)];
  },
  transpose: ([x], [a], { perm }, [o]) => [isIdentity(perm) ? x : transposeArray(x, a.shape, perm, o.dtype)],
  slice: ([x], [a], { start, strides }, [o]) => {
    const st = stridesOf(a.shape);
    const off = start.reduce((acc, s, i) => acc + s * st[i], 0);
    return [gatherStrided(x, off, st.map((s, i) => s * strides[i]), o.shape, o.dtype)];
  },
  pad: ([x, v], [a], p, [o]) => [padKernel(x, v, a.shape, p, o.shape, o.dtype)],
  concatenate: (xs, avals, { axis }, [o]) => {
    const out = allocPooled(o.dtype, sizeOf(o.shape));
    const [outer, total, inner] = splitAt(o.shape, axis);
    let off = 0;
    xs.forEach((x, k) => {
      const n = avals[k].shape[axis] * inner;
      if (n > 0) {
        for (let b = 0; b < outer; b++) out.set(x.subarray(b * n, (b + 1) * n), b * total * inner + off);
      }
      off += n;
    });
    return [out];
  },
  rev: ([x], [a], { axes }, [o]) => {
    const { offset, strides } = reversedView(a.shape, axes);
    return [gatherStrided(x, offset, strides, a.shape, o.dtype)];
  },
  iota: (_xs, _a, { dimension }, [o]) => {
    const out = allocPooled(o.dtype, sizeOf(o.shape));
    const [outer, n, inner] = splitAt(o.shape, dimension);
    let t = 0;
    for (let b = 0; b < outer; b++) {
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < inner; i++) out[t++] = j;
      }
    }
    return [out];
  },
};
