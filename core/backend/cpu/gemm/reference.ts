/**
 * Plain JavaScript GEMM implementations: an obviously-correct float64
 * reference (for tests) and a portable float32 fallback path.
 *
 * @module
 */

/** Options accepted by every sgemm implementation (row-major storage). */
export interface SgemmOptions {
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** Columns of op(A) / rows of op(B). */
  k: number;
  /** Storage of A. */
  a: Float32Array;
  /** Element offset of A[0,0] in `a` (default 0). */
  aOffset?: number;
  /** Row stride of stored A in elements (default: its column count). */
  lda?: number;
  /** Use Aᵀ (A stored as k×m). */
  transA?: boolean;
  /** Storage of B. */
  b: Float32Array;
  /** Element offset of B[0,0] in `b` (default 0). */
  bOffset?: number;
  /** Row stride of stored B in elements (default: its column count). */
  ldb?: number;
  /** Use Bᵀ (B stored as n×k). */
  transB?: boolean;
  /** Storage of C (m×n). */
  c: Float32Array;
  /** Element offset of C[0,0] in `c` (default 0). */
  cOffset?: number;
  /** Row stride of C in elements (default n). */
  ldc?: number;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of the existing C (default 0; when 0, C is not read). */
  beta?: number;
}

/** Fully resolved options (all defaults applied). */
export interface ResolvedGemm {
  m: number;
  n: number;
  k: number;
  a: Float32Array;
  aOffset: number;
  lda: number;
  transA: boolean;
  b: Float32Array;
  bOffset: number;
  ldb: number;
  transB: boolean;
  c: Float32Array;
  cOffset: number;
  ldc: number;
  alpha: number;
  beta: number;
}

function checkInt(op: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
  }
}

function checkSpan(
  op: string,
  name: string,
  buf: Float32Array,
  off: number,
  rows: number,
  cols: number,
  ld: number,
): void {
  if (rows === 0 || cols === 0) return;
  const need = off + (rows - 1) * ld + cols;
  if (need > buf.length) {
    throw new RangeError(
      `${op}: ${name} needs ${need} elements (offset ${off}, ${rows}x${cols}, ld ${ld}) but has ${buf.length}`,
    );
  }
}

/**
 * Apply defaults and validate shapes, strides and buffer lengths. With `stridedB` false, B is
 * given some other way (offset tables, see `gather.ts`) and only its type is checked here.
 *
 * @example
 * ```ts
 * const r = resolveGemm("sgemm", { m: 2, n: 2, k: 2, a: new Float32Array(4), b: new Float32Array(4), c: new Float32Array(4) });
 * r.lda; // 2
 * ```
 */
export function resolveGemm(op: string, o: SgemmOptions, stridedB = true): ResolvedGemm {
  const { m, n, k } = o;
  checkInt(op, "m", m, 0);
  checkInt(op, "n", n, 0);
  checkInt(op, "k", k, 0);
  const transA = o.transA ?? false, transB = o.transB ?? false;
  const aRows = transA ? k : m, aCols = transA ? m : k;
  const bRows = transB ? n : k, bCols = transB ? k : n;
  const r: ResolvedGemm = {
    m,
    n,
    k,
    transA,
    transB,
    a: o.a,
    aOffset: o.aOffset ?? 0,
    lda: o.lda ?? Math.max(1, aCols),
    b: o.b,
    bOffset: o.bOffset ?? 0,
    ldb: o.ldb ?? Math.max(1, bCols),
    c: o.c,
    cOffset: o.cOffset ?? 0,
    ldc: o.ldc ?? Math.max(1, n),
    alpha: o.alpha ?? 1,
    beta: o.beta ?? 0,
  };
  const shape = `m=${m} n=${n} k=${k}${transA ? " transA" : ""}${transB ? " transB" : ""}`;
  const who = `${op}(${shape})`;
  for (const [name, v] of [["aOffset", r.aOffset], ["bOffset", r.bOffset], ["cOffset", r.cOffset]] as const) {
    checkInt(who, name, v, 0);
  }
  checkInt(who, "lda", r.lda, Math.max(1, aCols));
  if (stridedB) checkInt(who, "ldb", r.ldb, Math.max(1, bCols));
  checkInt(who, "ldc", r.ldc, Math.max(1, n));
  if (!(r.a instanceof Float32Array) || !(r.b instanceof Float32Array) || !(r.c instanceof Float32Array)) {
    throw new TypeError(`${who}: a, b and c must be Float32Array`);
  }
  if (m > 0 && n > 0 && k > 0) {
    checkSpan(who, "a", r.a, r.aOffset, aRows, aCols, r.lda);
    if (stridedB) checkSpan(who, "b", r.b, r.bOffset, bRows, bCols, r.ldb);
  }
  checkSpan(who, "c", r.c, r.cOffset, m, n, r.ldc);
  return r;
}

