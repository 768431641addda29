/**
 * CPU kernels of the indexing primitives. Gather/scatter indices are clamped into range;
 * dynamic slice starts are clamped so the window fits (XLA semantics).
 * @module
 */
import type { TypedArray } from "../../../dtype.ts";
import { allocPooled } from "../pool.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { IndexingParams } from "../../../primitives/params.ts";
import type { FamilyKernels } from "../kernel_types.ts";
import { splitAt, stridedCopy } from "./movement.ts";

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Clamped dynamic-slice starts: each in [0, dim - size]. */
function clampStarts(s: TypedArray, shape: readonly number[], sizes: readonly number[]): number[] {
  return shape.map((d, i) => clamp(s[i], 0, d - sizes[i]));
}

/** Kernels of the indexing primitives. */
export const indexingKernels: FamilyKernels<IndexingParams> = {
  gather: ([x, idx], [a], { axis }, [o]) => {
    const [outer, n, inner] = splitAt(a.shape, axis);
    const m = idx.length;
    const out = allocPooled(o.dtype, outer * m * inner);
    if (out.length === 0) return [out];
    const hi = n - 1;
    for (let b = 0; b < outer; b++) {
      for (let j = 0; j < m; j++) {
        const src = (b * n + clamp(idx[j], 0, hi)) * inner;
        const dst = (b * m + j) * inner;
        if (inner === 1) out[dst] = x[src];
        else out.set(x.subarray(src, src + inner), dst);
      }
    }
    return [out];
  },
  scatterAdd: ([x, idx, u], [a], { axis }) => {
    const [outer, n, inner] = splitAt(a.shape, axis);
    const m = idx.length;
    const out = x.slice();
    if (n === 0) return [out];
    const hi = n - 1;
    const isBool = a.dtype === "bool";
    for (let b = 0; b < outer; b++) {
      for (let j = 0; j < m; j++) {
        const dst = (b * n + clamp(idx[j], 0, hi)) * inner;
        const src = (b * m + j) * inner;
        // Typed-array stores round float32 and wrap int32/uint32; bool accumulates as "or".
        if (isBool) { for (let i = 0; i < inner; i++) out[dst + i] |= u[src + i]; }
        else for (let i = 0; i < inner; i++) out[dst + i] += u[src + i];
      }
    }
    return [out];
  },
  dynamicSlice: ([x, s], [a], { sizes }, [o]) => {
    const st = stridesOf(a.shape);
    const starts = clampStarts(s, a.shape, sizes);
    const out = allocPooled(o.dtype, sizeOf(sizes));
    const off = starts.reduce((acc, v, i) => acc + v * st[i], 0);
    stridedCopy(x, off, st, out, 0, stridesOf(sizes), sizes);
    return [out];
  },
  dynamicUpdateSlice: ([x, u, s], [a, ua]) => {
    const st = stridesOf(a.shape);
    const starts = clampStarts(s, a.shape, ua.shape);
    const out = x.slice();
    const off = starts.reduce((acc, v, i) => acc + v * st[i], 0);
    stridedCopy(u, 0, stridesOf(ua.shape), out, off, st, ua.shape);
    return [out];
  },
};
