/**
 * Per-thread GEMM slice for the x86 path: cache blocking, packing through the
 * generated packers (pack.ts) and one generated macro-kernel call per packed
 * (mc×nc×kc) block. Runs unchanged on the main thread and in workers: it
 * works on raw addresses only, plus the thread's own scratch buffers.
 *
 * @module
 */
import { P, type TileConfig } from "./kernel.ts";
import { maskBits, Q } from "./pack.ts";
import { addressOf, kernelAt, type KernelFn } from "./exec.ts";

/** Cache-blocking sizes (elements). */
export interface Blocking {
  mc: number;
  kc: number;
  nc: number;
}

/** Default blocking: A block (mc×kc) in L2, B block (kc×nc) in L2/L3. */
export const BLOCKING: Blocking = { mc: 288, kc: 256, nc: 2048 };

/** One thread's share of a product: C[i0:i1, j0:j1] (+)= alpha·op(A)·op(B). */
export interface SliceJob {
  k: number;
  /** Address of the A storage's element 0 (offsets are in elements from it). */
  aAddr: number;
  aOffset: number;
  lda: number;
  transA: boolean;
  bAddr: number;
  bOffset: number;
  ldb: number;
  transB: boolean;
  /**
   * When nonzero, B is indexed instead of strided: op(B)[p][c] = b[bOffset + rows[p] + cols[c]]
   * with `bRows` the address of int64 byte offsets (one per p) and `bCols` that of int32
   * element offsets (one per column, readable up to a whole panel past the last).
   */
  bRows: number;
  bCols: number;
  cAddr: number;
  cOffset: number;
  ldc: number;
  alpha: number;
  beta: number;
  i0: number;
  i1: number;
  j0: number;
  j1: number;
}

/** Generated code of one thread: macro-kernels by tail rows, then the four packers. */
export interface Codes {
  /** kernels[rem]: macro-kernel whose last row panel has `rem` rows. */
  kernels: KernelFn[];
  /** Pack A (width mr) from contiguous rows (transA) / with gathers. */
  packAContig: KernelFn;
  packAGather: KernelFn;
  /** Pack B (width nr) from contiguous rows / with gathers (transB). */
  packBContig: KernelFn;
  packBGather: KernelFn;
  /** Pack B (width nr) through row and column offset tables. */
  packBIndexed: KernelFn;
}

/** Wrap code addresses `[kernels by rem..., packAContig, packAGather, packBContig, packBGather, packBIndexed]`. */
export function codesAt(addrs: bigint[]): Codes {
  const fns = addrs.map((x) => kernelAt(x));
  const [packAContig, packAGather, packBContig, packBGather, packBIndexed] = fns.slice(-5);
  return { kernels: fns.slice(0, -5), packAContig, packAGather, packBContig, packBGather, packBIndexed };
}

/** A thread's reusable state: code, scratch and parameter blocks. */
export interface SliceCtx {
  tile: TileConfig;
  blocking: Blocking;
  code: Codes;
  aAddr: number;
  bAddr: number;
  params: BigInt64Array;
  paramsF32: Float32Array;
  qA: BigInt64Array;
  qB: BigInt64Array;
  idxA: Int32Array;
  idxB: Int32Array;
  keep: unknown[];
}

/** Address of a typed array's first element as a number. */
export function addrOf(t: ArrayBufferView): number {
  return Number(addressOf(t));
}

/** 64-byte aligned Float32Array of `n` elements. */
function aligned(n: number): Float32Array {
  const raw = new Float32Array(n + 16);
  return raw.subarray(((64 - (addrOf(raw) & 63)) & 63) / 4);
}

/** Create a thread context around already-loaded code. */
export function makeCtx(tile: TileConfig, blocking: Blocking, code: Codes): SliceCtx {
  const nr = 16 * tile.nv;
  const aBuf = aligned(Math.ceil(blocking.mc / tile.mr) * tile.mr * blocking.kc);
  const bBuf = aligned(Math.ceil(blocking.nc / nr) * nr * blocking.kc);
  const params = new BigInt64Array(P.size);
  const qA = new BigInt64Array(Q.size), qB = new BigInt64Array(Q.size);
  const idxA = new Int32Array(64), idxB = new Int32Array(64);
  qA[Q.index] = BigInt(addrOf(idxA)), qB[Q.index] = BigInt(addrOf(idxB));
  return {
    tile,
    blocking,
    code,
    aAddr: addrOf(aBuf),
    bAddr: addrOf(bBuf),
    params,
    paramsF32: new Float32Array(params.buffer),
    qA,
    qB,
    idxA,
    idxB,
    keep: [aBuf, bBuf],
  };
}

/**
 * Fill packer block `q`: `len` valid rows in panels `width` wide, `steps`
 * steps; strides in elements. Returns whether the gather variant is needed.
 */
