/**
 * GEMM with an indexed B: C = alpha·op(A)·B + beta·C where B[p][j] = b[rows[p] + cols[j]].
 * The convolution kernels describe their im2col columns this way (a row per (channel, tap), a
 * column per (image, output position)), so the x86 path packs B straight from the image
 * (implicit GEMM) instead of materialising the columns. Other paths materialise B.
 *
 * @module
 */
import { type ResolvedGemm, resolveGemm, type SgemmOptions } from "./reference.ts";

/** Options of `sgemmGatherB`: {@link SgemmOptions} with B given by offset tables. */
export interface GatherBOptions extends Omit<SgemmOptions, "bOffset" | "ldb" | "transB"> {
  /** Element offset in `b` of each row p of B (at least k entries). */
  rows: Int32Array;
  /** Element offset in `b` of each column j of B (at least n entries). */
  cols: Int32Array;
}

/** Validated {@link GatherBOptions}: the strided options of A and C, and B's tables. */
export interface ResolvedGather {
  r: ResolvedGemm;
  rows: Int32Array;
  cols: Int32Array;
}

function range(t: Int32Array, n: number): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = t[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * Apply defaults and validate shapes, strides, tables and that every B element read lies in `b`.
 *
 * @example
 * ```ts
 * const g = resolveGatherB("sgemmGatherB", {
 *   m: 1, n: 2, k: 2, a: new Float32Array(2), b: new Float32Array(4),
 *   rows: Int32Array.of(0, 2), cols: Int32Array.of(0, 1), c: new Float32Array(2),
 * });
 * g.r.ldc; // 2
 * ```
 */
export function resolveGatherB(op: string, o: GatherBOptions): ResolvedGather {
  // A, C and the sizes as for any GEMM; B (row-major k×n, ldb n) only through the tables.
  const r = resolveGemm(op, { ...o, bOffset: 0, ldb: undefined, transB: false }, false);
  const { m, n, k } = r;
  const who = `${op}(m=${m} n=${n} k=${k}${r.transA ? " transA" : ""})`;
  if (!(o.rows instanceof Int32Array) || !(o.cols instanceof Int32Array)) {
    throw new TypeError(`${who}: rows and cols must be Int32Array`);
  }
  if (o.rows.length < k || o.cols.length < n) {
    throw new RangeError(`${who}: rows needs ${k} entries (has ${o.rows.length}), cols ${n} (has ${o.cols.length})`);
  }
  if (m > 0 && n > 0 && k > 0) {
    const [r0, r1] = range(o.rows, k), [c0, c1] = range(o.cols, n);
    if (r0 + c0 < 0 || r1 + c1 >= r.b.length) {
      throw new RangeError(
        `${who}: B reads b[${r0 + c0} … ${
          r1 + c1
        }] (rows ${r0}…${r1} + cols ${c0}…${c1}) but b has ${r.b.length} elements`,
      );
    }
  }
  return { r, rows: o.rows, cols: o.cols };
}

/**
 * B as a dense row-major k×n matrix (the other GEMM paths, and tests).
 *
 * @example
 * ```ts
 * const g = resolveGatherB("sgemmGatherB", {
 *   m: 1, n: 2, k: 2, a: new Float32Array(2), b: Float32Array.of(1, 2, 3, 4),
 *   rows: Int32Array.of(0, 2), cols: Int32Array.of(1, 0), c: new Float32Array(2),
 * });
 * materializeB(g); // Float32Array [2, 1, 4, 3]
 * ```
 */
export function materializeB(g: ResolvedGather, out = new Float32Array(g.r.k * g.r.n)): Float32Array {
  const { k, n, b } = g.r, { rows, cols } = g;
  for (let p = 0; p < k; p++) {
    const src = rows[p], dst = p * n;
    for (let j = 0; j < n; j++) out[dst + j] = b[src + cols[j]];
  }
  return out;
}
