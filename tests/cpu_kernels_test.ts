import assert from "node:assert/strict";
import type { Aval } from "../core/array.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import type { Kernel } from "../core/backend/cpu/kernel_types.ts";
import type { ConvParams, DotDims } from "../core/primitives/contract.ts";
import { elementwiseKernels as E, erf } from "../core/backend/cpu/kernels/elementwise.ts";
import { reduceKernels as R } from "../core/backend/cpu/kernels/reduce.ts";
import { movementKernels as M } from "../core/backend/cpu/kernels/movement.ts";
import { indexingKernels as I } from "../core/backend/cpu/kernels/indexing.ts";
import { contractKernels as C, setConvColBlock, setConvPath } from "../core/backend/cpu/kernels/contract.ts";
import { windowKernels as W } from "../core/backend/cpu/kernels/window.ts";
import { randomKernels as RND } from "../core/backend/cpu/kernels/random.ts";
import { convRef, dotGeneralRef } from "../core/backend/cpu/kernels/reference_contract.ts";
import { ConvGather } from "../core/backend/cpu/kernels/conv_gather.ts";
// ---------- helpers ----------
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const strides = (s: readonly number[]) => s.map((_, i) => size(s.slice(i + 1)));
const unravel = (f: number, s: readonly number[]) => s.map((_, i) => Math.floor(f / size(s.slice(i + 1))) % s[i]);
const av = (shape: number[], dtype: DType = "float32"): Aval => ({ shape, dtype });
const [f32, i32, u32, b8] = [Float32Array, Int32Array, Uint32Array, Uint8Array].map((T) => (...v: number[]) =>
  new T(v)
) as [
  (...v: number[]) => Float32Array,
  (...v: number[]) => Int32Array,
  (...v: number[]) => Uint32Array,
  (...v: number[]) => Uint8Array,
];
/** Runs a one-output kernel. */
function k1<P>(k: Kernel<P>, ins: TypedArray[], avals: Aval[], p: P, out: Aval): TypedArray {
  const r = k(ins, avals, p, [out]);
  assert.equal(r.length, 1);
  assert.equal(r[0].length, size(out.shape));
  return r[0];
}
/** Elementwise kernel on same-shaped 1-d inputs. */
function ew(name: keyof typeof E, ins: TypedArray[], dtype: DType, outDtype: DType = dtype): number[] {
  const n = ins[0].length;
  const k = E[name] as Kernel<Record<string, never>>;
  return [...k1(k, ins, ins.map(() => av([n], dtype)), {}, av([n], outDtype))];
}
let seed = 7;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const randF = (n: number) => Float32Array.from({ length: n }, rnd);
const randI = (n: number, r = 10) => Int32Array.from({ length: n }, () => Math.round(rnd() * r));
function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5, msg = "") {
  assert.equal(a.length, b.length, `${msg} length`);
  for (let i = 0; i < a.length; i++) {
    const ok = (Number.isNaN(a[i]) && Number.isNaN(b[i])) || Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i]));
    assert.ok(ok, `${msg} [${i}]: ${a[i]} vs ${b[i]}`);
  }
}
const norm = (v: ArrayLike<number>) => Array.from(v, (x) => (Object.is(x, -0) ? 0 : x));
const same = (a: ArrayLike<number>, b: ArrayLike<number>, msg = "") => assert.deepEqual(norm(a), norm(b), msg);
// ---------- elementwise ----------
Deno.test("elementwise float math", () => {
  const x = f32(-2.5, -1, -0.25, 0, 0.5, 3);
  close(ew("exp", [x], "float32"), [...x].map(Math.exp), 1e-7);
  close(ew("tanh", [x], "float32"), [...x].map(Math.tanh), 1e-7);
  close(ew("rsqrt", [f32(4, 0.25)], "float32"), [0.5, 2]);
  close(ew("logistic", [f32(-100, 0, 100, -1000)], "float32"), [Math.fround(1 / (1 + Math.exp(100))), 0.5, 1, 0], 1e-7);
  same(ew("add", [f32(1, 2), f32(0.5, -3)], "float32"), [1.5, -1]);
  same(ew("div", [f32(1, -1, 0), f32(0, 0, 0)], "float32").slice(0, 2), [Infinity, -Infinity]);
  assert.ok(Number.isNaN(ew("div", [f32(0), f32(0)], "float32")[0]));
  same(ew("pow", [f32(2, 1, -1, 4), f32(10, NaN, Infinity, 0.5)], "float32"), [1024, 1, 1, 2]);
  same(ew("rem", [f32(-7.5, 7.5, 5), f32(2, -2, 2.5)], "float32"), [-1.5, 1.5, 0]);
  const mx = ew("max", [f32(NaN, 1, 2), f32(0, NaN, -1)], "float32");
  assert.ok(Number.isNaN(mx[0]) && Number.isNaN(mx[1]) && mx[2] === 2);
  const mn = ew("min", [f32(NaN, 1, 2), f32(0, NaN, -1)], "float32");
  assert.ok(Number.isNaN(mn[0]) && Number.isNaN(mn[1]) && mn[2] === -1);
  const sg = ew("sign", [f32(-3, 0, 2, NaN)], "float32");
  same(sg.slice(0, 3), [-1, 0, 1]);
  assert.ok(Number.isNaN(sg[3]));
  same(ew("sign", [i32(-5, 0, 7)], "int32"), [-1, 0, 1]);
  same(ew("isnan", [f32(NaN, 1, Infinity)], "float32", "bool"), [1, 0, 0]);
  same(ew("floor", [f32(-1.5, 1.5)], "float32"), [-2, 1]);
  same(ew("ceil", [f32(-1.5, 1.5)], "float32"), [-1, 2]);
  same(ew("atan2", [f32(1), f32(1)], "float32"), [Math.fround(Math.PI / 4)]);
});
Deno.test("round is half to even", () => {
  const x = f32(0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 2.4, -2.6, 3.5, 1e8 + 0.5);
  same(ew("round", [x], "float32"), [0, 2, 2, 0, -2, -2, 0, 2, -3, 4, Math.fround(1e8 + 0.5)]);
  assert.ok(Object.is(ew("round", [f32(-0.4)], "float32")[0], -0));
});
Deno.test("erf is accurate", () => {
  const cases: [number, number][] = [
    [0.001, 0.0011283787909692363],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [-1.5, -0.9661051464753108],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
    [3.5, 0.9999992569016276],
  ];
  for (const [x, y] of cases) assert.ok(Math.abs(erf(x) - y) < 1e-14, `erf(${x}) = ${erf(x)} vs ${y}`);
  close(ew("erf", [f32(0, 5, -10, 1)], "float32"), [0, 1, -1, Math.fround(0.8427007929497149)], 0);
  assert.ok(Number.isNaN(erf(NaN)));
});
Deno.test("integer arithmetic wraps; div truncates; rem follows the dividend", () => {
  const MIN = -2147483648, MAX = 2147483647;
  same(ew("add", [i32(MAX, MIN), i32(1, -1)], "int32"), [MIN, MAX]);
  same(ew("sub", [i32(MIN), i32(1)], "int32"), [MAX]);
  same(ew("mul", [i32(65536, 123456789, -3), i32(65536, 987654321, 7)], "int32"), [
    0,
    Math.imul(123456789, 987654321),
    -21,
  ]);
  same(ew("div", [i32(7, -7, 7, 5, MIN), i32(-2, 2, 2, 0, -1)], "int32"), [-3, -3, 3, 0, MIN]);
  same(ew("rem", [i32(-7, 7, 5, MIN), i32(2, -2, 0, -1)], "int32"), [-1, 1, 5, 0]);
  same(ew("neg", [i32(MIN, 5)], "int32"), [MIN, -5]);
  same(ew("abs", [i32(MIN, -5)], "int32"), [MIN, 5]);
  same(ew("sub", [u32(0), u32(1)], "uint32"), [4294967295]);
  same(ew("add", [u32(4294967295), u32(2)], "uint32"), [1]);
  same(ew("mul", [u32(4294967295), u32(4294967295)], "uint32"), [1]);
  same(ew("div", [u32(4294967295, 5), u32(2, 0)], "uint32"), [2147483647, 0]);
  same(ew("neg", [u32(1)], "uint32"), [4294967295]);
  same(ew("max", [u32(4294967295), u32(1)], "uint32"), [4294967295]);
});
Deno.test("bitwise, shifts, not, comparisons, select", () => {
  same(ew("shiftLeft", [i32(1, 1, 1, 3), i32(31, 32, -1, 2)], "int32"), [-2147483648, 0, 0, 12]);
  same(ew("shiftRightLogical", [i32(-8, -8, 16), i32(1, 32, 4)], "int32"), [0x7ffffffc, 0, 1]);
  same(ew("shiftRightLogical", [u32(0x80000000), u32(31)], "uint32"), [1]);
  same(ew("shiftLeft", [u32(0xffffffff), u32(4)], "uint32"), [0xfffffff0]);
  same(ew("not", [b8(0, 1)], "bool"), [1, 0]);
  same(ew("not", [i32(0, 5)], "int32"), [-1, -6]);
  same(ew("not", [u32(0)], "uint32"), [4294967295]);
  same(ew("and", [i32(12), i32(10)], "int32"), [8]);
  same(ew("or", [u32(0x80000000), u32(1)], "uint32"), [0x80000001]);
  same(ew("xor", [b8(1, 1, 0), b8(1, 0, 0)], "bool"), [0, 1, 0]);
  same(ew("and", [b8(1, 1, 0), b8(1, 0, 0)], "bool"), [1, 0, 0]);
  same(ew("max", [b8(1, 0), b8(0, 0)], "bool"), [1, 0]);
  const a = f32(1, NaN, 2), b = f32(1, NaN, 3);
  same(ew("eq", [a, b], "float32", "bool"), [1, 0, 0]);
  same(ew("ne", [a, b], "float32", "bool"), [0, 1, 1]);
  same(ew("lt", [a, b], "float32", "bool"), [0, 0, 1]);
  same(ew("le", [a, b], "float32", "bool"), [1, 0, 1]);
  same(ew("gt", [u32(4294967295), u32(1)], "uint32", "bool"), [1]);
  same(ew("ge", [i32(-1), i32(1)], "int32", "bool"), [0]);
  const s = k1(
    E.select,
    [b8(1, 0, 1), i32(1, 2, 3), i32(4, 5, 6)],
    [av([3], "bool"), av([3], "int32"), av([3], "int32")],
    {},
    av([3], "int32"),
  );
  same(s, [1, 5, 3]);
  const x = f32(1, 2);
  const y = k1(E.stopGradient, [x], [av([2])], {}, av([2]));
  same(y, [1, 2]); // (the kernel may share its input's storage; see the pool tests for arrays)
});
Deno.test("convert and bitcast", () => {
  const cv = (
    x: TypedArray,
    from: DType,
    to: DType,
  ) => [...k1(E.convert, [x], [av([x.length], from)], { dtype: to }, av([x.length], to))];
  same(cv(f32(1.9, -1.9, NaN, 3e9, -3e9, Infinity, -0.5), "float32", "int32"), [
    1,
    -1,
    0,
    2147483647,
    -2147483648,
    2147483647,
    0,
  ]);
  same(cv(f32(-1, 3.7, 5e9, NaN), "float32", "uint32"), [0, 3, 4294967295, 0]);
  same(cv(i32(-1, 5), "int32", "uint32"), [4294967295, 5]);
  same(cv(u32(4294967295), "uint32", "int32"), [-1]);
  same(cv(f32(0, -0, 0.1, NaN), "float32", "bool"), [0, 0, 1, 1]);
  same(cv(i32(0, -3), "int32", "bool"), [0, 1]);
  same(cv(b8(0, 1), "bool", "float32"), [0, 1]);
  same(cv(i32(16777217), "int32", "float32"), [16777216]);
  const bc = (x: TypedArray, from: DType, to: DType) =>
    k1(E.bitcast, [x], [av([x.length], from)], { dtype: to }, av([x.length], to));
  same(bc(f32(1, -2), "float32", "int32"), [0x3f800000, -0x40000000]);
  same(bc(i32(-1), "int32", "uint32"), [4294967295]);
  const nan = bc(u32(0x7fc00001), "uint32", "float32");
  assert.ok(nan instanceof Float32Array && Number.isNaN(nan[0]));
  same(bc(nan, "float32", "uint32"), [0x7fc00001]);
});
// ---------- reductions ----------
/** Independent reduction oracle over arbitrary axes. */
function reduceOracle(
  x: ArrayLike<number>,
  shape: number[],
  axes: number[],
  init: number,
  f: (a: number, v: number) => number,
): number[] {
  const keep = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const outShape = keep.map((d) => shape[d]);
  const out = new Array(size(outShape)).fill(init);
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, shape);
    const o = keep.reduce((acc, d, j) => acc + idx[d] * strides(outShape)[j], 0);
    out[o] = f(out[o], x[i]);
  }
  return out;
}