function setPack(
  q: BigInt64Array,
  idx: Int32Array,
  width: number,
  src: number,
  dst: number,
  len: number,
  steps: number,
  pStride: number,
  rStride: number,
  alpha: number,
): boolean {
  const np = Math.ceil(len / width);
  q[Q.src] = BigInt(src), q[Q.dst] = BigInt(dst), q[Q.kc] = BigInt(steps), q[Q.npanels] = BigInt(np);
  q[Q.pStride] = BigInt(pStride * 4), q[Q.panelStride] = BigInt(width * rStride * 4);
  q[Q.maskFull] = maskBits(width), q[Q.maskLast] = maskBits(len - (np - 1) * width);
  q[Q.storeMask] = BigInt((1 << Math.min(16, width)) - 1);
  new Float32Array(q.buffer, Q.alpha * 8, 2).set([alpha, 0]);
  if (rStride === 1) return false;
  if (idx[1] !== rStride) { for (let r = 0; r < 64; r++) idx[r] = r * rStride; }
  return true;
}

const FULL_MASK = maskBits(64);

/** Run the slice `j` with the thread context `ctx` (m, n, k ≥ 1, alpha ≠ 0). */
export function runSlice(ctx: SliceCtx, j: SliceJob): void {
  const { tile, blocking, params, paramsF32, code } = ctx;
  const mr = tile.mr, nr = 16 * tile.nv;
  const MC = blocking.mc, KC = blocking.kc, NC = blocking.nc;
  // op(A)[i][p] = a[aOffset + i·si + p·sp]; op(B)[p][c] = b[bOffset + p·tp + c·tc].
  const si = j.transA ? 1 : j.lda, sp = j.transA ? j.lda : 1;
  const tp = j.transB ? 1 : j.ldb, tc = j.transB ? j.ldb : 1;
  params[P.ldc] = BigInt(j.ldc * 4);
  params[P.maskFull] = FULL_MASK;
  for (let jc = j.j0; jc < j.j1; jc += NC) {
    const nc = Math.min(NC, j.j1 - jc);
    const nt = Math.ceil(nc / nr);
    params[P.nt] = BigInt(nt);
    params[P.maskLast] = maskBits(nc - (nt - 1) * nr);
    for (let pc = 0; pc < j.k; pc += KC) {
      const kc = Math.min(KC, j.k - pc);
      if (j.bRows) {
        setPack(ctx.qB, ctx.idxB, nr, j.bAddr + j.bOffset * 4, ctx.bAddr, nc, kc, 0, 1, 1);
        ctx.qB[Q.rows] = BigInt(j.bRows + pc * 8), ctx.qB[Q.cols] = BigInt(j.bCols + jc * 4);
        code.packBIndexed(ctx.qB);
      } else {
        const bSrc = j.bAddr + (j.bOffset + pc * tp + jc * tc) * 4;
        const gB = setPack(ctx.qB, ctx.idxB, nr, bSrc, ctx.bAddr, nc, kc, tp, tc, 1);
        (gB ? code.packBGather : code.packBContig)(ctx.qB);
      }
      params[P.bp] = BigInt(ctx.bAddr);
      params[P.kc4] = BigInt(kc >> 2);
      params[P.kcr] = BigInt(kc & 3);
      params[P.bStride] = BigInt(kc * nr * 4);
      const first = pc === 0;
      params[P.betaFlag] = first && j.beta === 0 ? 0n : 1n;
      paramsF32[2 * P.beta] = first ? j.beta : 1;
      paramsF32[2 * P.beta + 1] = 0;
      for (let ic = j.i0; ic < j.i1; ic += MC) {
        const mc = Math.min(MC, j.i1 - ic);
        const aSrc = j.aAddr + (j.aOffset + ic * si + pc * sp) * 4;
        const gA = setPack(ctx.qA, ctx.idxA, mr, aSrc, ctx.aAddr, mc, kc, sp, si, j.alpha);
        (gA ? code.packAGather : code.packAContig)(ctx.qA);
        params[P.ap] = BigInt(ctx.aAddr);
        params[P.c] = BigInt(j.cAddr + (j.cOffset + ic * j.ldc + jc) * 4);
        params[P.mFull] = BigInt(Math.floor(mc / mr));
        code.kernels[mc % mr](params);
      }
    }
  }
}

/** Float64 slots of an encoded {@link SliceJob} (for workers). */
export const J = {
  aAddr: 0,
  aOffset: 1,
  lda: 2,
  transA: 3,
  bAddr: 4,
  bOffset: 5,
  ldb: 6,
  transB: 7,
  cAddr: 8,
  cOffset: 9,
  ldc: 10,
  k: 11,
  alpha: 12,
  beta: 13,
  i0: 14,
  i1: 15,
  j0: 16,
  j1: 17,
  bRows: 18,
  bCols: 19,
  size: 20,
} as const;

const KEYS = Object.keys(J).filter((key) => key !== "size") as (keyof SliceJob)[];

/** Write `j` into the Float64 record `q`. */
export function encodeJob(q: Float64Array, j: SliceJob): void {
  for (const key of KEYS) q[J[key as keyof typeof J]] = Number(j[key]);
}

/** Decode a job written by {@link encodeJob}. */
export function decodeJob(q: Float64Array): SliceJob {
  const j = {} as Record<string, number | boolean>;
  for (const key of KEYS) j[key] = q[J[key as keyof typeof J]];
  j.transA = j.transA !== 0, j.transB = j.transB !== 0;
  return j as unknown as SliceJob;
}
