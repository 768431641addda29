/**
 * The blocked GEMM driver that runs on every thread (main thread and
 * workers). It must stay self-contained — no imports, no closures, no
 * module-level references — because its source text is shipped to worker
 * threads via `Function.prototype.toString`.
 *
 * @module
 */

/** Exports of the generated GEMM wasm module. */
export interface GemmExports {
  packA(src: number, rs: number, cs: number, mc: number, kc: number, kcp: number, alpha: number, dst: number): void;
  packB(src: number, rs: number, cs: number, kc: number, nc: number, kcp: number, dst: number): void;
  macro(
    mc: number,
    nc: number,
    kcp: number,
    ap: number,
    bp: number,
    c: number,
    ldc: number,
    tile: number,
    overwrite: number,
  ): void;
}

/** Slot layout of the Float64 parameter block read by {@link driveSlice}. */
export const P = {
  m: 1,
  n: 2,
  k: 3,
  batch: 4,
  aPtr: 5,
  aRs: 6,
  aCs: 7,
  aBs: 8,
  bPtr: 9,
  bRs: 10,
  bCs: 11,
  bBs: 12,
  cPtr: 13,
  ldc: 14,
  cBs: 15,
  alpha: 16,
  packA: 17,
  packB: 18,
  tile: 19,
  mr: 20,
  nr: 21,
  unroll: 22,
  mcMax: 23,
  kcMax: 24,
  ncMax: 25,
  overwrite: 26,
  size: 32,
} as const;

/**
 * Compute one slice: for each of `batch` problems, C += alpha·A·B (or
 * C = alpha·A·B when the overwrite flag is set) with the
 * BLIS loop order (jc over n, pc over k, ic over m), packing into the
 * slice's private buffers. All pointers and strides are wasm byte offsets;
 * indices into `q` follow {@link P} (literal numbers are used because this
 * function's source is shipped to workers).
 *
 * @example
 * ```ts
 * // q is a Float64Array filled according to P; ex the wasm exports.
 * // driveSlice(ex, q);
 * ```
 */
export function driveSlice(ex: GemmExports, q: ArrayLike<number>): void {
  const m = q[1], n = q[2], k = q[3], batch = q[4];
  const aRs = q[6], aCs = q[7], bRs = q[10], bCs = q[11], ldc = q[14], alpha = q[16];
  const pa = q[17], pb = q[18], tile = q[19];
  const mr = q[20], nr = q[21], un = q[22], mcMax = q[23], kcMax = q[24], ncMax = q[25], overwrite = q[26];
  if (m <= 0 || n <= 0 || k <= 0) return;
  // Balanced block sizes: equal-ish blocks, rounded to the register tile.
  const kBlocks = Math.ceil(k / kcMax);
  const kcB = Math.min(kcMax, Math.ceil(Math.ceil(k / kBlocks) / un) * un);
  const mBlocks = Math.ceil(m / mcMax);
  const mcB = Math.min(mcMax, Math.ceil(Math.ceil(m / mBlocks) / mr) * mr);
  const nBlocks = Math.ceil(n / ncMax);
  const ncB = Math.min(ncMax, Math.ceil(Math.ceil(n / nBlocks) / nr) * nr);
  for (let t = 0; t < batch; t++) {
    const a = q[5] + t * q[8], b = q[9] + t * q[12], c = q[13] + t * q[15];
    for (let jc = 0; jc < n; jc += ncB) {
      const nc = Math.min(ncB, n - jc);
      for (let pc = 0; pc < k; pc += kcB) {
        const kc = Math.min(kcB, k - pc);
        const kcp = Math.ceil(kc / un) * un;
        ex.packB(b + pc * bRs + jc * bCs, bRs, bCs, kc, nc, kcp, pb);
        for (let ic = 0; ic < m; ic += mcB) {
          const mc = Math.min(mcB, m - ic);
          ex.packA(a + ic * aRs + pc * aCs, aRs, aCs, mc, kc, kcp, alpha, pa);
          ex.macro(mc, nc, kcp, pa, pb, c + ic * ldc + jc * 4, ldc, tile, overwrite && pc === 0 ? 1 : 0);
        }
      }
    }
  }
}
