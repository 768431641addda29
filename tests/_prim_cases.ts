/**
 * One or more value cases per primitive: a function through the public API (or `bind`
 * where a primitive has no wrapper), small inputs, and the expected result computed here
 * by plain loops or by hand. Shared by primitives_test.ts (values) and jit_test.ts (jit
 * agrees with eager on every op). Elementwise cases live in _cases_elementwise.ts.
 * @module
 */
import { type Array as Arr, customVjp, grad, jit, lax, np } from "../mod.ts";
import { bind, bind1 } from "../core/trace.ts";
import {
  arr,
  at,
  build,
  type Host,
  rand,
  refConv2d,
  refReduceWindow,
  refSelectAndGather,
  refSelectAndScatterAdd,
  type WinP,
} from "./_ref.ts";
import { type Case, elementwiseCases, h, i32, map, u32, X } from "./_cases_elementwise.ts";

export type { Case };

const R = rand([2, 3, 4], 5);
const Rpos = rand([2, 3, 4], 6, 0.5, 1.5);
function refReduce(x: Host, axes: number[], op: (a: number, b: number) => number, init: number): Host {
  const outShape = x.shape.filter((_, i) => !axes.includes(i));
  const out = build(outShape, () => init);
  x.data.forEach((v, i) => {
    const full = unravelLocal(i, x.shape);
    const o = full.filter((_, k) => !axes.includes(k));
    const j = o.reduce((acc, v2, k) => acc * outShape[k] + v2, 0);
    out.data[j] = op(out.data[j], v);
  });
  return out;
}
function unravelLocal(i: number, shape: number[]): number[] {
  const idx = shape.map(() => 0);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k];
    i = Math.floor(i / shape[k]);
  }
  return idx;
}
const T1 = h([2, 4], [1, 3, 3, 2, 5, 5, 0, 5]);

const reduceCases: Case[] = [
  {
    prim: "reduceSum",
    label: "sum over axis 1",
    args: [arr(R)],
    fn: (x) => np.sum(x, { axis: 1 }),
    want: refReduce(R, [1], (a, b) => a + b, 0),
    tol: { atol: 1e-6 },
  },
  {
    prim: "reduceSum",
    label: "sum over axes 0,2",
    args: [arr(R)],
    fn: (x) => np.sum(x, { axis: [0, 2] }),
    want: refReduce(R, [0, 2], (a, b) => a + b, 0),
    tol: { atol: 1e-6 },
  },
  {
    prim: "reduceSum",
    label: "sum of int32",
    args: [i32([1, 2, 3, 4], [2, 2])],
    fn: (x) => np.sum(x),
    want: h([], [10]),
    dtype: "int32",
  },
  {
    prim: "reduceMax",
    label: "max over axis 2",
    args: [arr(R)],
    fn: (x) => np.max(x, { axis: 2 }),
    want: refReduce(R, [2], Math.max, -Infinity),
  },
  {
    prim: "reduceMin",
    label: "min over axes 0,1",
    args: [arr(R)],
    fn: (x) => np.min(x, { axis: [0, 1] }),
    want: refReduce(R, [0, 1], Math.min, Infinity),
  },
  {
    prim: "reduceProd",
    label: "prod over axis 1",
    args: [arr(Rpos)],
    fn: (x) => np.prod(x, { axis: 1 }),
    want: refReduce(Rpos, [1], (a, b) => a * b, 1),
    tol: { rtol: 1e-5 },
  },
  {
    prim: "argmax",
    label: "argmax along axis 1 (first of ties)",
    args: [arr(T1)],
    fn: (x) => np.argmax(x, { axis: 1 }),
    want: h([2], [1, 0]),
    dtype: "int32",
  },
  {
    prim: "argmax",
    label: "argmax along axis 0 of random values",
    args: [arr(R)],
    fn: (x) => np.argmax(x, { axis: 0 }),
    want: build([3, 4], ([j, k]) => (at(R, [1, j, k]) > at(R, [0, j, k]) ? 1 : 0)),
    dtype: "int32",
  },
  {
    prim: "argmin",
    label: "argmin along axis 1 (first of ties)",
    args: [arr(T1)],
    fn: (x) => np.argmin(x, { axis: 1 }),
    want: h([2], [0, 2]),
    dtype: "int32",
  },
  {
    prim: "cumsum",
    label: "cumsum along axis 1",
    args: [arr(R)],
    fn: (x) => np.cumsum(x, { axis: 1 }),
    want: build(R.shape, ([i, j, k]) => [0, 1, 2].filter((t) => t <= j).reduce((s, t) => s + at(R, [i, t, k]), 0)),
    tol: { atol: 1e-6 },
  },
  {
    prim: "cumsum",
    label: "reverse cumsum along axis 2",
    args: [arr(R)],
    fn: (x) => np.cumsum(x, { axis: 2, reverse: true }),
    want: build(R.shape, ([i, j, k]) => [0, 1, 2, 3].filter((t) => t >= k).reduce((s, t) => s + at(R, [i, j, t]), 0)),
    tol: { atol: 1e-6 },
  },
];