/** C = beta·C over the m×n block (beta = 0 writes zeros without reading C). */
export function scaleC(r: ResolvedGemm): void {
  const { c, cOffset, ldc, m, n, beta } = r;
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const row = cOffset + i * ldc;
    if (beta === 0) c.fill(0, row, row + n);
    else for (let j = row; j < row + n; j++) c[j] *= beta;
  }
}

/**
 * Reference GEMM: triple loop with float64 accumulation. Slow but
 * obviously correct; used by tests to check the fast paths.
 *
 * @example
 * ```ts
 * const c = new Float32Array(1);
 * sgemmRef({ m: 1, n: 1, k: 2, a: new Float32Array([1, 2]), b: new Float32Array([3, 4]), c });
 * c[0]; // 11
 * ```
 */
export function sgemmRef(o: SgemmOptions): void {
  const r = resolveGemm("sgemmRef", o);
  const { m, n, k, a, b, c, alpha, beta } = r;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = r.transA ? a[r.aOffset + p * r.lda + i] : a[r.aOffset + i * r.lda + p];
        const bv = r.transB ? b[r.bOffset + j * r.ldb + p] : b[r.bOffset + p * r.ldb + j];
        s += av * bv;
      }
      const ci = r.cOffset + i * r.ldc + j;
      c[ci] = alpha * s + (beta === 0 ? 0 : beta * c[ci]);
    }
  }
}

/**
 * Portable float32 GEMM in plain JavaScript (i-p-j loop order, contiguous
 * inner loop over C rows). Used when WebAssembly SIMD is unavailable or
 * `WAX_GEMM=js`.
 *
 * @example
 * ```ts
 * const c = new Float32Array(1);
 * sgemmJs(resolveGemm("sgemm", { m: 1, n: 1, k: 1, a: new Float32Array([2]), b: new Float32Array([3]), c }));
 * c[0]; // 6
 * ```
 */
export function sgemmJs(r: ResolvedGemm): void {
  scaleC(r);
  const { m, n, k, a, b, c, alpha, lda, ldb, ldc } = r;
  if (alpha === 0 || k === 0) return;
  const sAi = r.transA ? 1 : lda, sAp = r.transA ? lda : 1;
  if (!r.transB) {
    for (let i = 0; i < m; i++) {
      const ci = r.cOffset + i * ldc;
      for (let p = 0; p < k; p++) {
        const av = alpha * a[r.aOffset + i * sAi + p * sAp];
        const bi = r.bOffset + p * ldb;
        for (let j = 0; j < n; j++) c[ci + j] += av * b[bi + j];
      }
    }
    return;
  }
  for (let i = 0; i < m; i++) {
    const ci = r.cOffset + i * ldc;
    for (let j = 0; j < n; j++) {
      const bj = r.bOffset + j * ldb;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[r.aOffset + i * sAi + p * sAp] * b[bj + p];
      c[ci + j] += alpha * s;
    }
  }
}
