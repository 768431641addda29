/**
 * CPU kernel of `convGeneralDilated` (canonical NC…/OI…/NC… layouts, XLA semantics).
 *
 * Float32 paths, picked by an estimate of GEMM flops plus gather/scatter work:
 * - phase-split gather (any params and groups; see `conv_phase.ts`): several images per
 *   GEMM, only the (tap, output) pairs that meet real input rows (transposed convolutions
 *   and their gradients skip the dilation zeros); used whenever one image's gathered
 *   columns fit in the column block.
 * - im2col (any params, any dtype): im2col blocks (tables of source indices per spatial axis
 *   cover padding, strides and both dilations) and one GEMM per (group, image, column
 *   block); integer dtypes use plain loops with int32 wrapping.
 * - scatter and kernel-unrolling (one group; see `conv_swap.ts`): for lhs-dilated convolutions
 *   whose col2im or unrolled kernel moves less data than the gather.
 * @module
 */
import type { DType, TypedArray } from "../../../dtype.ts";
import { allocPooled, recycle } from "../pool.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ConvParams } from "../../../primitives/params.ts";
import { sgemm } from "../gemm/mod.ts";
import { convKernelCol, convScatter, type SwapDims, type SwapGeom } from "./conv_swap.ts";
import { convPhase, type PhasePlan, phasePlan } from "./conv_phase.ts";

/** Largest im2col block, in elements (the column range is split to stay below it). */
let colBlock = 1 << 22;
/** Sets the largest im2col block in elements (tests use a small one to exercise blocking). */
export function setConvColBlock(elements: number): void {
  colBlock = Math.max(1, Math.floor(elements));
}

/** Convolution paths: "auto" picks by estimated cost; the others force one (tests). */
export type ConvPath = "auto" | "phase" | "im2col" | "scatter" | "kernelCol";
let forcedPath: ConvPath = "auto";
/** Forces a float32 convolution path where it applies ("auto" restores the cost-based choice). */
export function setConvPath(path: ConvPath): void {
  forcedPath = path;
}

/**
 * C[m,n] (ld ldc, at cOff) = A[m,k] (ld lda) · B[k,n] (ld ldb) for integer dtypes, wrapping
 * like int32 (uint32 wraps on store); bool is "or of ands".
 */
export function intMatmul(
  dtype: DType,
  m: number,
  n: number,
  k: number,
  a: TypedArray,
  aOff: number,
  lda: number,
  b: TypedArray,
  bOff: number,
  ldb: number,
  c: TypedArray,
  cOff: number,
  ldc: number,
): void {
  const acc = new Int32Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const av = a[aOff + i * lda + p];
      if (av === 0) continue;
      const bRow = bOff + p * ldb;
      if (dtype === "bool") { for (let j = 0; j < n; j++) acc[j] |= b[bRow + j]; }
      else for (let j = 0; j < n; j++) acc[j] = (acc[j] + Math.imul(av, b[bRow + j])) | 0;
    }
    const cRow = cOff + i * ldc;
    for (let j = 0; j < n; j++) c[cRow + j] = acc[j];
  }
}

/** Dilated length `1 + d·(n-1)` (0 for an empty axis). */
const dilate = (n: number, d: number) => (n === 0 ? 0 : 1 + d * (n - 1));

/** Geometry of a convolution in canonical layout (0-d convolutions get one axis of size 1). */
interface ConvGeom extends SwapGeom {
  nsp: number;
  /** Per spatial axis: table[k·Q + q] = input index read by tap k at output q, or -1. */
  tables: Int32Array[];
  /** Last axis, when undilated: tap k reads `q·s + k·rd − lo` for q in [qa[k], qb[k]). */
  qa: Int32Array | null;
  qb: Int32Array | null;
  /**
   * leadBase[tLead·qLead + qLead'] = input offset of the row read by the taps and outputs of
   * all but the last axis (flat indices over those axes), or -1 when it falls in padding.
   */
  leadBase: Int32Array;
}