/** Reference pad (negative lo/hi crop; interior inserts `interior` values between elements). */
export function refPad(x: Host, lo: number[], hi: number[], interior: number[], value: number): Host {
  const shape = x.shape.map((n, i) => lo[i] + hi[i] + n + Math.max(0, n - 1) * interior[i]);
  return build(shape, (o) => {
    const src = o.map((v, i) => (v - lo[i]) / (interior[i] + 1));
    return src.every((s, i) => Number.isInteger(s) && s >= 0 && s < x.shape[i]) ? at(x, src) : value;
  });
}

const X35 = rand([3, 5], 7);
const X45 = rand([4, 5], 8);
const X32 = rand([3, 2], 9);
const movementCases: Case[] = [
  {
    prim: "reshape",
    label: "reshape keeps row-major order",
    args: [arr(R)],
    fn: (x) => np.reshape(x, [4, 6]),
    want: { shape: [4, 6], data: R.data },
  },
  {
    prim: "broadcastInDim",
    label: "broadcastTo [3,1] -> [2,3,4]",
    args: [arr(h([3, 1], [1, 2, 3]))],
    fn: (x) => np.broadcastTo(x, [2, 3, 4]),
    want: build([2, 3, 4], ([, j]) => j + 1),
  },
  {
    prim: "transpose",
    label: "transpose [2,0,1]",
    args: [arr(R)],
    fn: (x) => np.transpose(x, [2, 0, 1]),
    want: build([4, 2, 3], ([k, i, j]) => at(R, [i, j, k])),
  },
  {
    prim: "slice",
    label: "strided slice",
    args: [arr(R)],
    fn: (x) => lax.slice(x, [0, 1, 1], [2, 3, 4], [1, 1, 2]),
    want: build([2, 2, 2], ([i, j, k]) => at(R, [i, 1 + j, 1 + 2 * k])),
  },
  {
    prim: "pad",
    label: "pad with negative lo and interior",
    args: [arr(X35)],
    fn: (x) => bind1("pad", [x, np.array(9)], { lo: [1, -1], hi: [0, 2], interior: [1, 1] }),
    want: refPad(X35, [1, -1], [0, 2], [1, 1], 9),
  },
  {
    prim: "pad",
    label: "np.pad with a constant",
    args: [arr(X35)],
    fn: (x) => np.pad(x, [[0, 1], [2, 0]], { constantValue: -1 }),
    want: refPad(X35, [0, 2], [1, 0], [0, 0], -1),
  },
  {
    prim: "concatenate",
    label: "concatenate along axis 1",
    args: [arr(X35), arr(X32)],
    fn: (a, b) => np.concatenate([a, b], 1),
    want: build([3, 7], ([i, j]) => (j < 5 ? at(X35, [i, j]) : at(X32, [i, j - 5]))),
  },
  {
    prim: "concatenate",
    label: "concatenate three along axis 0",
    args: [arr(X35), arr(X45)],
    fn: (a, b) => np.concatenate([b, a, b], 0),
    want: build([11, 5], ([i, j]) => (i < 4 ? at(X45, [i, j]) : i < 7 ? at(X35, [i - 4, j]) : at(X45, [i - 7, j]))),
  },
  {
    prim: "rev",
    label: "flip axes 0 and 2",
    args: [arr(R)],
    fn: (x) => np.flip(x, [0, 2]),
    want: build(R.shape, ([i, j, k]) => at(R, [1 - i, j, 3 - k])),
  },
  {
    prim: "iota",
    label: "iota int32 along dimension 1",
    args: [],
    fn: () => bind1("iota", [], { shape: [2, 3], dtype: "int32", dimension: 1 }),
    want: h([2, 3], [0, 1, 2, 0, 1, 2]),
    dtype: "int32",
  },
  {
    prim: "iota",
    label: "iota float32 along dimension 0",
    args: [],
    fn: () => bind1("iota", [], { shape: [3, 2], dtype: "float32", dimension: 0 }),
    want: h([3, 2], [0, 0, 1, 1, 2, 2]),
  },
];