Deno.test("float32 sums over every axis subset of 4-d arrays equal an ordered float64 sum exactly", () => {
  // The in-place sum and the transposing fallback both add in row-major order of the reduced
  // axes into a float64 accumulator: the oracle does the same, so results must be identical.
  for (const shape of [[3, 4, 5, 6], [2, 1, 7, 3], [5, 3, 1, 1], [1, 9, 2, 4]]) {
    const x = randF(size(shape));
    for (let mask = 0; mask < 16; mask++) {
      const axes = [0, 1, 2, 3].filter((d) => mask & (1 << d));
      const outShape = shape.filter((_, i) => !axes.includes(i));
      const got = k1(R.reduceSum, [x], [av(shape)], { axes }, av(outShape));
      same(got, reduceOracle(x, shape, axes, 0, (a, v) => a + v).map(Math.fround), `sum ${shape} over ${axes}`);
    }
  }
});

Deno.test("reductions over any axes", () => {
  const shape = [3, 4, 5];
  const x = randF(60);
  for (const axes of [[], [0], [1], [2], [0, 2], [1, 2], [0, 1, 2]]) {
    const outShape = shape.filter((_, i) => !axes.includes(i));
    const o = av(outShape);
    close(
      k1(R.reduceSum, [x], [av(shape)], { axes }, o),
      reduceOracle(x, shape, axes, 0, (a, v) => a + v),
      1e-5,
      `sum ${axes}`,
    );
    close(
      k1(R.reduceProd, [x], [av(shape)], { axes }, o),
      reduceOracle(x, shape, axes, 1, (a, v) => a * v),
      1e-5,
      `prod ${axes}`,
    );
    same(
      k1(R.reduceMax, [x], [av(shape)], { axes }, o),
      reduceOracle(x, shape, axes, -Infinity, Math.max),
      `max ${axes}`,
    );
    same(
      k1(R.reduceMin, [x], [av(shape)], { axes }, o),
      reduceOracle(x, shape, axes, Infinity, Math.min),
      `min ${axes}`,
    );
  }
  const m = k1(R.reduceMax, [f32(1, NaN, 3, 4, 5, 6)], [av([2, 3])], { axes: [1] }, av([2]));
  assert.ok(Number.isNaN(m[0]) && m[1] === 6);
  same(k1(R.reduceSum, [i32(2147483647, 1, 5)], [av([3], "int32")], { axes: [0] }, av([], "int32")), [-2147483648 + 5]);
  same(k1(R.reduceSum, [u32(4294967295, 2)], [av([2], "uint32")], { axes: [0] }, av([], "uint32")), [1]);
  same(k1(R.reduceProd, [i32(65536, 65536, 3)], [av([3], "int32")], { axes: [0] }, av([], "int32")), [0]);
  same(k1(R.reduceMax, [i32(-5, -2, -9)], [av([3], "int32")], { axes: [0] }, av([], "int32")), [-2]);
  same(k1(R.reduceMax, [b8(0, 1, 0, 0)], [av([2, 2], "bool")], { axes: [1] }, av([2], "bool")), [1, 0]);
  same(k1(R.reduceMin, [b8(1, 1, 0, 1)], [av([2, 2], "bool")], { axes: [1] }, av([2], "bool")), [1, 0]);
  same(k1(R.reduceSum, [f32()], [av([0, 3])], { axes: [0] }, av([3])), [0, 0, 0]);
});
Deno.test("argmax/argmin: first extreme, NaN wins", () => {
  const x = f32(1, 3, 3, 0, 5, 5, 2, 2, 1, 4, 0, 7);
  same(k1(R.argmax, [x], [av([3, 4])], { axis: 1 }, av([3], "int32")), [1, 0, 3]);
  same(k1(R.argmin, [x], [av([3, 4])], { axis: 1 }, av([3], "int32")), [3, 2, 2]);
  same(k1(R.argmax, [x], [av([3, 4])], { axis: 0 }, av([4], "int32")), [1, 1, 0, 2]);
  same(k1(R.argmax, [f32(1, NaN, 5, NaN)], [av([4])], { axis: 0 }, av([], "int32")), [1]);
  same(k1(R.argmin, [f32(NaN, -1, NaN)], [av([3])], { axis: 0 }, av([], "int32")), [0]);
  same(k1(R.argmax, [i32(-3, 7, 7)], [av([3], "int32")], { axis: 0 }, av([], "int32")), [1]);
  same(k1(R.argmax, [f32(1, 2, 3, 4, 0, 9, 8, 7)], [av([2, 2, 2])], { axis: 1 }, av([2, 2], "int32")), [1, 1, 1, 0]);
});
Deno.test("cumsum forward and reverse", () => {
  const x = f32(1, 2, 3, 4, 5, 6);
  same(k1(R.cumsum, [x], [av([2, 3])], { axis: 1, reverse: false }, av([2, 3])), [1, 3, 6, 4, 9, 15]);
  same(k1(R.cumsum, [x], [av([2, 3])], { axis: 1, reverse: true }, av([2, 3])), [6, 5, 3, 15, 11, 6]);
  same(k1(R.cumsum, [x], [av([2, 3])], { axis: 0, reverse: false }, av([2, 3])), [1, 2, 3, 5, 7, 9]);
  same(k1(R.cumsum, [i32(2147483647, 1, 1)], [av([3], "int32")], { axis: 0, reverse: false }, av([3], "int32")), [
    2147483647,
    -2147483648,
    -2147483647,
  ]);
});
// ---------- movement ----------
Deno.test("reshape, broadcastInDim, transpose, rev, iota", () => {
  const x = f32(1, 2, 3);
  same(k1(M.reshape, [x], [av([3])], { shape: [3, 1] }, av([3, 1])), [1, 2, 3]);
  same(k1(M.broadcastInDim, [x], [av([3])], { shape: [2, 3], dims: [1] }, av([2, 3])), [1, 2, 3, 1, 2, 3]);
  same(k1(M.broadcastInDim, [x], [av([3, 1])], { shape: [3, 2], dims: [0, 1] }, av([3, 2])), [1, 1, 2, 2, 3, 3]);
  same(k1(M.broadcastInDim, [f32(7)], [av([])], { shape: [2, 2], dims: [] }, av([2, 2])), [7, 7, 7, 7]);
  same(
    k1(M.broadcastInDim, [x], [av([1, 3])], { shape: [2, 4, 3], dims: [1, 2] }, av([2, 4, 3])),
    [...Array(8)].flatMap(() => [1, 2, 3]),
  );
  const tcases: [number[], number[]][] = [[[2, 3, 4], [2, 0, 1]], [[33, 20], [1, 0]], [[3, 17, 40], [0, 2, 1]], [[
    18,
    2,
    35,
  ], [2, 1, 0]]];
  for (const [shape, perm] of tcases) {
    const y = randF(size(shape)), outShape = perm.map((p) => shape[p]);
    const want = [...Array(size(shape))].map((_, f) => {
      const o = unravel(f, outShape), idx = shape.map(() => 0);
      perm.forEach((p, i) => (idx[p] = o[i]));
      return y[idx.reduce((a, v, i) => a + v * strides(shape)[i], 0)];
    });
    same(k1(M.transpose, [y], [av(shape)], { perm }, av(outShape)), want, `transpose ${shape} ${perm}`);
  }
  const shape = [2, 3, 4], y = randF(24);
  same(k1(M.transpose, [i32(1, 2, 3, 4, 5, 6)], [av([2, 3], "int32")], { perm: [1, 0] }, av([3, 2], "int32")), [
    1,
    4,
    2,
    5,
    3,
    6,
  ]);
  same(
    k1(M.rev, [y], [av(shape)], { axes: [0, 2] }, av(shape)),
    [...Array(24)].map((_, f) => {
      const [a, b, c] = unravel(f, shape);
      return y[(1 - a) * 12 + b * 4 + (3 - c)];
    }),
  );
  same(k1(M.iota, [], [], { shape: [2, 3], dtype: "int32", dimension: 1 }, av([2, 3], "int32")), [0, 1, 2, 0, 1, 2]);
  same(k1(M.iota, [], [], { shape: [2, 3], dtype: "float32", dimension: 0 }, av([2, 3])), [0, 0, 0, 1, 1, 1]);
});
Deno.test("slice with strides; concatenate", () => {
  const x = Float32Array.from({ length: 30 }, (_, i) => i); // [5, 6]
  same(k1(M.slice, [x], [av([5, 6])], { start: [1, 0], limit: [5, 6], strides: [2, 4] }, av([2, 2])), [6, 10, 18, 22]);
  same(k1(M.slice, [x], [av([5, 6])], { start: [2, 3], limit: [3, 6], strides: [1, 1] }, av([1, 3])), [15, 16, 17]);
  const a = f32(1, 2, 3, 4), b = f32(5, 6), c = f32(7, 8, 9, 10, 11, 12);
  same(
    k1(M.concatenate, [a, b, c], [av([2, 2]), av([2, 1]), av([2, 3])], { axis: 1 }, av([2, 6])),
    [1, 2, 5, 7, 8, 9, 3, 4, 6, 10, 11, 12],
  );
  same(k1(M.concatenate, [a, f32(), b], [av([2, 2]), av([0, 2]), av([1, 2])], { axis: 0 }, av([3, 2])), [
    1,
    2,
    3,
    4,
    5,
    6,
  ]);
});
Deno.test("pad: negative lo/hi and interior", () => {
  const padOracle = (x: ArrayLike<number>, shape: number[], lo: number[], hi: number[], inter: number[], v: number) => {
    const out = shape.map((n, i) => lo[i] + hi[i] + n + Math.max(0, n - 1) * inter[i]);
    return {
      shape: out,
      data: [...Array(size(out))].map((_, f) => {
        const o = unravel(f, out);
        let src = 0;
        for (let d = 0; d < shape.length; d++) {
          const j = o[d] - lo[d], s = inter[d] + 1;
          if (j < 0 || j % s !== 0 || j / s >= shape[d]) return v;
          src += (j / s) * strides(shape)[d];
        }
        return x[src];
      }),
    };
  };
  const shape = [3, 4], x = Float32Array.from({ length: 12 }, (_, i) => i + 1);
  const cases: [number[], number[], number[]][] = [
    [[1, 2], [0, 1], [0, 0]],
    [[-1, 0], [1, -2], [0, 0]],
    [[0, -2], [2, 1], [1, 2]],
    [[-3, -1], [-1, 0], [2, 1]],
    [[2, 0], [-3, -5], [1, 1]],
  ];
  for (const [lo, hi, interior] of cases) {
    const want = padOracle(x, shape, lo, hi, interior, -7);
    same(
      k1(M.pad, [x, f32(-7)], [av(shape), av([])], { lo, hi, interior }, av(want.shape)),
      want.data,
      `pad ${lo} ${hi} ${interior}`,
    );
  }
  same(
    k1(
      M.pad,
      [i32(1, 2), i32(0)],
      [av([2], "int32"), av([], "int32")],
      { lo: [1], hi: [1], interior: [1] },
      av([5], "int32"),
    ),
    [0, 1, 0, 2, 0],
  );
});
// ---------- indexing ----------
Deno.test("gather and scatterAdd clamp indices", () => {
  const x = Float32Array.from({ length: 12 }, (_, i) => i); // [3, 4]
  const idx = i32(3, -5, 10, 1);
  same(k1(I.gather, [x, idx], [av([3, 4]), av([2, 2], "int32")], { axis: 1 }, av([3, 2, 2])), [
    3,
    0,
    3,
    1,
    7,
    4,
    7,
    5,
    11,
    8,
    11,
    9,
  ]);
  same(k1(I.gather, [x, i32(2, 0)], [av([3, 4]), av([2], "int32")], { axis: 0 }, av([2, 4])), [
    8,
    9,
    10,
    11,
    0,
    1,
    2,
    3,
  ]);
  const z = new Float32Array(6); // [2, 3]
  const u = f32(1, 2, 3, 10, 20, 30); // [2, 3] along axis 1 with idx [0, 0, 9]
  same(k1(I.scatterAdd, [z, i32(0, 0, 9), u], [av([2, 3]), av([3], "int32"), av([2, 3])], { axis: 1 }, av([2, 3])), [
    3,
    0,
    3,
    30,
    0,
    30,
  ]);
  const base = i32(1, 1, 1);
  same(
    k1(I.scatterAdd, [base, i32(-1, 2), i32(5, 2147483647)], [av([3], "int32"), av([2], "int32"), av([2], "int32")], {
      axis: 0,
    }, av([3], "int32")),
    [6, 1, -2147483648],
  );
  assert.deepEqual([...base], [1, 1, 1]);
});
Deno.test("dynamicSlice / dynamicUpdateSlice clamp starts", () => {
  const x = Float32Array.from({ length: 20 }, (_, i) => i); // [4, 5]
  const ds = (
    s: number[],
  ) => [...k1(I.dynamicSlice, [x, i32(...s)], [av([4, 5]), av([2], "int32")], { sizes: [2, 3] }, av([2, 3]))];
  same(ds([1, 1]), [6, 7, 8, 11, 12, 13]);
  same(ds([3, 4]), [12, 13, 14, 17, 18, 19]);
  same(ds([-2, -9]), [0, 1, 2, 5, 6, 7]);
  const upd = f32(-1, -2, -3, -4);
  const dus = (
    s: number[],
  ) => [...k1(I.dynamicUpdateSlice, [x, upd, i32(...s)], [av([4, 5]), av([2, 2]), av([2], "int32")], {}, av([4, 5]))];
  const want = (r: number, c: number) =>
    [...x].map((v, i) => {
      const [a, b] = unravel(i, [4, 5]);
      return a >= r && a < r + 2 && b >= c && b < c + 2 ? upd[(a - r) * 2 + (b - c)] : v;
    });
  same(dus([1, 2]), want(1, 2));
  same(dus([9, 9]), want(2, 3));
  same(dus([-1, 0]), want(0, 0));
  assert.equal(x[0], 0);
});
// ---------- contractions ----------
Deno.test("dotGeneralRef by hand", () => {
  const r = dotGeneralRef(
    f32(1, 2, 3, 4),
    [2, 2],
    f32(5, 6, 7, 8),
    [2, 2],
    { contract: [[1], [0]], batch: [[], []] },
    "float32",
  );
  same(r.data, [19, 22, 43, 50]);
  const t = dotGeneralRef(
    f32(1, 2, 3, 4),
    [2, 2],
    f32(5, 6, 7, 8),
    [2, 2],
    { contract: [[0], [0]], batch: [[], []] },
    "float32",
  );
  same(t.data, [1 * 5 + 3 * 7, 1 * 6 + 3 * 8, 2 * 5 + 4 * 7, 2 * 6 + 4 * 8]);
});
Deno.test("dotGeneral matches the reference", () => {
  const cases: [number[], number[], DotDims][] = [
    [[3, 4], [4, 5], { contract: [[1], [0]], batch: [[], []] }],
    [[4, 3], [4, 5], { contract: [[0], [0]], batch: [[], []] }],
    [[3, 4], [5, 4], { contract: [[1], [1]], batch: [[], []] }],
    [[4, 3], [5, 4], { contract: [[0], [1]], batch: [[], []] }],
    [[2, 3, 4], [2, 4, 5], { contract: [[2], [1]], batch: [[0], [0]] }],
    [[2, 4, 3], [2, 5, 4], { contract: [[1], [2]], batch: [[0], [0]] }],
    [[3, 2, 4], [4, 5, 2], { contract: [[2], [0]], batch: [[1], [2]] }],
    [[2, 3, 4, 5], [5, 6, 4], { contract: [[3, 2], [0, 2]], batch: [[], []] }],
    [[3, 2, 4, 2], [2, 4, 3, 2], { contract: [[2], [1]], batch: [[3, 0], [0, 2]] }],
    [[3], [4], { contract: [[], []], batch: [[], []] }],
    [[5], [5], { contract: [[0], [0]], batch: [[], []] }],
    [[3, 0], [0, 2], { contract: [[1], [0]], batch: [[], []] }],
    [[40, 50], [50, 60], { contract: [[1], [0]], batch: [[], []] }],
    [[3, 40, 50], [3, 60, 50], { contract: [[2], [2]], batch: [[0], [0]] }],
  ];
  for (const [as, bs, dims] of cases) {
    const a = randF(size(as)), b = randF(size(bs));
    const want = dotGeneralRef(a, as, b, bs, dims, "float32");
    const got = k1(C.dotGeneral, [a, b], [av(as), av(bs)], dims, av(want.shape));
    close(got, want.data, 1e-5, `dot ${as} ${bs} ${JSON.stringify(dims)}`);
    const ai = randI(size(as), 1000), bi = randI(size(bs), 1000);
    const wi = dotGeneralRef(ai, as, bi, bs, dims, "int32");
    same(k1(C.dotGeneral, [ai, bi], [av(as, "int32"), av(bs, "int32")], dims, av(wi.shape, "int32")), wi.data);
  }
  const big = i32(65536, 65536);
  same(
    k1(
      C.dotGeneral,
      [big, big],
      [av([2], "int32"), av([2], "int32")],
      { contract: [[0], [0]], batch: [[], []] },
      av([], "int32"),
    ),
    [0],
  );
});

