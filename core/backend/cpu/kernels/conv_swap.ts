/**
 * Convolution paths that never touch the zeros of a dilated input (float32, one group).
 *
 * With the XLA definition `out[y] = Σ_k w[k] · xd[y·s + k·rd − lo]` (xd the input dilated by
 * `ld`), input element `x[p]` meets tap `k` at output `y` exactly when
 * `y·s = p·ld + lo − k·rd` with `0 ≤ y < Y`. Listing these (p, k, y) triples once gives:
 *
 * - `convScatter` (transposed convolutions, `ld > 1`, output larger than input):
 *   Z[(o,t), (n,p)] = Σ_c W[o,c,t] · X[c,(n,p)] over the undilated input, then
 *   `out[n,o,y] += Z[(o,t),(n,p)]` (col2im). GEMM work ∝ taps · input positions.
 * - `convKernelCol` (weight gradients of transposed convolutions, output smaller than the
 *   kernel): the kernel is unrolled as Wc[(c,p), (o,y)] = W[o,c,k(p,y)] and
 *   out[n, (o,y)] = X[n, (c,p)] · Wc — both X and out are used in place.
 *   GEMM work ∝ input positions · output positions.
 * @module
 */
import { sgemm } from "../gemm/mod.ts";
import { allocF32, recycle } from "../pool.ts";

/** One valid (input position, tap, output position) triple per entry, as flat offsets. */
export interface Triples {
  p: Int32Array;
  t: Int32Array;
  y: Int32Array;
  count: number;
}

/** Shapes of a one-group float convolution in canonical layout. */
export interface SwapDims {
  /** Batch (input and output). */
  B: number;
  /** Input channels. */
  I: number;
  /** Output channels. */
  O: number;
  /** Input positions, kernel taps and output positions (products over spatial axes). */
  P: number;
  T: number;
  Y: number;
}

/** Geometry needed to list the triples. */
export interface SwapGeom {
  inSp: readonly number[];
  kSp: readonly number[];
  outSp: readonly number[];
  strides: readonly number[];
  padding: readonly (readonly [number, number])[];
  lhsDilation: readonly number[];
  rhsDilation: readonly number[];
}

function axisTriples(g: SwapGeom, d: number): number[] {
  const P = g.inSp[d], K = g.kSp[d], Y = g.outSp[d];
  const s = g.strides[d], ld = g.lhsDilation[d], rd = g.rhsDilation[d], lo = g.padding[d][0];
  const r: number[] = [];
  for (let p = 0; p < P; p++) {
    for (let k = 0; k < K; k++) {
      const ys = p * ld + lo - k * rd;
      if (ys < 0 || ys % s !== 0) continue;
      const y = ys / s;
      if (y < Y) r.push(p, k, y);
    }
  }
  return r;
}

/** All valid triples, sorted by `key` (a function of the flat p, t, y offsets). */
export function listTriples(g: SwapGeom, key: (p: number, t: number, y: number) => number): Triples {
  let p = [0], t = [0], y = [0];
  g.inSp.forEach((_, d) => {
    const ax = axisTriples(g, d);
    const np: number[] = [], nt: number[] = [], ny: number[] = [];
    for (let e = 0; e < p.length; e++) {
      for (let j = 0; j < ax.length; j += 3) {
        np.push(p[e] * g.inSp[d] + ax[j]);
        nt.push(t[e] * g.kSp[d] + ax[j + 1]);
        ny.push(y[e] * g.outSp[d] + ax[j + 2]);
      }
    }
    [p, t, y] = [np, nt, ny];
  });
  const order = p.map((_, i) => i).sort((a, b) => key(p[a], t[a], y[a]) - key(p[b], t[b], y[b]));
  return {
    p: Int32Array.from(order, (i) => p[i]),
    t: Int32Array.from(order, (i) => t[i]),
    y: Int32Array.from(order, (i) => y[i]),
    count: order.length,
  };
}

