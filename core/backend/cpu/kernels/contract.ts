/**
 * CPU kernels of the contractions. `dotGeneral` lays both operands out as [B, M, K] /
 * [B, K, N] (or their transposes, with no copy when the input already has that layout)
 * and calls the batched GEMM. `convGeneralDilated` builds im2col blocks (one table of source
 * indices per spatial axis covers padding, strides and both dilations) and runs one GEMM per
 * (batch, group, column block). Integer dtypes use plain loops with int32 wrapping.
 * @module
 */
import { allocTyped, type DType, type TypedArray } from "../../../dtype.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ContractParams, ConvParams, DotDims } from "../../../primitives/contract.ts";
import type { FamilyKernels } from "../kernel_types.ts";
import { sgemm, sgemmBatched } from "../gemm.ts";
import { isIdentity, transposeArray } from "./movement.ts";

/** Largest im2col block, in elements (the column range is split to stay below it). */
let colBlock = 1 << 22;
/** Sets the largest im2col block in elements (tests use a small one to exercise blocking). */
export function setConvColBlock(elements: number): void {
  colBlock = Math.max(1, Math.floor(elements));
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

const remaining = (n: number, ...drop: number[][]) =>
  [...Array(n).keys()].filter((i) => !drop.some((d) => d.includes(i)));
const prod = (shape: readonly number[], axes: readonly number[]) => axes.reduce((n, d) => n * shape[d], 1);

/** An operand as a [B, rows, cols] buffer, possibly transposed ([B, cols, rows]). */
interface Laid {
  data: TypedArray;
  trans: boolean;
}

/** Lays out `x` as [batch, outer, inner] groups, reusing it when the axes already match. */
function layout(
  x: TypedArray,
  shape: readonly number[],
  dtype: DType,
  batch: number[],
  outer: number[],
  inner: number[],
  allowTrans: boolean,
): Laid {
  if (isIdentity([...batch, ...outer, ...inner])) return { data: x, trans: false };
  if (allowTrans && isIdentity([...batch, ...inner, ...outer])) return { data: x, trans: true };
  return { data: transposeArray(x, shape, [...batch, ...outer, ...inner], dtype), trans: false };
}

function dotGeneralKernel(
  a: TypedArray,
  b: TypedArray,
  aShape: readonly number[],
  bShape: readonly number[],
  dims: DotDims,
  dtype: DType,
): TypedArray {
  const [[ac, bc], [ab, bb]] = [dims.contract, dims.batch];
  const af = remaining(aShape.length, ac, ab), bf = remaining(bShape.length, bc, bb);
  const B = prod(aShape, ab), M = prod(aShape, af), K = prod(aShape, ac), N = prod(bShape, bf);
  const out = allocTyped(dtype, B * M * N);
  if (out.length === 0) return out;
  const float = dtype === "float32";
  const A = layout(a, aShape, dtype, ab, af, ac, float);
  const Bm = layout(b, bShape, dtype, bb, bc, bf, float);
  if (!float) {
    for (let t = 0; t < B; t++) {
      intMatmul(dtype, M, N, K, A.data, t * M * K, K, Bm.data, t * K * N, N, out, t * M * N, N);
    }
    return out;
  }
  const opts = {
    m: M,
    n: N,
    k: K,
    a: A.data as Float32Array,
    transA: A.trans,
    lda: Math.max(1, A.trans ? M : K),
    b: Bm.data as Float32Array,
    transB: Bm.trans,
    ldb: Math.max(1, Bm.trans ? K : N),
    c: out as Float32Array,
  };
  if (B === 1) sgemm(opts);
  else sgemmBatched({ ...opts, batch: B, strideA: M * K, strideB: K * N, strideC: M * N });
  return out;
}

/** Dilated length `1 + d·(n-1)` (0 for an empty axis). */
const dilate = (n: number, d: number) => (n === 0 ? 0 : 1 + d * (n - 1));

/** Geometry of a convolution in canonical layout. */
interface ConvGeom {
  nsp: number;
  inSp: number[];
  kSp: number[];
  outSp: number[];
  /** Per spatial axis: table[k·Q + q] = input index read by tap k at output q, or -1. */
  tables: Int32Array[];
}

function convGeom(
  lhsShape: readonly number[],
  rhsShape: readonly number[],
  outShape: readonly number[],
  p: ConvParams,
): ConvGeom {
  const nsp = lhsShape.length - 2;
  const inSp = lhsShape.slice(2), kSp = rhsShape.slice(2), outSp = outShape.slice(2);
  const tables = inSp.map((n, d) => {
    const K = kSp[d], Q = outSp[d], ld = p.lhsDilation[d];
    const dn = dilate(n, ld);
    const t = new Int32Array(K * Q);
    for (let k = 0; k < K; k++) {
      for (let q = 0; q < Q; q++) {
        const pos = q * p.strides[d] + k * p.rhsDilation[d] - p.padding[d][0];
        t[k * Q + q] = pos >= 0 && pos < dn && pos % ld === 0 ? pos / ld : -1;
      }
    }
    return t;
  });
  return { nsp, inSp, kSp, outSp, tables };
}

/**
 * Fills col[colOff + (c, k…)·ld + q - q0] for flat output positions q in [q0, q1) from one
 * image `x[xOff + c·chanSize + …]` with `channels` channels.
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
  const { nsp, inSp, kSp, outSp, tables } = g;
  const inSt = stridesOf(inSp);
  const chanSize = sizeOf(inSp), taps = sizeOf(kSp);
  const last = nsp - 1, Ql = outSp[last], Tl = tables[last];
  const kIdx = new Array<number>(nsp).fill(0);
  const qIdx = new Array<number>(nsp).fill(0);
  for (let c = 0; c < channels; c++) {
    const cOff = xOff + c * chanSize;
    for (let t = 0; t < taps; t++) {
      let r = t;
      for (let d = last; d >= 0; d--) {
        kIdx[d] = r % kSp[d];
        r = Math.floor(r / kSp[d]);
      }
      const row = colOff + (c * taps + t) * ld;
      const tl = kIdx[last] * Ql;
      let q = q0;
      while (q < q1) {
        // Decompose q; the run covers the rest of this row of the last output axis.
        let rq = q;
        for (let d = last; d >= 0; d--) {
          qIdx[d] = rq % outSp[d];
          rq = Math.floor(rq / outSp[d]);
        }
        let base = cOff, valid = true;
        for (let d = 0; d < last; d++) {
          const s = tables[d][kIdx[d] * outSp[d] + qIdx[d]];
          if (s < 0) {
            valid = false;
            break;
          }
          base += s * inSt[d];
        }
        const ql0 = qIdx[last];
        const run = Math.min(Ql - ql0, q1 - q);
        const dst = row + (q - q0);
        if (!valid) { for (let j = 0; j < run; j++) col[dst + j] = 0; }
        else {
          for (let j = 0; j < run; j++) {
            const s = Tl[tl + ql0 + j];
            col[dst + j] = s < 0 ? 0 : x[base + s];
          }
        }
        q += run;
      }
    }
  }
}

function convKernel(
  lhs: TypedArray,
  rhs: TypedArray,
  lShape: readonly number[],
  rShape: readonly number[],
  oShape: readonly number[],
  p: ConvParams,
  dtype: DType,
): TypedArray {
  const out = allocTyped(dtype, sizeOf(oShape));
  if (out.length === 0) return out;
  const g = convGeom(lShape, rShape, oShape, p);
  const C = lShape[1], [O, I] = rShape, Nout = oShape[0];
  const G = p.featureGroupCount, BG = p.batchGroupCount;
  const groups = G * BG, Og = O / groups;
  const chanSize = sizeOf(g.inSp), taps = sizeOf(g.kSp), Q = sizeOf(g.outSp);
  const Kd = I * taps;
  const blockQ = Math.max(1, Math.min(Q, Math.floor(colBlock / Math.max(1, Kd))));
  // Several whole images per GEMM when one image's columns are few (the usual case for
  // small feature maps): one [Og, Kd] × [Kd, nb·Q] product instead of nb thin ones.
  const nb = blockQ === Q && dtype === "float32"
    ? Math.min(Nout, Math.max(1, Math.floor(colBlock / Math.max(1, Kd * Q))))
    : 1;
  if (nb > 1 && Kd > 0) {
    convImagesBatched(g, lhs, rhs, out as Float32Array, { C, O, I, Nout, G, BG, Og, Kd, Q, nb, chanSize });
    return out;
  }
  const col = allocTyped(dtype, Kd * Math.min(Q, blockQ));
  for (let n = 0; n < Nout; n++) {
    for (let grp = 0; grp < groups; grp++) {
      const inBatch = BG > 1 ? grp * Nout + n : n;
      const inChan = G > 1 ? grp * I : 0;
      const xOff = (inBatch * C + inChan) * chanSize;
      const wOff = grp * Og * Kd;
      for (let q0 = 0; q0 < Q; q0 += blockQ) {
        const q1 = Math.min(Q, q0 + blockQ), w = q1 - q0;
        const cOff = (n * O + grp * Og) * Q + q0;
        if (Kd === 0) continue;
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
  return out;
}

interface ConvDims {
  C: number;
  O: number;
  I: number;
  Nout: number;
  G: number;
  BG: number;
  Og: number;
  Kd: number;
  Q: number;
  nb: number;
  chanSize: number;
}

/** Convolution with `nb` images per im2col block and GEMM, then a scatter into [N, O, Q]. */
function convImagesBatched(g: ConvGeom, lhs: TypedArray, rhs: TypedArray, out: Float32Array, d: ConvDims): void {
  const { C, O, I, Nout, G, BG, Og, Kd, Q, nb, chanSize } = d;
  const groups = G * BG;
  const col = new Float32Array(Kd * nb * Q);
  const tmp = new Float32Array(Og * nb * Q);
  for (let grp = 0; grp < groups; grp++) {
    const inChan = G > 1 ? grp * I : 0;
    for (let n0 = 0; n0 < Nout; n0 += nb) {
      const cnt = Math.min(nb, Nout - n0), w = cnt * Q;
      for (let i = 0; i < cnt; i++) {
        const n = n0 + i;
        const inBatch = BG > 1 ? grp * Nout + n : n;
        im2col(g, lhs, (inBatch * C + inChan) * chanSize, I, 0, Q, col, i * Q, w);
      }
      sgemm({
        m: Og,
        n: w,
        k: Kd,
        a: rhs as Float32Array,
        aOffset: grp * Og * Kd,
        lda: Kd,
        b: col,
        ldb: w,
        c: tmp,
        ldc: w,
      });
      for (let i = 0; i < cnt; i++) {
        for (let o = 0; o < Og; o++) {
          const dst = ((n0 + i) * O + grp * Og + o) * Q;
          out.set(tmp.subarray(o * w + i * Q, o * w + i * Q + Q), dst);
        }
      }
    }
  }
}

/** Kernels of the contraction primitives. */
export const contractKernels: FamilyKernels<ContractParams> = {
  dotGeneral: ([a, b], [aa, ba], dims, [o]) => [dotGeneralKernel(a, b, aa.shape, ba.shape, dims, o.dtype)],
  convGeneralDilated: ([l, r], [la, ra], p, [o]) => [convKernel(l, r, la.shape, ra.shape, o.shape, p, o.dtype)],
};
