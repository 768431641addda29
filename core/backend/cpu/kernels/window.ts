/**
 * CPU kernels of the window primitives. Every window is visited as the list of flat input
 * offsets of its in-bounds positions, in row-major window order; padding positions are
 * never read (sum pads with 0, max with -∞, so skipping them is exact).
 * @module
 */
import type { DType, TypedArray } from "../../../dtype.ts";
import { allocPooled } from "../pool.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { Window, WindowParams } from "../../../primitives/params.ts";
import type { FamilyKernels } from "../kernel_types.ts";

/**
 * Calls `visit(outIndex, offsets, count)` for each output position of the window op, with
 * `offsets[0..count)` the in-bounds input offsets of its window in row-major window order.
 */
function forEachWindow(
  inShape: readonly number[],
  outShape: readonly number[],
  w: Window,
  visit: (o: number, offsets: Int32Array, count: number) => void,
): void {
  const nd = inShape.length;
  const inSt = stridesOf(inShape);
  const offsets = new Int32Array(Math.max(1, sizeOf(w.window)));
  const total = sizeOf(outShape);
  const oIdx = new Array<number>(nd).fill(0);
  const p0 = new Array<number>(nd), lo = new Array<number>(nd), hi = new Array<number>(nd), k = new Array<number>(nd);
  for (let o = 0; o < total; o++) {
    let empty = false;
    for (let d = 0; d < nd; d++) {
      p0[d] = oIdx[d] * w.strides[d] - w.padding[d][0];
      lo[d] = Math.max(0, -p0[d]);
      hi[d] = Math.min(w.window[d], inShape[d] - p0[d]);
      if (lo[d] >= hi[d]) empty = true;
    }
    let count = 0;
    if (!empty) {
      // Odometer over the in-bounds box [lo, hi) of the window.
      let base = 0;
      for (let d = 0; d < nd; d++) {
        k[d] = lo[d];
        base += (p0[d] + lo[d]) * inSt[d];
      }
      for (;;) {
        offsets[count++] = base;
        let d = nd - 1;
        for (; d >= 0; d--) {
          if (++k[d] < hi[d]) {
            base += inSt[d];
            break;
          }
          base -= (hi[d] - 1 - lo[d]) * inSt[d];
          k[d] = lo[d];
        }
        if (d < 0) break;
      }
    }
    visit(o, offsets, count);
    for (let d = nd - 1; d >= 0; d--) {
      if (++oIdx[d] < outShape[d]) break;
      oIdx[d] = 0;
    }
  }
}

/** The identity of max for a dtype (what max padding stands for). */
function maxInit(dtype: DType): number {
  return dtype === "float32" ? -Infinity : dtype === "int32" ? -2147483648 : 0;
}

/**
 * Offset of the selected (max) element among offsets[0..count): the first maximum, a NaN
 * counting as larger than everything (the first NaN wins); -1 for an all-padding window.
 */
function selectMax(x: TypedArray, offsets: Int32Array, count: number): number {
  if (count === 0) return -1;
  let best = offsets[0], bv = x[best];
  if (bv !== bv) return best;
  for (let i = 1; i < count; i++) {
    const v = x[offsets[i]];
    if (v !== v) return offsets[i];
    if (v > bv) {
      bv = v;
      best = offsets[i];
    }
  }
  return best;
}

/** Kernels of the window primitives. */
export const windowKernels: FamilyKernels<WindowParams> = {
  reduceWindow: ([x], [a], p, [o]) => {
    const out = allocPooled(o.dtype, sizeOf(o.shape));
    if (p.op === "sum") {
      const isBool = a.dtype === "bool";
      forEachWindow(a.shape, o.shape, p, (i, offs, n) => {
        let acc = 0;
        for (let j = 0; j < n; j++) acc += x[offs[j]];
        out[i] = isBool ? (acc !== 0 ? 1 : 0) : a.dtype === "int32" ? acc | 0 : acc;
      });
    } else {
      const init = maxInit(a.dtype);
      forEachWindow(a.shape, o.shape, p, (i, offs, n) => {
        let acc = init;
        for (let j = 0; j < n; j++) {
          const v = x[offs[j]];
          if (v > acc || v !== v) {
            acc = v;
            if (v !== v) break;
          }
        }
        out[i] = acc;
      });
    }
    return [out];
  },
  selectAndGather: ([x, t], [a], w, [o]) => {
    const out = allocPooled(o.dtype, sizeOf(o.shape));
    forEachWindow(a.shape, o.shape, w, (i, offs, n) => {
      const s = selectMax(x, offs, n);
      out[i] = s < 0 ? 0 : t[s];
    });
    return [out];
  },
  selectAndScatterAdd: ([s, x], [sa, a], w, [o]) => {
    const out = allocPooled(o.dtype, sizeOf(o.shape));
    forEachWindow(a.shape, sa.shape, w, (i, offs, n) => {
      const at = selectMax(x, offs, n);
      if (at >= 0) out[at] += s[i];
    });
    return [out];
  },
};