const conv = (o: Partial<ConvParams> & { nsp: number }): ConvParams => ({
  strides: o.strides ?? Array(o.nsp).fill(1),
  padding: o.padding ?? Array(o.nsp).fill([0, 0]),
  lhsDilation: o.lhsDilation ?? Array(o.nsp).fill(1),
  rhsDilation: o.rhsDilation ?? Array(o.nsp).fill(1),
  featureGroupCount: o.featureGroupCount ?? 1,
  batchGroupCount: o.batchGroupCount ?? 1,
});
Deno.test("convRef by hand", () => {
  const c1 = (
    x: number[],
    w: number[],
    p: Partial<ConvParams>,
  ) => [...convRef(f32(...x), [1, 1, x.length], f32(...w), [1, 1, w.length], conv({ nsp: 1, ...p }), "float32").data];
  same(c1([1, 2, 3, 4], [1, -1], {}), [-1, -1, -1]);
  same(c1([1, 2, 3], [1, 1, 1], { padding: [[1, 1]] }), [3, 6, 5]);
  same(c1([1, 2, 3], [1, 1], { lhsDilation: [2] }), [1, 2, 2, 3]);
  same(c1([1, 2, 3, 4, 5], [1, 1], { rhsDilation: [2] }), [4, 6, 8]);
  same(c1([1, 2, 3, 4], [1], { padding: [[-1, -1]] }), [2, 3]);
  same(c1([1, 2, 3, 4, 5], [1], { strides: [2] }), [1, 3, 5]);
  same(c1([1, 2, 3], [1, 10], { padding: [[2, -1]] }), [0, 10, 1 + 20]);
  const x2 = Float32Array.from({ length: 9 }, (_, i) => i + 1);
  same(convRef(x2, [1, 1, 3, 3], f32(1, 0, 0, 1), [1, 1, 2, 2], conv({ nsp: 2 }), "float32").data, [6, 8, 12, 14]);
  const g = convRef(
    f32(1, 2, 10, 20),
    [1, 2, 2],
    f32(2, 3),
    [2, 1, 1],
    conv({ nsp: 1, featureGroupCount: 2 }),
    "float32",
  );
  assert.deepEqual(g.shape, [1, 2, 2]);
  same(g.data, [2, 4, 30, 60]);
  const bg = convRef(
    f32(1, 2, 10, 20),
    [2, 1, 2],
    f32(2, 3),
    [2, 1, 1],
    conv({ nsp: 1, batchGroupCount: 2 }),
    "float32",
  );
  assert.deepEqual(bg.shape, [1, 2, 2]);
  same(bg.data, [2, 4, 30, 60]);
});
Deno.test("convGeneralDilated matches convRef", () => {
  type Case = [number[], number[], Partial<ConvParams>];
  const cases: Case[] = [
    [[2, 3, 7], [4, 3, 3], {}],
    [[1, 2, 9], [3, 2, 2], { strides: [2], padding: [[1, 2]] }],
    [[2, 2, 6], [2, 2, 3], { padding: [[-1, 2]], lhsDilation: [2], rhsDilation: [2] }],
    [[2, 3, 5, 6], [4, 3, 3, 2], {}],
    [[2, 4, 7, 5], [6, 2, 3, 3], { strides: [2, 1], padding: [[1, 1], [-1, 2]], featureGroupCount: 2 }],
    [[1, 3, 6, 6], [3, 1, 2, 2], {
      lhsDilation: [2, 1],
      rhsDilation: [1, 2],
      padding: [[0, 1], [2, 0]],
      featureGroupCount: 3,
    }],
    [[4, 2, 5, 5], [6, 2, 3, 3], { batchGroupCount: 2, padding: [[1, 1], [1, 1]] }],
    [[6, 1, 4, 5], [3, 1, 2, 2], { batchGroupCount: 3, strides: [2, 2], rhsDilation: [2, 1] }],
    [[1, 2, 4, 3, 5], [2, 2, 2, 2, 3], { strides: [1, 2, 1], padding: [[1, 0], [0, 1], [-1, 1]] }],
    [[2, 3, 8, 8], [5, 3, 3, 3], { strides: [3, 2], padding: [[2, 2], [1, 1]], lhsDilation: [2, 2] }],
    [[1, 1, 3], [1, 1, 5], { padding: [[0, 0]] }],
    // Phase-split path with groups and input dilation, strides sharing factors with it.
    [[4, 4, 5, 4], [6, 2, 3, 2], { batchGroupCount: 2, lhsDilation: [2, 2], padding: [[1, 2], [1, 0]] }],
    [[2, 4, 5, 4], [6, 2, 3, 3], {
      featureGroupCount: 2,
      lhsDilation: [4, 3],
      strides: [2, 6],
      rhsDilation: [3, 1],
      padding: [[2, 1], [0, 3]],
    }],
  ];
  for (
    const [path, blockElems, wasm] of [
      ["auto", 1 << 22, true],
      ["auto", 7, true],
      ["phase", 7, true],
      ["phase", 300, true],
      ["phase", 1 << 22, false],
      ["phase", 300, false],
    ] as const
  ) {
    setConvPath(path);
    setConvColBlock(blockElems);
    ConvGather.enabled = wasm;
    for (const [ls, rs, pp] of cases) {
      const p = conv({ nsp: ls.length - 2, ...pp });
      const x = randF(size(ls)), w = randF(size(rs));
      const want = convRef(x, ls, w, rs, p, "float32");
      const got = k1(C.convGeneralDilated, [x, w], [av(ls), av(rs)], p, av(want.shape));
      close(got, want.data, 1e-5, `conv ${path} ${ls} ${rs} ${JSON.stringify(pp)} block ${blockElems}`);
      const xi = randI(size(ls), 100), wi = randI(size(rs), 100);
      const wantI = convRef(xi, ls, wi, rs, p, "int32");
      same(
        k1(C.convGeneralDilated, [xi, wi], [av(ls, "int32"), av(rs, "int32")], p, av(wantI.shape, "int32")),
        wantI.data,
      );
    }
  }
  setConvPath("auto");
  setConvColBlock(1 << 22);
  ConvGather.enabled = true;
});
Deno.test("the wasm gather split over two threads matches convRef", () => {
  const eng = ConvGather.get();
  if (!eng) return console.log("no shared-memory WebAssembly here: the JavaScript gather is tested above");
  const threads = eng.warmup(5000) ? 2 : 1;
  if (navigator.hardwareConcurrency >= 2) assert.equal(threads, 2, "the gather worker started");
  setConvPath("phase");
  // 16 channels × 9 taps rows of 8 images × 144 outputs: large enough to split.
  for (
    const [ls, rs, pp] of [
      [[8, 16, 12, 12], [8, 16, 3, 3], { padding: [[1, 1], [1, 1]] }],
      [[8, 16, 13, 11], [12, 16, 5, 3], { strides: [2, 1], padding: [[2, 2], [0, 1]] }],
      [[8, 16, 7, 7], [8, 16, 5, 5], { lhsDilation: [2, 2], padding: [[3, 2], [3, 2]] }],
    ] as [number[], number[], Partial<ConvParams>][]
  ) {
    const p = conv({ nsp: 2, ...pp });
    const x = randF(size(ls)), w = randF(size(rs));
    const want = convRef(x, ls, w, rs, p, "float32");
    for (let rep = 0; rep < 3; rep++) {
      const got = k1(C.convGeneralDilated, [x, w], [av(ls), av(rs)], p, av(want.shape));
      close(got, want.data, 1e-5, `conv ${ls} ${rs} ${JSON.stringify(pp)} (${threads} threads)`);
    }
  }
  setConvPath("auto");
});
Deno.test("convGeneralDilated paths over dilated inputs match convRef", () => {
  type Case = [number[], number[], Partial<ConvParams>];
  const cases: Case[] = [
    // Transposed-convolution shapes (lhsDilation, unit strides).
    [[2, 3, 5], [4, 3, 3], { lhsDilation: [2], padding: [[2, 1]] }],
    [[3, 2, 7], [2, 2, 4], { lhsDilation: [3], padding: [[3, 3]] }],
    [[2, 2, 6], [3, 2, 3], { lhsDilation: [2], rhsDilation: [2], padding: [[-1, 2]] }],
    [[1, 2, 5], [2, 2, 2], { lhsDilation: [3], padding: [[-2, -1]] }],
    [[2, 3, 4, 5], [2, 3, 3, 3], { lhsDilation: [2, 2], padding: [[2, 1], [2, 1]] }],
    [[3, 4, 5, 3], [5, 4, 5, 5], { lhsDilation: [2, 3], padding: [[3, 2], [4, 4]] }],
    [[2, 2, 7, 6], [3, 2, 3, 2], { lhsDilation: [2, 1], rhsDilation: [1, 2], padding: [[-1, 3], [1, -1]] }],
    [[2, 3, 3, 4, 3], [2, 3, 2, 3, 2], { lhsDilation: [2, 2, 3], padding: [[1, 1], [0, 2], [-1, 1]] }],
    // Weight-gradient shapes (output smaller than the kernel) and strided outputs.
    [[4, 3, 5, 5], [2, 3, 9, 9], { lhsDilation: [2, 2], padding: [[3, 2], [3, 2]] }],
    [[3, 2, 4], [2, 2, 8], { lhsDilation: [2], rhsDilation: [1], padding: [[2, 3]] }],
    [[2, 3, 6, 5], [4, 3, 3, 3], { lhsDilation: [2, 3], strides: [2, 3], padding: [[1, 0], [2, 1]] }],
    [[2, 3, 8, 8], [5, 3, 3, 3], { strides: [3, 2], padding: [[2, 2], [1, 1]], lhsDilation: [2, 2] }],
    [[2, 3, 7], [4, 3, 3], { strides: [2], padding: [[1, 2]], rhsDilation: [2] }],
    [[2, 3], [4, 3], {}],
  ];
  for (const path of ["phase", "im2col", "scatter", "kernelCol", "auto"] as const) {
    setConvPath(path);
    for (const blockElems of [1 << 22, 7]) {
      setConvColBlock(blockElems);
      for (const [ls, rs, pp] of cases) {
        const p = conv({ nsp: ls.length - 2, ...pp });
        const x = randF(size(ls)), w = randF(size(rs));
        const want = convRef(x, ls, w, rs, p, "float32");
        const got = k1(C.convGeneralDilated, [x, w], [av(ls), av(rs)], p, av(want.shape));
        close(got, want.data, 1e-5, `conv ${path} ${ls} ${rs} ${JSON.stringify(pp)} block ${blockElems}`);
      }
    }
  }
  setConvPath("auto");
  setConvColBlock(1 << 22);
});
// ---------- windows ----------
/** Independent window oracle: explicitly padded input, windows scanned in row-major order. */
function windowOracle(x: ArrayLike<number>, shape: number[], win: number[], str: number[], pad: [number, number][]) {
  const pShape = shape.map((n, i) => n + pad[i][0] + pad[i][1]);
  const outShape = pShape.map((n, i) => Math.floor((n - win[i]) / str[i]) + 1);
  const windows: { o: number; pos: (number | null)[] }[] = [];
  for (let o = 0; o < size(outShape); o++) {
    const oi = unravel(o, outShape);
    const pos: (number | null)[] = [];
    for (let t = 0; t < size(win); t++) {
      const ti = unravel(t, win);
      const src = oi.map((v, d) => v * str[d] + ti[d] - pad[d][0]);
      pos.push(
        src.every((s, d) => s >= 0 && s < shape[d]) ? src.reduce((a, s, d) => a + s * strides(shape)[d], 0) : null,
      );
    }
    windows.push({ o, pos });
  }
  const argmax = (pos: (number | null)[]) => {
    let best: number | null = null;
    for (const p of pos) {
      if (p === null) continue;
      if (Number.isNaN(x[p])) return p;
      if (best === null || x[p] > x[best]) best = p;
    }
    return best;
  };
  return { outShape, windows, argmax };
}