function convGeom(
  lhsShape: readonly number[],
  rhsShape: readonly number[],
  outShape: readonly number[],
  p: ConvParams,
): ConvGeom {
  const zeroD = lhsShape.length === 2;
  const one = (a: readonly number[], v = 1) => (zeroD ? [v] : a);
  const inSp = one(lhsShape.slice(2)), kSp = one(rhsShape.slice(2)), outSp = one(outShape.slice(2));
  const strides = one(p.strides), lhsDilation = one(p.lhsDilation), rhsDilation = one(p.rhsDilation);
  const padding = zeroD ? [[0, 0] as const] : p.padding;
  const nsp = inSp.length;
  const tables = inSp.map((n, d) => {
    const K = kSp[d], Q = outSp[d], ld = lhsDilation[d];
    const dn = dilate(n, ld);
    const t = new Int32Array(K * Q);
    for (let k = 0; k < K; k++) {
      for (let q = 0; q < Q; q++) {
        const pos = q * strides[d] + k * rhsDilation[d] - padding[d][0];
        t[k * Q + q] = pos >= 0 && pos < dn && pos % ld === 0 ? pos / ld : -1;
      }
    }
    return t;
  });
  const L = nsp - 1, Kl = kSp[L], Ql = outSp[L], s = strides[L];
  let qa = null, qb = null;
  if (lhsDilation[L] === 1) {
    const clamp = (v: number) => Math.min(Ql, Math.max(0, v));
    const lo = padding[L][0], rd = rhsDilation[L];
    qa = Int32Array.from({ length: Kl }, (_, k) => clamp(Math.ceil((lo - k * rd) / s)));
    qb = Int32Array.from({ length: Kl }, (_, k) => Math.max(qa![k], clamp(Math.ceil((inSp[L] + lo - k * rd) / s))));
  }
  const inSt = stridesOf(inSp), kLead = kSp.slice(0, L), qLead = outSp.slice(0, L);
  const nq = sizeOf(qLead), leadBase = new Int32Array(sizeOf(kLead) * nq);
  for (let i = 0; i < leadBase.length; i++) {
    let rk = Math.floor(i / nq), rq = i % nq, base = 0;
    for (let d = L - 1; d >= 0 && base >= 0; d--) {
      const s = tables[d][(rk % kSp[d]) * outSp[d] + (rq % outSp[d])];
      base = s < 0 ? -1 : base + s * inSt[d];
      rk = Math.floor(rk / kSp[d]);
      rq = Math.floor(rq / outSp[d]);
    }
    leadBase[i] = base;
  }
  return { nsp, inSp, kSp, outSp, strides, padding, lhsDilation, rhsDilation, tables, qa, qb, leadBase };
}

/**
 * Fills col[colOff + (c, k…)·ld + q - q0] for flat output positions q in [q0, q1) from one
 * image `x[xOff + c·chanSize + …]` with `channels` channels. Each output row along the last
 * axis starts at a precomputed offset (`leadBase`); undilated last axes copy one run.
 */
function im2col(
  g: ConvGeom,
  x: TypedArray,
  xOff: number,
  channels: number,
  q0: number,
  q1: number,
  col: TypedArray,
  colOff = 0,
  ld = q1 - q0,
): void {
  const { nsp, inSp, kSp, outSp, tables, qa, qb, leadBase } = g;
  const chanSize = sizeOf(inSp), taps = sizeOf(kSp);
  const L = nsp - 1, Ql = outSp[L], Kl = kSp[L], Tl = tables[L], qLead = sizeOf(outSp) / Ql;
  const sL = g.strides[L], rdL = g.rhsDilation[L], loL = g.padding[L][0];
  const r0 = Math.floor(q0 / Ql), r1 = Math.ceil(q1 / Ql);
  for (let c = 0; c < channels; c++) {
    const cOff = xOff + c * chanSize;
    for (let t = 0; t < taps; t++) {
      const kl = t % Kl, lb = ((t - kl) / Kl) * qLead, tl = kl * Ql;
      const row = colOff + (c * taps + t) * ld - q0;
      const ka = qa ? qa[kl] : 0, kb = qb ? qb[kl] : 0, koff = kl * rdL - loL;
      for (let lead = r0; lead < r1; lead++) {
        const c0 = lead === r0 ? q0 - lead * Ql : 0, c1 = lead === r1 - 1 ? q1 - lead * Ql : Ql;
        const dst = row + lead * Ql;
        const base = leadBase[lb + lead];
        if (base < 0) {
          for (let j = c0; j < c1; j++) col[dst + j] = 0;
        } else if (qa) {
          const a = Math.min(c1, Math.max(c0, ka)), b = Math.min(c1, Math.max(a, kb));
          const sb = cOff + base + koff;
          for (let j = c0; j < a; j++) col[dst + j] = 0;
          if (sL === 1) {
            if (b - a > 64) col.set(x.subarray(sb + a, sb + b), dst + a);
            else for (let j = a; j < b; j++) col[dst + j] = x[sb + j];
          } else for (let j = a; j < b; j++) col[dst + j] = x[sb + j * sL];
          for (let j = b; j < c1; j++) col[dst + j] = 0;
        } else {
          const sb = cOff + base;
          for (let j = c0; j < c1; j++) {
            const s = Tl[tl + j];
            col[dst + j] = s < 0 ? 0 : x[sb + s];
          }
        }
      }
    }
  }
}