const GI = [2, 0, 4, 7];
const indexingCases: Case[] = [
  {
    prim: "gather",
    label: "gather along axis 1 with 2-D indices (out of range clamps)",
    args: [arr(X35), i32(GI, [2, 2])],
    fn: (x, i) => bind1("gather", [x, i], { axis: 1 }),
    want: build([3, 2, 2], ([r, a, b]) => at(X35, [r, Math.min(GI[a * 2 + b], 4)])),
  },
  {
    prim: "gather",
    label: "np.take with a negative index",
    args: [arr(X45), i32([-1, 0, 2])],
    fn: (x, i) => np.take(x, i, 0),
    want: build([3, 5], ([r, c]) => at(X45, [[3, 0, 2][r], c])),
  },
  {
    prim: "scatterAdd",
    label: "scatterAdd along axis 0 accumulates duplicates",
    args: [arr(X45), i32([0, 2, 0]), arr(X35)],
    fn: (x, i, u) => bind1("scatterAdd", [x, i, u], { axis: 0 }),
    want: build(
      [4, 5],
      ([r, c]) => at(X45, [r, c]) + [0, 2, 0].reduce((s, t, k) => s + (t === r ? at(X35, [k, c]) : 0), 0),
    ),
    tol: { atol: 1e-6 },
  },
  {
    prim: "scatterAdd",
    label: "scatterAdd along axis 1 with 2-D indices",
    args: [arr(rand([2, 4], 10)), i32([1, 1, 3, 0], [2, 2]), arr(rand([2, 2, 2], 11))],
    fn: (x, i, u) => bind1("scatterAdd", [x, i, u], { axis: 1 }),
    want: (() => {
      const x = rand([2, 4], 10);
      const u = rand([2, 2, 2], 11);
      const out = { shape: [2, 4], data: [...x.data] };
      const I = [1, 1, 3, 0];
      for (let r = 0; r < 2; r++) for (let k = 0; k < 4; k++) out.data[r * 4 + I[k]] += u.data[r * 4 + k];
      return out;
    })(),
    tol: { atol: 1e-6 },
  },
  {
    prim: "dynamicSlice",
    label: "dynamicSlice clamps starts so the window fits",
    args: [arr(X45)],
    fn: (x) => lax.dynamicSlice(x, [1, 3], [2, 3]),
    want: build([2, 3], ([r, c]) => at(X45, [1 + r, 2 + c])),
  },
  {
    prim: "dynamicSlice",
    label: "dynamicSlice at traced starts",
    args: [arr(X45), i32([2]), i32([1])],
    fn: (x, r, c) => lax.dynamicSlice(x, [r.reshape([]), c.reshape([])], [2, 2]),
    want: build([2, 2], ([r, c]) => at(X45, [2 + r, 1 + c])),
  },
  {
    prim: "dynamicUpdateSlice",
    label: "dynamicUpdateSlice clamps starts",
    args: [arr(X45), arr(h([2, 2], [10, 20, 30, 40]))],
    fn: (x, u) => lax.dynamicUpdateSlice(x, u, [3, -1]),
    want: build([4, 5], ([r, c]) => (r >= 2 && c < 2 ? [10, 20, 30, 40][(r - 2) * 2 + c] : at(X45, [r, c]))),
  },
];

