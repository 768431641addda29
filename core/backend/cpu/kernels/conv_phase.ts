/**
 * Phase-split gather convolution (float32, any groups): the main float path of `conv.ts`.
 *
 * Along an axis with input dilation `ld` and stride `s`, the outputs split into
 * `L = ld / gcd(s, ld)` phases `q = φ + L·u`; in phase φ only the taps k with
 * `φ·s + k·rd − lo ≡ 0 (mod ld)` meet input elements, at undilated index
 * `u·(L·s/ld) + e_k` with `e_k = (φ·s + k·rd − lo) / ld`. Without input dilation there is one
 * phase holding every tap. For each combination of per-axis phases the kernel:
 * 1. gathers col[(c, t), (n, u)] = xp[n, c, tapOff[t] + uOff[u]] for a block of images, from
 *    a copy `xp` of the input zero-padded so that every index is in range (or from the input
 *    itself when no padding is needed): one long, branch-free loop per (c, t) row;
 * 2. runs one GEMM [Og, I·T'] × [I·T', nb·U] (T' taps and U outputs of the phase);
 * 3. copies the product into the output positions of the phase.
 * Work is proportional to the (tap, output) pairs that meet real input rows, so transposed
 * convolutions and their gradients run no multiplications by dilation zeros.
 * @module
 */
import { gatherGemmNative, sgemm, sgemmGatherB } from "../gemm/mod.ts";
import type { SwapGeom } from "./conv_swap.ts";
import { ConvGather } from "./conv_gather.ts";
import { envSwitch } from "../switches.ts";
import { copyRuns } from "../copy_x86.ts";

/** Implicit GEMM (columns read in place by the x86 GEMM); `WAX_IMPLICIT_CONV=0` turns it off. */
export const implicitConv: { enabled: boolean } = { enabled: envSwitch("WAX_IMPLICIT_CONV") };

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const mod = (a: number, m: number) => ((a % m) + m) % m;

/** One phase of one axis: its outputs, its taps and their undilated input offsets. */
interface AxisPhase {
  q: number[];
  ks: number[];
  e: number[];
  step: number;
}

/** Phase combination: flat tables over its taps and outputs. */
interface Combo {
  /** Padded-input offset per tap, and full kernel tap index per tap. */
  tapOff: Int32Array;
  tapFull: Int32Array;
  /** Padded-input offset per output, and flat output position per output. */
  uOff: Int32Array;
  qFlat: Int32Array;
}

/** Plan of a phase-split convolution for one geometry (independent of batch and channels). */
export interface PhasePlan {
  combos: Combo[];
  /** Padded spatial shape and where the input starts in it; `direct` when it is the input. */
  padShape: number[];
  padLo: number[];
  direct: boolean;
  /** Largest taps and outputs of a combination, and Σ taps·outputs (the gathered pairs). */
  maxT: number;
  maxU: number;
  pairs: number;
}

function axisPhases(g: SwapGeom, d: number): AxisPhase[] {
  const Q = g.outSp[d], K = g.kSp[d], s = g.strides[d], ld = g.lhsDilation[d], rd = g.rhsDilation[d];
  const lo = g.padding[d][0], L = ld / gcd(s, ld), step = (L * s) / ld;
  const res: AxisPhase[] = [];
  for (let phi = 0; phi < Math.min(L, Q); phi++) {
    const q: number[] = [], ks: number[] = [], e: number[] = [];
    for (let v = phi; v < Q; v += L) q.push(v);
    for (let k = 0; k < K; k++) {
      const num = phi * s + k * rd - lo;
      if (mod(num, ld) === 0) ks.push(k), e.push(num / ld);
    }
    res.push({ q, ks, e, step });
  }
  return res;
}

const stridesOf = (shape: readonly number[]) => {
  const st = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1] * shape[i + 1];
  return st;
};

