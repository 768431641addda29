/**
 * GEMM with an indexed B: C = alpha·op(A)·B + beta·C where B[p][j] = b[rows[p] + cols[j]].
 * The convolution kernels describe their im2col columns this way (a row per (channel, tap), a
 * column per (image, output position)), so the x86 path packs B straight from the image
 * (implicit GEMM) instead of materialising the columns. Other paths materialise B.
 *
 * @module
 */
import { checkInt, checkSpan, type ResolvedGemm, type SgemmOptions } from "./reference.ts";

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
  const { m, n, k } = o;
  const who = `${op}(m=${m} n=${n} k=${k}${o.transA ? " transA" : ""})`;
  checkInt(who, "m", m, 0);
  checkInt(who, "n", n, 0);
  checkInt(who, "k", k, 0);
  const transA = o.transA ?? false, aRows = transA ? k : m, aCols = transA ? m : k;
  const r: ResolvedGemm = {
    m,
    n,
    k,
    transA,
    transB: false,
    a: o.a,
    aOffset: o.aOffset ?? 0,
    lda: o.lda ?? Math.max(1, aCols),
    b: o.b,
    bOffset: 0,
    ldb: Math.max(1, n),
    c: o.c,
    cOffset: o.cOffset ?? 0,
    ldc: o.ldc ?? Math.max(1, n),
    alpha: o.alpha ?? 1,
    beta: o.beta ?? 0,
  };
  checkInt(who, "aOffset", r.aOffset, 0);
  checkInt(who, "cOffset", r.cOffset, 0);
  checkInt(who, "lda", r.lda, Math.max(1, aCols));
  checkInt(who, "ldc", r.ldc, Math.max(1, n));
  if (!(r.a instanceof Float32Array) || !(r.b instanceof Float32Array) || !(r.c instanceof Float32Array)) {
    throw new TypeError(`${who}: a, b and c must be Float32Array`);
  }
  if (!(o.rows instanceof Int32Array) || !(o.cols instanceof Int32Array)) {
    throw new TypeError(`${who}: rows and cols must be Int32Array`);
  }
  if (o.rows.length < k || o.cols.length < n) {
    throw new RangeError(`${who}: rows needs ${k} entries (has ${o.rows.length}), cols ${n} (has ${o.cols.length})`);
  }
  if (m > 0 && n > 0 && k > 0) {
    checkSpan(who, "a", r.a, r.aOffset, aRows, aCols, r.lda);
    const [r0, r1] = range(o.rows, k), [c0, c1] = range(o.cols, n);
    if (r0 + c0 < 0 || r1 + c1 >= r.b.length) {
      throw new RangeError(
        `${who}: B reads b[${r0 + c0} … ${
          r1 + c1
        }] (rows ${r0}…${r1} + cols ${c0}…${c1}) but b has ${r.b.length} elements`,
      );
    }
  }
  checkSpan(who, "c", r.c, r.cOffset, m, n, r.ldc);
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
