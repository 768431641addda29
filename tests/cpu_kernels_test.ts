/** cpu elementwise, reduction, movement and indexing kernels against hand values and plain loops. */
import assert from "node:assert/strict";
import type { DType, TypedArray } from "../core/dtype.ts";
import { elementwiseKernels as E, erf } from "../core/backend/cpu/kernels/elementwise.ts";
import { reduceKernels as R } from "../core/backend/cpu/kernels/reduce.ts";
import { movementKernels as M } from "../core/backend/cpu/kernels/movement.ts";
import { indexingKernels as I } from "../core/backend/cpu/kernels/indexing.ts";
import { av, b8, close, ew, f32, i32, k1, randF, same, size, strides, u32, unravel } from "./_kernel_util.ts";
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
