/**
 * Plain host-side references shared by the primitive, batching and jit tests: index
 * arithmetic, deterministic input data and loop implementations of the contractions and
 * windows. Nothing here calls a wax kernel.
 * @module
 */
import { type Array as Arr, type DType, np } from "../mod.ts";

/** Host values with a shape (row-major). */
export interface Host {
  shape: number[];
  data: number[];
}

/** Number of elements of `shape`. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Row-major strides. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}
/** Flat index -> multi-index. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const st = stridesOf(shape);
  return shape.map((_, k) => Math.floor(i / st[k]) % shape[k]);
}
/** Multi-index -> flat index. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  const st = stridesOf(shape);
  return idx.reduce((a, v, k) => a + v * st[k], 0);
}

/** A host array whose element at each multi-index is `f(idx)`. */
export function build(shape: number[], f: (idx: number[]) => number): Host {
  return { shape, data: globalThis.Array.from({ length: sizeOf(shape) }, (_, i) => f(unravel(i, shape))) };
}
/** Element of a host array. */
export const at = (h: Host, idx: readonly number[]): number => h.data[ravel(idx, h.shape)];

/** Deterministic, distinct-ish float32 values in about [-lo, hi] (no ties for max/argmax tests). */
export function rand(shape: number[], seed = 0, lo = -1, hi = 1): Host {
  return {
    shape,
    data: globalThis.Array.from({ length: sizeOf(shape) }, (_, i) => {
      const u = (Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453) % 1;
      return Math.fround(lo + (hi - lo) * Math.abs(u));
    }),
  };
}

/** A wax array of a host array. */
export const arr = (h: Host, dtype: DType = "float32"): Arr => np.array(h.data, { shape: h.shape, dtype });

/** Host copy of a wax array. */
export async function host(x: Arr): Promise<Host> {
  return { shape: [...x.shape], data: globalThis.Array.from(await x.data()) };
}

/** Conv parameters in canonical layout (NCHW / OIHW). */
export interface ConvP {
  strides: number[];
  padding: [number, number][];
  lhsDilation: number[];
  rhsDilation: number[];
  featureGroupCount: number;
  batchGroupCount: number;
}

/** Reference 2-D convolution (cross-correlation) in NCHW/OIHW layout, by loops. */
export function refConv2d(lhs: Host, rhs: Host, p: ConvP): Host {
  const [N, C, H, W] = lhs.shape;
  const [O, I, KH, KW] = rhs.shape;
  const G = p.featureGroupCount;
  const BG = p.batchGroupCount;
  const dil = (n: number, d: number) => (n === 0 ? 0 : 1 + d * (n - 1));
  const Hp = dil(H, p.lhsDilation[0]) + p.padding[0][0] + p.padding[0][1];
  const Wp = dil(W, p.lhsDilation[1]) + p.padding[1][0] + p.padding[1][1];
  const kh = dil(KH, p.rhsDilation[0]);
  const kw = dil(KW, p.rhsDilation[1]);
  const OH = Math.floor((Hp - kh) / p.strides[0]) + 1;
  const OW = Math.floor((Wp - kw) / p.strides[1]) + 1;
  if (C !== I * G) throw new Error("refConv2d: channel mismatch");
  // Input value at a padded, dilated position (0 outside / between dilated elements).
  const inVal = (n: number, c: number, y: number, x: number) => {
    const yy = y - p.padding[0][0];
    const xx = x - p.padding[1][0];
    if (yy < 0 || xx < 0 || yy % p.lhsDilation[0] || xx % p.lhsDilation[1]) return 0;
    const [iy, ix] = [yy / p.lhsDilation[0], xx / p.lhsDilation[1]];
    return iy < H && ix < W ? at(lhs, [n, c, iy, ix]) : 0;
  };
  return build([N / BG, O, OH, OW], ([n, o, oy, ox]) => {
    const g = Math.floor(o / (O / G));
    const bg = Math.floor(o / (O / BG));
    const nn = bg * (N / BG) + n;
    let s = 0;
    for (let i = 0; i < I; i++) {
      for (let ky = 0; ky < KH; ky++) {
        for (let kx = 0; kx < KW; kx++) {
          const y = oy * p.strides[0] + ky * p.rhsDilation[0];
          const x = ox * p.strides[1] + kx * p.rhsDilation[1];
          s += inVal(nn, g * I + i, y, x) * at(rhs, [o, i, ky, kx]);
        }
      }
    }
    return s;
  });
}