const A23 = rand([2, 3], 12);
const B34 = rand([3, 4], 13);
const DA = rand([4, 2, 3], 14);
const DB = rand([3, 5, 2], 15);
const conv = (
  label: string,
  ls: number[],
  rs: number[],
  o: Partial<import("./_ref.ts").ConvP>,
  seed: number,
): Case => {
  const l = rand(ls, seed);
  const r = rand(rs, seed + 1);
  const p = {
    strides: [1, 1],
    padding: [[0, 0], [0, 0]] as [number, number][],
    lhsDilation: [1, 1],
    rhsDilation: [1, 1],
    featureGroupCount: 1,
    batchGroupCount: 1,
    ...o,
  };
  return {
    prim: "convGeneralDilated",
    label,
    args: [arr(l), arr(r)],
    fn: (a, b) => lax.convGeneralDilated(a, b, p),
    want: refConv2d(l, r, p),
    tol: { atol: 1e-5, rtol: 1e-5 },
  };
};
const NH = rand([2, 4, 5, 3], 40); // NHWC
const HW = rand([3, 2, 3, 4], 41); // HWIO
const contractCases: Case[] = [
  {
    prim: "dotGeneral",
    label: "matmul [2,3]@[3,4]",
    args: [arr(A23), arr(B34)],
    fn: (a, b) => np.matmul(a, b),
    want: build([2, 4], ([i, k]) => [0, 1, 2].reduce((s, j) => s + at(A23, [i, j]) * at(B34, [j, k]), 0)),
    tol: { atol: 1e-6 },
  },
  {
    prim: "dotGeneral",
    label: "dotGeneral with batch and contracting dims in odd places",
    args: [arr(DA), arr(DB)],
    fn: (a, b) => bind1("dotGeneral", [a, b], { contract: [[2], [0]], batch: [[1], [2]] }),
    want: build([2, 4, 5], ([bt, i, k]) => [0, 1, 2].reduce((s, c) => s + at(DA, [i, bt, c]) * at(DB, [c, k, bt]), 0)),
    tol: { atol: 1e-6 },
  },
  conv("conv VALID", [2, 3, 5, 5], [4, 3, 3, 3], {}, 20),
  conv("conv strides, padding, lhs and rhs dilation", [1, 2, 5, 4], [3, 2, 2, 3], {
    strides: [2, 1],
    padding: [[1, 0], [2, 1]],
    lhsDilation: [2, 1],
    rhsDilation: [1, 2],
  }, 22),
  conv("conv featureGroupCount 2", [2, 4, 4, 4], [6, 2, 3, 3], { featureGroupCount: 2 }, 24),
  conv("conv batchGroupCount 2", [4, 3, 4, 4], [4, 3, 2, 2], { batchGroupCount: 2 }, 26),
  {
    prim: "convGeneralDilated",
    label: "conv NHWC/HWIO layouts with SAME padding",
    args: [arr(NH), arr(HW)],
    fn: (a, b) => lax.convGeneralDilated(a, b, { padding: "SAME", dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }),
    want: (() => {
      const l = build([2, 3, 4, 5], ([n, c, y, x]) => at(NH, [n, y, x, c]));
      const r = build([4, 3, 3, 2], ([o, i, y, x]) => at(HW, [y, x, i, o]));
      const out = refConv2d(l, r, {
        strides: [1, 1],
        padding: [[1, 1], [0, 1]],
        lhsDilation: [1, 1],
        rhsDilation: [1, 1],
        featureGroupCount: 1,
        batchGroupCount: 1,
      });
      return build([2, 4, 5, 4], ([n, y, x, c]) => at(out, [n, c, y, x]));
    })(),
    tol: { atol: 1e-5, rtol: 1e-5 },
  },
];

const WX = rand([2, 5, 4], 30);
const W1: WinP = { window: [1, 2, 2], strides: [1, 2, 1], padding: [[0, 0], [1, 0], [0, 1]] };
const WOUT = refReduceWindow(WX, "sum", W1).shape;
const WT = rand(WX.shape, 31);
const WS = rand(WOUT, 32);
const windowCases: Case[] = [
  {
    prim: "reduceWindow",
    label: "sum pooling with padding and strides",
    args: [arr(WX)],
    fn: (x) => lax.reduceWindow(x, "sum", W1.window, { strides: W1.strides, padding: W1.padding }),
    want: refReduceWindow(WX, "sum", W1),
    tol: { atol: 1e-6 },
  },
  {
    prim: "reduceWindow",
    label: "max pooling with padding and strides",
    args: [arr(WX)],
    fn: (x) => lax.reduceWindow(x, "max", W1.window, { strides: W1.strides, padding: W1.padding }),
    want: refReduceWindow(WX, "max", W1),
  },
  {
    prim: "reduceWindow",
    label: "2x2 max pooling, SAME, overlapping",
    args: [arr(rand([1, 1, 5, 5], 33))],
    fn: (x) => lax.reduceWindow(x, "max", [1, 1, 3, 3], { strides: [1, 1, 2, 2], padding: "SAME" }),
    want: refReduceWindow(rand([1, 1, 5, 5], 33), "max", {
      window: [1, 1, 3, 3],
      strides: [1, 1, 2, 2],
      padding: [[0, 0], [0, 0], [1, 1], [1, 1]],
    }),
  },
  {
    prim: "selectAndGather",
    label: "selectAndGather picks the tangent at each window's max",
    args: [arr(WX), arr(WT)],
    fn: (x, t) => bind1("selectAndGather", [x, t], W1),
    want: refSelectAndGather(WX, WT, W1),
  },
  {
    prim: "selectAndScatterAdd",
    label: "selectAndScatterAdd sends each window's value to its max",
    args: [arr(WS), arr(WX)],
    fn: (s, x) => bind1("selectAndScatterAdd", [s, x], W1),
    want: refSelectAndScatterAdd(WS, WX, W1),
    tol: { atol: 1e-6 },
  },
];