Deno.test("reduceWindow, selectAndGather, selectAndScatterAdd match a padded oracle", () => {
  type Case = [number[], number[], number[], [number, number][]];
  const cases: Case[] = [
    [[5, 6], [2, 2], [2, 2], [[0, 0], [0, 0]]],
    [[5, 6], [3, 3], [1, 2], [[1, 1], [2, 0]]],
    [[2, 3, 7], [1, 2, 3], [1, 1, 2], [[0, 0], [1, 0], [1, 1]]],
    [[7], [3], [2], [[-1, 2]]],
    [[2, 2], [2, 2], [1, 1], [[3, 0], [0, 1]]],
  ];
  for (const [shape, window, strides_, padding] of cases) {
    const x = Float32Array.from(randF(size(shape)), (v) => Math.round(v * 3)); // many ties
    const { outShape, windows, argmax } = windowOracle(x, shape, window, strides_, padding);
    const w = { window, strides: strides_, padding };
    const sum = windows.map(({ pos }) => pos.reduce((a: number, p) => a + (p === null ? 0 : x[p]), 0));
    const max = windows.map(({ pos }) =>
      pos.reduce((a: number, p) => Math.max(a, p === null ? -Infinity : x[p]), -Infinity)
    );
    same(k1(W.reduceWindow, [x], [av(shape)], { ...w, op: "sum" }, av(outShape)), sum);
    same(k1(W.reduceWindow, [x], [av(shape)], { ...w, op: "max" }, av(outShape)), max);
    const t = randF(size(shape));
    const gathered = windows.map(({ pos }) => {
      const a = argmax(pos);
      return a === null ? 0 : t[a];
    });
    same(k1(W.selectAndGather, [x, t], [av(shape), av(shape)], w, av(outShape)), gathered);
    const s = randF(size(outShape));
    const scattered = new Float32Array(size(shape));
    windows.forEach(({ o, pos }) => {
      const a = argmax(pos);
      if (a !== null) scattered[a] += s[o];
    });
    same(k1(W.selectAndScatterAdd, [s, x], [av(outShape), av(shape)], w, av(shape)), scattered);
  }
});
Deno.test("window edge cases: NaN, all-padding windows, int max", () => {
  const w = { window: [2], strides: [1], padding: [[2, 0]] as [number, number][] };
  const x = f32(1, NaN, 3), t = f32(10, 20, 30);
  const m = k1(W.reduceWindow, [x], [av([3])], { ...w, op: "max" }, av([4]));
  assert.equal(m[0], -Infinity);
  assert.equal(m[1], 1);
  assert.ok(Number.isNaN(m[2]) && Number.isNaN(m[3]));
  same(k1(W.selectAndGather, [x, t], [av([3]), av([3])], w, av([4])), [0, 10, 20, 20]);
  same(k1(W.selectAndScatterAdd, [f32(1, 2, 3, 4), x], [av([4]), av([3])], w, av([3])), [2, 7, 0]);
  same(
    k1(
      W.reduceWindow,
      [i32(-5, -7)],
      [av([2], "int32")],
      { window: [2], strides: [1], padding: [[1, 0]], op: "max" },
      av([2], "int32"),
    ),
    [-5, -5],
  );
  same(
    k1(
      W.reduceWindow,
      [i32(-5, -7)],
      [av([2], "int32")],
      { window: [2], strides: [1], padding: [[1, 0]], op: "sum" },
      av([2], "int32"),
    ),
    [-5, -12],
  );
});
// ---------- random ----------
Deno.test("threefry2x32 known answers", () => {
  const [y0, y1] = RND.threefry2x32(
    [
      u32(0x13198a2e, 0, 0xffffffff),
      u32(0x03707344, 0, 0xffffffff),
      u32(0x243f6a88, 0, 0xffffffff),
      u32(0x85a308d3, 0, 0xffffffff),
    ],
    [av([3], "uint32"), av([3], "uint32"), av([3], "uint32"), av([3], "uint32")],
    {},
    [av([3], "uint32"), av([3], "uint32")],
  );
  assert.ok(y0 instanceof Uint32Array && y1 instanceof Uint32Array);
  same(y0, [0xc4923a9c, 0x6b200159, 0x1cb996fc]);
  same(y1, [0x483df7a0, 0x99ba4efe, 0xbb002be7]);
});