/** Window geometry. */
export interface WinP {
  window: number[];
  strides: number[];
  padding: [number, number][];
}

/** Visits each window: output index and the input indices (null where padding) it covers. */
function windows(shape: number[], w: WinP, visit: (out: number[], ins: (number[] | null)[]) => void): number[] {
  const outShape = shape.map((n, i) =>
    Math.floor((n + w.padding[i][0] + w.padding[i][1] - w.window[i]) / w.strides[i]) + 1
  );
  for (let o = 0; o < sizeOf(outShape); o++) {
    const oi = unravel(o, outShape);
    const ins: (number[] | null)[] = [];
    for (let k = 0; k < sizeOf(w.window); k++) {
      const ki = unravel(k, w.window);
      const idx = oi.map((v, d) => v * w.strides[d] + ki[d] - w.padding[d][0]);
      ins.push(idx.every((v, d) => v >= 0 && v < shape[d]) ? idx : null);
    }
    visit(oi, ins);
  }
  return outShape;
}

/** Reference reduceWindow (sum pads with 0, max with -inf). */
export function refReduceWindow(x: Host, op: "sum" | "max", w: WinP): Host {
  const vals: number[] = [];
  const shape = windows(x.shape, w, (_o, ins) => {
    let acc = op === "sum" ? 0 : -Infinity;
    for (const i of ins) {
      const v = i ? at(x, i) : (op === "sum" ? 0 : -Infinity);
      acc = op === "sum" ? acc + v : Math.max(acc, v);
    }
    vals.push(acc);
  });
  return { shape, data: vals };
}

/** Index (in the input) of each window's first maximum. */
function argmaxes(x: Host, w: WinP): { shape: number[]; where: number[] } {
  const where: number[] = [];
  const shape = windows(x.shape, w, (_o, ins) => {
    let best = -Infinity;
    let bi = -1;
    for (const i of ins) {
      if (i && at(x, i) > best) [best, bi] = [at(x, i), ravel(i, x.shape)];
    }
    where.push(bi);
  });
  return { shape, where };
}
/** Reference selectAndGather: `t` at each window's argmax of `x`. */
export function refSelectAndGather(x: Host, t: Host, w: WinP): Host {
  const { shape, where } = argmaxes(x, w);
  return { shape, data: where.map((i) => t.data[i]) };
}
/** Reference selectAndScatterAdd: adds `s` (output-shaped) at each window's argmax of `x`. */
export function refSelectAndScatterAdd(s: Host, x: Host, w: WinP): Host {
  const { where } = argmaxes(x, w);
  const out = x.data.map(() => 0);
  where.forEach((i, k) => (out[i] += s.data[k]));
  return { shape: x.shape, data: out };
}

/** erf by its Taylor series in float64 (|x| ≲ 3). */
export function erfRef(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** A deterministic generator of numbers in [0, 1) (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bit patterns of NaNs (both signs, a payload), ±Inf, ±0, denormals, extremes and ordinary numbers. */
export const SPECIAL = [
  ...[0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800000, 0xff800000, 0, 0x80000000, 1, 0x80000001],
  ...[0x007fffff, 0x00400000, 0x7f7fffff, 0xff7fffff, 0x00800000, 0x80800000, 0x3f800000, 0xbf800000, 0x3f000000],
];

/** `n` float32 values, a third of them special, in a view at a byteOffset into an off-heap buffer. */
export function edgeFloats(n: number, r: () => number): Float32Array {
  const buf = new Float32Array(new ArrayBuffer(4 * (n + 3)), 4 * (1 + Math.floor(r() * 3)), n);
  const u = new Uint32Array(buf.buffer, buf.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const s = r();
    if (s < 0.02) u[i] = r() < 0.5 ? 0x7f800001 : 0xff812345; // signalling NaNs
    else if (s < 0.33) u[i] = SPECIAL[Math.floor(r() * SPECIAL.length)];
    else buf[i] = (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6);
  }
  return buf;
}