/** Builds the plan (canonical geometry with at least one spatial axis). */
export function phasePlan(g: SwapGeom): PhasePlan {
  const nsp = g.inSp.length;
  const axes = g.inSp.map((_, d) => axisPhases(g, d));
  const padLo: number[] = [], padShape: number[] = [];
  for (let d = 0; d < nsp; d++) {
    let mn = 0, mx = g.inSp[d] - 1;
    for (const ph of axes[d]) {
      for (const e of ph.e) {
        mn = Math.min(mn, e);
        mx = Math.max(mx, (ph.q.length - 1) * ph.step + e);
      }
    }
    padLo.push(-mn);
    padShape.push(mx - mn + 1);
  }
  const direct = padShape.every((n, d) => n === g.inSp[d]);
  const pst = stridesOf(padShape), kst = stridesOf(g.kSp), ost = stridesOf(g.outSp);
  let combos: { tap: [number, number][]; out: [number, number][] }[] = [{ tap: [[0, 0]], out: [[0, 0]] }];
  for (let d = 0; d < nsp; d++) {
    const next: typeof combos = [];
    for (const c of combos) {
      for (const ph of axes[d]) {
        const tap: [number, number][] = [], out: [number, number][] = [];
        for (const [o, f] of c.tap) {
          ph.ks.forEach((k, i) => tap.push([o + (ph.e[i] + padLo[d]) * pst[d], f + k * kst[d]]));
        }
        for (const [o, f] of c.out) ph.q.forEach((q, u) => out.push([o + u * ph.step * pst[d], f + q * ost[d]]));
        if (tap.length > 0 && out.length > 0) next.push({ tap, out });
      }
    }
    combos = next;
  }
  const plan: PhasePlan = { combos: [], padShape, padLo, direct, maxT: 0, maxU: 0, pairs: 0 };
  for (const c of combos) {
    plan.combos.push({
      tapOff: Int32Array.from(c.tap, (v) => v[0]),
      tapFull: Int32Array.from(c.tap, (v) => v[1]),
      uOff: Int32Array.from(c.out, (v) => v[0]),
      qFlat: Int32Array.from(c.out, (v) => v[1]),
    });
    plan.maxT = Math.max(plan.maxT, c.tap.length);
    plan.maxU = Math.max(plan.maxU, c.out.length);
    plan.pairs += c.tap.length * c.out.length;
  }
  return plan;
}

/** Work buffers reused across calls (fresh large buffers cost page faults on every call). */
const scratchBufs: Float32Array[] = [];
/** The padded-input scratch buffer (index 2) and the layout whose border it holds zeros for. */
let zeroBorder: { buf: Float32Array | null; key: string } = { buf: null, key: "" };
function scratch(i: number, n: number): Float32Array {
  if (!scratchBufs[i] || scratchBufs[i].length < n) scratchBufs[i] = new Float32Array(n);
  return scratchBufs[i].subarray(0, n);
}

/** Sizes of a (grouped) convolution in canonical layout. */
export interface PhaseDims {
  /** Input channels of the lhs, kernel input channels, output channels, output batch. */
  C: number;
  I: number;
  O: number;
  N: number;
  G: number;
  BG: number;
}

/** Copies `cnt` images of `I` channels into the interior of the zero-bordered `xp`. */
function padCopy(
  x: Float32Array,
  src0: number,
  imgStride: number,
  xp: Float32Array,
  cnt: number,
  I: number,
  chanSize: number,
  padSize: number,
  rowDst: Int32Array,
  Pl: number,
): void {
  const rows = rowDst.length;
  for (let i = 0; i < cnt; i++) {
    for (let c = 0; c < I; c++) {
      const src = src0 + i * imgStride + c * chanSize, dst = (i * I + c) * padSize;
      for (let r = 0; r < rows; r++) {
        const s = src + r * Pl, t = dst + rowDst[r];
        for (let j = 0; j < Pl; j++) xp[t + j] = x[s + j];
      }
    }
  }
}

/** col[(c·T + t)·wd + j] = xp[base + c·chanStride + tapOff[t] + idx[j]]. */
function gather(
  xp: Float32Array,
  base: number,
  chanStride: number,
  I: number,
  tapOff: Int32Array,
  idx: Int32Array,
  wd: number,
  col: Float32Array,
): void {
  const T = tapOff.length;
  for (let c = 0; c < I; c++) {
    for (let t = 0; t < T; t++) {
      const src = base + c * chanStride + tapOff[t], row = (c * T + t) * wd;
      for (let j = 0; j < wd; j++) col[row + j] = xp[src + idx[j]];
    }
  }
}

// The table loops below are small functions: V8 optimises a function called often sooner than a
// loop inside a long function that runs a few times a step.

/** idx[i·U + u] = i·imgStride + uOff[u]: the column offsets of `cnt` images. */
function columnOffsets(idx: Int32Array, cnt: number, imgStride: number, uOff: Int32Array): void {
  const U = uOff.length;
  for (let i = 0; i < cnt; i++) for (let u = 0; u < U; u++) idx[i * U + u] = i * imgStride + uOff[u];
}