/**
 * Estimated cost of an im2col element write and of a col2im scatter-add, in GEMM flops
 * (measured with OpenBLAS on 2 cores: a write ≈ 2 ns, a flop ≈ 0.012 ns).
 */
const WRITE_COST = 150, ADD_COST = 250;

function choosePath(d: SwapDims, plan: PhasePlan, fits: boolean): ConvPath {
  const { B, I, O, P, T, Y } = d;
  if (forcedPath !== "auto") return forcedPath;
  const direct = B * I * (fits ? plan.pairs : T * Y) * (2 * O + WRITE_COST);
  const scatter = B * O * T * P * (2 * I + ADD_COST) + B * I * P * WRITE_COST;
  const kcol = 2 * B * O * I * P * Y + I * P * O * Y * WRITE_COST;
  const best = fits ? "phase" : "im2col";
  // The other paths list O(P·T) or O(P·Y) triples and must win clearly.
  if (Math.min(scatter, kcol) > 0.8 * direct || Math.min(P * T, P * Y) > 1 << 22) return best;
  return scatter <= kcol ? "scatter" : "kernelCol";
}

/** The convolution kernel (canonical layouts). */
export function convKernel(
  lhs: TypedArray,
  rhs: TypedArray,
  lShape: readonly number[],
  rShape: readonly number[],
  oShape: readonly number[],
  p: ConvParams,
  dtype: DType,
): TypedArray {
  const out = allocPooled(dtype, sizeOf(oShape));
  const g = convGeom(lShape, rShape, oShape, p);
  const C = lShape[1], [O, I] = rShape, Nout = oShape[0];
  const chanSize = sizeOf(g.inSp), taps = sizeOf(g.kSp), Q = sizeOf(g.outSp);
  const Kd = I * taps;
  if (out.length === 0 || Kd === 0) return out;
  const G = p.featureGroupCount, BG = p.batchGroupCount;
  if (dtype === "float32") {
    const plan = phasePlan(g);
    // The phase path gathers one image at a time at least.
    const fits = I * plan.maxT * plan.maxU <= colBlock;
    const d: SwapDims = { B: Nout, I, O, P: chanSize, T: taps, Y: Q };
    const path = G === 1 && BG === 1 ? choosePath(d, plan, fits) : fits || forcedPath === "phase" ? "phase" : "im2col";
    const [x, w, o] = [lhs as Float32Array, rhs as Float32Array, out as Float32Array];
    if (path === "scatter" || path === "kernelCol") {
      (path === "scatter" ? convScatter : convKernelCol)(g, x, w, o, d, colBlock);
      return out;
    }
    if (path === "phase") {
      convPhase(plan, g, x, w, o, { C, I, O, N: Nout, G, BG }, colBlock);
      return out;
    }
  }
  const groups = G * BG, Og = O / groups;
  const blockQ = Math.max(1, Math.min(Q, Math.floor(colBlock / Kd)));
  const col = allocPooled(dtype, Kd * Math.min(Q, blockQ));
  for (let n = 0; n < Nout; n++) {
    for (let grp = 0; grp < groups; grp++) {
      const inBatch = BG > 1 ? grp * Nout + n : n;
      const inChan = G > 1 ? grp * I : 0;
      const xOff = (inBatch * C + inChan) * chanSize;
      const wOff = grp * Og * Kd;
      for (let q0 = 0; q0 < Q; q0 += blockQ) {
        const q1 = Math.min(Q, q0 + blockQ), w = q1 - q0;
        const cOff = (n * O + grp * Og) * Q + q0;
        im2col(g, lhs, xOff, I, q0, q1, col);
        if (dtype === "float32") {
          sgemm({
            m: Og,
            n: w,
            k: Kd,
            a: rhs as Float32Array,
            aOffset: wOff,
            lda: Kd,
            b: col as Float32Array,
            ldb: w,
            c: out as Float32Array,
            cOffset: cOff,
            ldc: Q,
          });
        } else intMatmul(dtype, Og, w, Kd, rhs, wOff, Kd, col, 0, w, out, cOff, Q);
      }
    }
  }
  recycle(col);
  return out;
}
