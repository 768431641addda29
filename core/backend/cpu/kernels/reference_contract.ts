/**
 * Plain-loop reference contractions, used only as test oracles for the fast kernels.
 * They follow the definitions directly (float64 accumulation, no layout tricks).
 * @module
 */
import { allocTyped, type DType, type TypedArray } from "../../../dtype.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ConvParams, DotDims } from "../../../primitives/params.ts";

/** Row-major multi-index of flat index `f` in `shape`. */
function unravel(f: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = f % shape[d];
    f = Math.floor(f / shape[d]);
  }
  return idx;
}

/** Stores an accumulated value the way the dtype would (int32 wraps via the typed array). */
function store(out: TypedArray, i: number, v: number, dtype: DType): void {
  out[i] = dtype === "bool" ? (v !== 0 ? 1 : 0) : dtype === "float32" ? v : Number(BigInt.asIntN(32, BigInt(v)));
}

/** Naive dotGeneral: out[batch…, aFree…, bFree…] = Σ_contract a·b. */
export function dotGeneralRef(
  a: TypedArray,
  aShape: readonly number[],
  b: TypedArray,
  bShape: readonly number[],
  dims: DotDims,
  dtype: DType,
): { data: TypedArray; shape: number[] } {
  const [[ac, bc], [ab, bb]] = [dims.contract, dims.batch];
  const aFree = aShape.map((_, i) => i).filter((i) => !ac.includes(i) && !ab.includes(i));
  const bFree = bShape.map((_, i) => i).filter((i) => !bc.includes(i) && !bb.includes(i));
  const shape = [...ab.map((d) => aShape[d]), ...aFree.map((d) => aShape[d]), ...bFree.map((d) => bShape[d])];
  const cShape = ac.map((d) => aShape[d]);
  const as = stridesOf(aShape), bs = stridesOf(bShape);
  const out = allocTyped(dtype, sizeOf(shape));
  const nC = sizeOf(cShape);
  for (let f = 0; f < out.length; f++) {
    const idx = unravel(f, shape);
    let aOff = 0, bOff = 0;
    ab.forEach((d, i) => (aOff += idx[i] * as[d]));
    bb.forEach((d, i) => (bOff += idx[i] * bs[d]));
    aFree.forEach((d, i) => (aOff += idx[ab.length + i] * as[d]));
    bFree.forEach((d, i) => (bOff += idx[ab.length + aFree.length + i] * bs[d]));
    let acc = 0n, accF = 0;
    for (let c = 0; c < nC; c++) {
      const ci = unravel(c, cShape);
      let ao = aOff, bo = bOff;
      ci.forEach((v, i) => {
        ao += v * as[ac[i]];
        bo += v * bs[bc[i]];
      });
      if (dtype === "float32") accF += a[ao] * b[bo];
      else acc += BigInt(a[ao]) * BigInt(b[bo]);
    }
    store(out, f, dtype === "float32" ? accF : Number(BigInt.asIntN(32, acc)), dtype);
  }
  return { data: out, shape };
}

/**
 * Naive convolution with XLA semantics in canonical layouts: lhs [N, C, …], rhs [O, I, …],
 * out [N/batchGroupCount, O, …]. Loops: out batch, out channel, out position, in channel,
 * kernel tap — reading the lhs-dilated, padded input at `q·stride + k·rhsDilation - lo`.
 */
export function convRef(
  lhs: TypedArray,
  lShape: readonly number[],
  rhs: TypedArray,
  rShape: readonly number[],
  p: ConvParams,
  dtype: DType,
): { data: TypedArray; shape: number[] } {
  const nsp = lShape.length - 2;
  const N = lShape[0], [O, I] = rShape;
  const G = p.featureGroupCount, BG = p.batchGroupCount;
  const inSp = lShape.slice(2), kSp = rShape.slice(2);
  const outSp = inSp.map((n, d) => {
    const dn = n === 0 ? 0 : 1 + p.lhsDilation[d] * (n - 1);
    const dk = kSp[d] === 0 ? 0 : 1 + p.rhsDilation[d] * (kSp[d] - 1);
    const padded = dn + p.padding[d][0] + p.padding[d][1];
    return padded < dk ? 0 : Math.floor((padded - dk) / p.strides[d]) + 1;
  });
  const Nout = N / BG;
  const shape = [Nout, O, ...outSp];
  const out = allocTyped(dtype, sizeOf(shape));
  const ls = stridesOf(lShape), rs = stridesOf(rShape);
  const Q = sizeOf(outSp), T = sizeOf(kSp);
  for (let n = 0; n < Nout; n++) {
    for (let o = 0; o < O; o++) {
      const fg = Math.floor(o / (O / G)); // feature group of this output channel
      const bg = Math.floor(o / (O / BG)); // batch group of this output channel
      const nIn = bg * Nout + n;
      for (let q = 0; q < Q; q++) {
        const qi = unravel(q, outSp);
        let acc = 0;
        for (let i = 0; i < I; i++) {
          const c = fg * I + i;
          for (let t = 0; t < T; t++) {
            const ki = unravel(t, kSp);
            let lOff = nIn * ls[0] + c * ls[1], ok = true;
            for (let d = 0; d < nsp && ok; d++) {
              const pos = qi[d] * p.strides[d] + ki[d] * p.rhsDilation[d] - p.padding[d][0];
              if (pos < 0 || pos % p.lhsDilation[d] !== 0 || pos / p.lhsDilation[d] >= inSp[d]) ok = false;
              else lOff += (pos / p.lhsDilation[d]) * ls[d + 2];
            }
            if (!ok) continue;
            let rOff = o * rs[0] + i * rs[1];
            ki.forEach((v, d) => (rOff += v * rs[d + 2]));
            acc += dtype === "float32" ? lhs[lOff] * rhs[rOff] : Math.imul(lhs[lOff], rhs[rOff]);
            if (dtype !== "float32") acc |= 0;
          }
        }
        store(out, (n * O + o) * Q + q, acc, dtype);
      }
    }
  }
  return { data: out, shape };
}