/** rowOff[c·T + t] = base + c·chanStride + tapOff[t]: the row offsets of `I` channels' taps. */
function rowOffsets(rowOff: Int32Array, I: number, base: number, chanStride: number, tapOff: Int32Array): void {
  const T = tapOff.length;
  for (let c = 0; c < I; c++) for (let t = 0; t < T; t++) rowOff[c * T + t] = base + c * chanStride + tapOff[t];
}

/** wp[r·T' + t] = w[w0 + r·taps + tapFull[t]] for `rows` kernel rows: the taps a phase uses, in its order. */
function pickTaps(w: Float32Array, w0: number, rows: number, taps: number, tapFull: Int32Array, wp: Float32Array) {
  const T = tapFull.length;
  for (let r = 0; r < rows; r++) {
    const s = w0 + r * taps, d = r * T;
    for (let t = 0; t < T; t++) wp[d + t] = w[s + tapFull[t]];
  }
}

/**
 * The outputs `qFlat` of a phase combination as runs for `copyRuns`: rows of `len` outputs
 * `dstStep` apart (the last axis, in order), or null when they do not form such rows.
 */
function outputRuns(qFlat: Int32Array) {
  const U = qFlat.length, dstStep = U > 1 ? qFlat[1] - qFlat[0] : 1;
  if (U === 0 || dstStep <= 0) return null;
  let len = 1;
  while (len < U && qFlat[len] - qFlat[0] === len * dstStep) len++;
  if (U % len !== 0) return null;
  const rows = U / len, srcRows = new Int32Array(rows), dstRows = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const q0 = qFlat[r * len];
    for (let j = 1; j < len; j++) if (qFlat[r * len + j] !== q0 + j * dstStep) return null;
    srcRows[r] = r * len, dstRows[r] = q0;
  }
  return { srcRows, dstRows, len, dstStep };
}

/** out[dst(i, o) + qFlat[u]] = tmp[o·wd + i·U + u], dst(i, o) = ((n0 + i)·O + o0 + o)·Q. */
function scatterOut(
  tmp: Float32Array,
  out: Float32Array,
  qFlat: Int32Array,
  cnt: number,
  Og: number,
  n0: number,
  O: number,
  o0: number,
  Q: number,
): void {
  const U = qFlat.length, wd = cnt * U;
  for (let i = 0; i < cnt; i++) {
    for (let o = 0; o < Og; o++) {
      const dst = ((n0 + i) * O + o0 + o) * Q, src = o * wd + i * U;
      for (let u = 0; u < U; u++) out[dst + qFlat[u]] = tmp[src + u];
    }
  }
}