/** GEMM over the undilated input then col2im scatter-add (see the module doc). */
export function convScatter(
  g: SwapGeom,
  x: Float32Array,
  w: Float32Array,
  out: Float32Array,
  d: SwapDims,
  block: number,
): void {
  const { B, I, O, P, T, Y } = d;
  const tr = listTriples(g, (p, t) => t * P + p);
  // Wt[(o,t), c] = W[o, c, t].
  const wt = allocF32(O * T * I);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < I; c++) {
      const src = (o * I + c) * T;
      for (let t = 0; t < T; t++) wt[(o * T + t) * I + c] = w[src + t];
    }
  }
  const nb = Math.max(1, Math.min(B, Math.floor(block / Math.max(1, O * T * P))));
  const oc = nb > 1 ? O : Math.max(1, Math.min(O, Math.floor(block / Math.max(1, T * P))));
  const xc = allocF32(I * nb * P);
  const z = allocF32(oc * T * nb * P);
  const { p: tp, t: tt, y: ty, count } = tr;
  for (let n0 = 0; n0 < B; n0 += nb) {
    const cnt = Math.min(nb, B - n0), ldz = cnt * P;
    for (let c = 0; c < I; c++) {
      for (let n = 0; n < cnt; n++) {
        const src = ((n0 + n) * I + c) * P;
        xc.set(x.subarray(src, src + P), c * ldz + n * P);
      }
    }
    for (let o0 = 0; o0 < O; o0 += oc) {
      const ocnt = Math.min(oc, O - o0);
      sgemm({ m: ocnt * T, n: ldz, k: I, a: wt, aOffset: o0 * T * I, lda: I, b: xc, ldb: ldz, c: z, ldc: ldz });
      for (let o = 0; o < ocnt; o++) {
        for (let n = 0; n < cnt; n++) {
          const ob = ((n0 + n) * O + o0 + o) * Y, zb = o * T * ldz + n * P;
          for (let j = 0; j < count; j++) out[ob + ty[j]] += z[zb + tt[j] * ldz + tp[j]];
        }
      }
    }
  }
  for (const t of [wt, xc, z]) recycle(t);
}

/** GEMM of the input, in place, with the unrolled kernel (see the module doc). */
export function convKernelCol(
  g: SwapGeom,
  x: Float32Array,
  w: Float32Array,
  out: Float32Array,
  d: SwapDims,
  block: number,
): void {
  const { B, I, O, P, T, Y } = d;
  const { p: tp, t: tt, y: ty, count } = listTriples(g, (p, _t, y) => p * Y + y);
  // Column blocks of whole output channels, row blocks of whole input channels.
  const oc = Math.max(1, Math.min(O, Math.floor(block / Math.max(1, I * P * Y))));
  const ic = oc > 1 ? I : Math.max(1, Math.min(I, Math.floor(block / Math.max(1, P * Y))));
  const wc = allocF32(ic * P * oc * Y);
  for (let o0 = 0; o0 < O; o0 += oc) {
    const ocnt = Math.min(oc, O - o0), ld = ocnt * Y;
    for (let c0 = 0; c0 < I; c0 += ic) {
      const ccnt = Math.min(ic, I - c0);
      wc.fill(0, 0, ccnt * P * ld);
      for (let c = 0; c < ccnt; c++) {
        for (let o = 0; o < ocnt; o++) {
          const src = ((o0 + o) * I + c0 + c) * T, dst = c * P * ld + o * Y;
          for (let j = 0; j < count; j++) wc[dst + tp[j] * ld + ty[j]] = w[src + tt[j]];
        }
      }
      sgemm({
        m: B,
        n: ld,
        k: ccnt * P,
        a: x,
        aOffset: c0 * P,
        lda: I * P,
        b: wc,
        ldb: ld,
        c: out,
        cOffset: o0 * Y,
        ldc: O * Y,
        beta: c0 > 0 ? 1 : 0,
      });
    }
  }
  recycle(wc);
}