const randomCases: Case[] = [
  {
    prim: "threefry2x32",
    label: "threefry2x32-20 known-answer vectors (Random123)",
    args: [
      u32([0, 0xffffffff, 0x13198a2e]),
      u32([0, 0xffffffff, 0x03707344]),
      u32([0, 0xffffffff, 0x243f6a88]),
      u32([0, 0xffffffff, 0x85a308d3]),
    ],
    fn: (k0, k1, x0, x1) => bind("threefry2x32", [k0, k1, x0, x1], {}),
    want: [h([3], [0x6b200159, 0x1cb996fc, 0xc4923a9c]), h([3], [0x99ba4efe, 0xbb002be7, 0x483df7a0])],
    dtype: "uint32",
  },
];

const cube = customVjp(
  (x: Arr) => x.mul(x).mul(x),
  (x: Arr) => [x.mul(x).mul(x), x],
  (x: Arr, g: Arr) => [g.mul(x.mul(x)).mul(3)],
);
const fakeGrad = customVjp((x: Arr) => np.sin(x), (x: Arr) => [np.sin(x), x], (_x: Arr, g: Arr) => [g.mul(7)]);
const SC = rand([3], 50);
const SX = rand([4, 3], 51);
function refScan(reverse: boolean): Host[] {
  let c = [...SC.data];
  const ys: number[][] = [];
  const order = reverse ? [3, 2, 1, 0] : [0, 1, 2, 3];
  for (const t of order) {
    const x = SX.data.slice(t * 3, t * 3 + 3);
    ys[t] = c.map((v, i) => v * x[i]);
    c = c.map((v, i) => v * 0.5 + x[i]);
  }
  return [h([3], c), h([4, 3], ys.flat())];
}
const scanBody = (c: Arr, x: Arr): [Arr, Arr] => [c.mul(0.5).add(x), c.mul(x)];
const structureCases: Case[] = [
  {
    prim: "jitCall",
    label: "jit of a composite",
    args: [arr(X)],
    fn: jit((x: Arr) => np.sin(x).mul(2)),
    want: map(X, (v) => 2 * Math.sin(v)),
    tol: { atol: 1e-6 },
  },
  {
    prim: "customVjpCall",
    label: "customVjp computes f",
    args: [arr(X)],
    fn: (x) => cube(x),
    want: map(X, (v) => v ** 3),
    tol: { rtol: 1e-6, atol: 1e-6 },
  },
  {
    prim: "customLin",
    label: "grad of a customVjp function uses its bwd",
    args: [arr(X)],
    fn: (x) => grad((y: Arr) => fakeGrad(y).sum())(x),
    want: map(X, () => 7),
  },
  {
    prim: "scan",
    label: "scan threads the carry and stacks ys",
    args: [arr(SC), arr(SX)],
    fn: (c, xs) => lax.scan(scanBody, c, xs),
    want: refScan(false),
    tol: { atol: 1e-6 },
  },
  {
    prim: "scan",
    label: "reverse scan",
    args: [arr(SC), arr(SX)],
    fn: (c, xs) => lax.scan(scanBody, c, xs, { reverse: true }),
    want: refScan(true),
    tol: { atol: 1e-6 },
  },
];

/** Every value case. */
export const cases: Case[] = [
  ...elementwiseCases,
  ...reduceCases,
  ...movementCases,
  ...indexingCases,
  ...contractCases,
  ...windowCases,
  ...randomCases,
  ...structureCases,
];

/** Primitives whose cases cannot show them in a traced program (they only exist inside a transform). */
export const notTraced: ReadonlySet<string> = new Set(["customLin"]);