/** Runs the phase-split convolution into `out` (zero-initialized [N, O, spatial…]). */
export function convPhase(
  plan: PhasePlan,
  g: SwapGeom,
  x: Float32Array,
  w: Float32Array,
  out: Float32Array,
  dims: PhaseDims,
  block: number,
): void {
  const { C, I, O, N, G, BG } = dims;
  const groups = G * BG, Og = O / groups;
  const prod = (a: readonly number[]) => a.reduce((u, v) => u * v, 1);
  const taps = prod(g.kSp), Kd = I * taps, Q = prod(g.outSp), chanSize = prod(g.inSp), padSize = prod(plan.padShape);
  // The x86 GEMM reads the columns straight from the (padded) input (implicit GEMM). Otherwise,
  // with the wasm gather, the padded input, the tables and the columns live in its shared
  // memory (the input is copied there even when it needs no padding).
  const implicit = implicitConv.enabled && gatherGemmNative();
  // Images per block: the gathered columns (when built), the product and the padded copy each
  // stay within `block`.
  const perImage = Math.max(implicit ? 0 : I * plan.maxT * plan.maxU, Og * plan.maxU, plan.direct ? 0 : I * padSize);
  const nb = Math.max(1, Math.min(N, Math.floor(block / perImage)));
  const tmp = scratch(1, Og * nb * plan.maxU);
  const eng = implicit ? null : ConvGather.get();
  const colN = I * plan.maxT * nb * plan.maxU, idxN = nb * plan.maxU;
  const reg = eng?.reserve(nb * I * padSize, idxN, plan.maxT, colN);
  const direct = plan.direct && !eng;
  const col = reg ? eng!.f32.subarray(reg.col, reg.col + colN) : implicit ? null : scratch(0, colN);
  const rowOff = implicit ? new Int32Array(I * plan.maxT) : null;
  const idx = reg ? eng!.i32.subarray(reg.idx, reg.idx + idxN) : new Int32Array(idxN);
  const xp = reg ? eng!.f32.subarray(reg.xp, reg.xp + nb * I * padSize) : direct ? x : scratch(2, nb * I * padSize);
  if (!plan.direct) {
    // The border of the padded copy (interiors are overwritten per block), unless this scratch
    // buffer last held the same layout: its border is still zero.
    const key = `${xp.length}|${plan.padShape}|${plan.padLo}|${g.inSp}`;
    if (reg || zeroBorder.buf !== scratchBufs[2] || zeroBorder.key !== key) {
      xp.fill(0);
      if (!reg) zeroBorder = { buf: scratchBufs[2], key };
    }
  }
  // Interior rows of the padded copy: destination offset of each input row (last axis).
  const nsp = g.inSp.length, Pl = g.inSp[nsp - 1], rows = chanSize / Pl;
  const rowDst = new Int32Array(rows), pst = stridesOf(plan.padShape);
  for (let r = 0; r < rows; r++) {
    let rem = r, off = plan.padLo[nsp - 1];
    for (let d = nsp - 2; d >= 0; d--) {
      off += ((rem % g.inSp[d]) + plan.padLo[d]) * pst[d];
      rem = Math.floor(rem / g.inSp[d]);
    }
    rowDst[r] = off;
  }
  // The padded copy's runs: each input row into its place (blocks of images, planes of channels).
  const padLayout = {
    srcOuter: C * chanSize,
    dstOuter: I * padSize,
    inner: I,
    srcInner: chanSize,
    dstInner: padSize,
    srcRows: Int32Array.from({ length: rows }, (_, r) => r * Pl),
    dstRows: rowDst,
    len: Pl,
  };
  // Each combination's product rows go to the output as runs (contiguous, or a phase's every L-th output).
  const combosRuns = plan.combos.map((cb) => outputRuns(cb.qFlat));
  const c0 = plan.combos[0];
  // One combination with every tap and output in order: the kernel and output are used as is.
  const single = plan.combos.length === 1 && c0.tapOff.length === taps && c0.uOff.length === Q;
  const wp = single ? w : scratch(3, Og * I * plan.maxT);
  for (let grp = 0; grp < groups; grp++) {
    const inChan = G > 1 ? grp * I : 0;
    for (let n0 = 0; n0 < N; n0 += nb) {
      const cnt = Math.min(nb, N - n0);
      const img0 = ((BG > 1 ? grp * N + n0 : n0) * C + inChan) * chanSize;
      if (!direct && !copyRuns(x, img0, xp, 0, { ...padLayout, outer: cnt })) {
        padCopy(x, img0, C * chanSize, xp, cnt, I, chanSize, padSize, rowDst, Pl);
      }
      const base = direct ? img0 : 0, imgStride = direct ? C * chanSize : I * padSize;
      const chanStride = direct ? chanSize : padSize;
      for (const [ci, cb] of plan.combos.entries()) {
        const Tp = cb.tapOff.length, U = cb.uOff.length, wd = cnt * U, k = I * Tp;
        columnOffsets(idx, cnt, imgStride, cb.uOff);
        if (reg) {
          eng!.i32.set(cb.tapOff, reg.tap);
          eng!.gather(reg, wd, Tp, I * Tp, chanStride);
        } else if (col) gather(xp, base, chanStride, I, cb.tapOff, idx, wd, col);
        else rowOffsets(rowOff!, I, base, chanStride, cb.tapOff);
        if (!single) pickTaps(w, grp * Og * Kd, Og * I, taps, cb.tapFull, wp);
        const ac = { m: Og, n: wd, k, a: wp, aOffset: single ? grp * Og * Kd : 0, lda: k, c: tmp, ldc: wd };
        if (col) sgemm({ ...ac, b: col, ldb: wd });
        else sgemmGatherB({ ...ac, b: xp, rows: rowOff!, cols: idx });
        const runs = combosRuns[ci];
        const copied = runs !== null && copyRuns(tmp, 0, out, (n0 * O + grp * Og) * Q, {
          outer: cnt,
          srcOuter: U,
          dstOuter: O * Q,
          inner: Og,
          srcInner: wd,
          dstInner: Q,
          ...runs,
        });
        if (!copied) scatterOut(tmp, out, cb.qFlat, cnt, Og, n0, O, grp * Og, Q);
      }
    }
  }
}
