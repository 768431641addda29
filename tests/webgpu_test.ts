/**
 * WebGPU backend: per-primitive parity with the cpu kernels (integers bit-exact, float32
 * within 1e-5 relative), random bits, NaN/Inf semantics. Skipped when no adapter is available.
 */
import assert from "node:assert/strict";
import { rules } from "../core/rules.ts";
import type { KernelName } from "../core/primitives/types.ts";
import { isSoftwareAdapter } from "../core/backend/webgpu/mod.ts";
import { gpuTest, I, parity } from "./webgpu_util.ts";

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 0.5, 1.5, 2.5, -2.5, -0.5, 1e-7, -3.7, 100, 1, -1, 2, 3, 0.3];
const f = "float32", i32 = "int32", u32 = "uint32", b8 = "bool";
const INTS = [0, 1, -1, 7, -7, 2147483647, -2147483648, 3, -3, 31, 32, 33, 100, -100, 5, 2];
const UINTS = [0, 1, 7, 4294967295, 2147483648, 3, 31, 32, 33, 100, 5, 2];

const unary = [
  "neg",
  "exp",
  "log",
  "log1p",
  "expm1",
  "sin",
  "cos",
  "tanh",
  "logistic",
  "sqrt",
  "rsqrt",
  "abs",
  "sign",
  "floor",
  "ceil",
  "round",
  "erf",
  "isnan",
] as const;
const binaryF = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "max",
  "min",
  "atan2",
  "rem",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
] as const;
const binaryI = [
  "add",
  "sub",
  "mul",
  "div",
  "max",
  "min",
  "rem",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "and",
  "or",
  "xor",
  "shiftLeft",
  "shiftRightLogical",
] as const;

Deno.test({
  name: "webgpu: isSoftwareAdapter",
  fn: () => {
    assert.ok(isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }));
    assert.ok(isSoftwareAdapter({ vendor: "Google", description: "SwiftShader Device" }));
    assert.ok(isSoftwareAdapter({ isFallbackAdapter: true }));
    assert.ok(!isSoftwareAdapter({ vendor: "nvidia", description: "NVIDIA H100" }));
  },
});

Deno.test({
  name: "webgpu: elementwise parity (special values, all dtypes)",
  ...gpuTest,
  fn: async () => {
    const n = SPECIAL.length;
    const smooth = I([n], f, SPECIAL);
    for (const op of unary) await parity(op, [smooth], {} as never, { atol: 1e-6 });
    const rnd = I([257], f, undefined, -6, 6);
    for (const op of unary) await parity(op, [rnd], {} as never, { atol: 1e-6 });
    const wide = I([300], f, undefined, -40, 40);
    for (const op of ["exp", "tanh", "logistic", "erf", "expm1"] as const) await parity(op, [wide], {}, { atol: 1e-6 });
    const pos = I([300], f, undefined, 0, 50);
    for (const op of ["log", "log1p", "sqrt", "rsqrt"] as const) await parity(op, [pos], {});
    for (const op of ["neg", "abs", "sign"] as const) {
      await parity(op, [I([INTS.length], i32, INTS)], {});
      await parity(op, [I([UINTS.length], u32, UINTS)], {});
    }
    await parity("not", [I([INTS.length], i32, INTS)], {});
    await parity("not", [I([UINTS.length], u32, UINTS)], {});
    await parity("not", [I([5], b8, [0, 1, 1, 0, 1])], {});
    // Binary: every pair of special values.
    const xs: number[] = [], ys: number[] = [];
    for (const a of SPECIAL) for (const b of SPECIAL) xs.push(a), ys.push(b);
    for (const op of binaryF) await parity(op, [I([xs.length], f, xs), I([ys.length], f, ys)], {}, { atol: 1e-6 });
    for (const op of binaryF) await parity(op, [I([200], f, undefined, -5, 5), I([200], f, undefined, -5, 5)], {});
    const xi: number[] = [], yi: number[] = [];
    for (const a of INTS) for (const b of INTS) xi.push(a), yi.push(b);
    const xu: number[] = [], yu: number[] = [];
    for (const a of UINTS) for (const b of UINTS) xu.push(a), yu.push(b);
    for (const op of binaryI) {
      await parity(op, [I([xi.length], i32, xi), I([yi.length], i32, yi)], {});
      await parity(op, [I([xu.length], u32, xu), I([yu.length], u32, yu)], {});
    }
    for (const op of ["and", "or", "xor", "eq", "ne", "max", "min", "lt"] as const) {
      await parity(op, [I([4], b8, [0, 0, 1, 1]), I([4], b8, [0, 1, 0, 1])], {});
    }
    await parity("select", [I([50], b8), I([50], f), I([50], f)], {});
    await parity("select", [I([50], b8), I([50], i32), I([50], i32)], {});
    await parity("stopGradient", [I([7], f)], {});
    const conv = [...SPECIAL, 3e9, -3e9, 4.5e9, 2147483520, -2147483904, 16777217];
    for (const to of [f, i32, u32, b8] as const) {
      await parity("convert", [I([conv.length], f, conv)], { dtype: to });
      await parity("convert", [I([INTS.length], i32, INTS)], { dtype: to });
      await parity("convert", [I([UINTS.length], u32, UINTS)], { dtype: to });
      await parity("convert", [I([4], b8, [0, 1, 1, 0])], { dtype: to });
    }
    for (const to of [f, i32, u32] as const) {
      await parity("bitcast", [I([conv.length], f, conv)], { dtype: to });
      await parity("bitcast", [I([INTS.length], i32, INTS)], { dtype: to });
    }
  },
});

Deno.test({
  name: "webgpu: reductions parity",
  ...gpuTest,
  fn: async () => {
    for (const d of [f, i32, u32, b8] as const) {
      for (const op of ["reduceSum", "reduceMax", "reduceMin", "reduceProd"] as const) {
        const lo = op === "reduceProd" ? 0.5 : -3, hi = op === "reduceProd" ? 1.5 : 3;
        await parity(op, [I([3, 4, 5], d, undefined, lo, hi)], { axes: [1] });
        await parity(op, [I([3, 4, 5], d, undefined, lo, hi)], { axes: [0, 2] });
        await parity(op, [I([3, 4, 5], d, undefined, lo, hi)], { axes: [0, 1, 2] });
        await parity(op, [I([2, 700], d, undefined, lo, hi)], { axes: [1] }, { rtol: 1e-4, atol: 1e-4 });
        await parity(op, [I([600, 3], d, undefined, lo, hi)], { axes: [0] }, { rtol: 1e-4, atol: 1e-4 });
      }
      if (d !== b8) {
        await parity("argmax", [I([4, 6, 3], d)], { axis: 1 });
        await parity("argmin", [I([4, 6, 3], d)], { axis: 2 });
        await parity("cumsum", [I([4, 6, 3], d)], { axis: 1, reverse: false }, { atol: 1e-5 });
        await parity("cumsum", [I([4, 6, 3], d)], { axis: 0, reverse: true }, { atol: 1e-5 });
      }
    }
    const withNan = [1, NaN, 3, 5, 2, 7, NaN, 0, 1, 1, 1, 1];
    for (const op of ["reduceMax", "reduceMin"] as const) await parity(op, [I([3, 4], f, withNan)], { axes: [1] });
    await parity("argmax", [I([3, 4], f, withNan)], { axis: 1 });
    await parity("argmin", [I([3, 4], f, withNan)], { axis: 0 });
    await parity("reduceSum", [I([0, 4], f)], { axes: [0] });
  },
});

Deno.test({
  name: "webgpu: movement parity",
  ...gpuTest,
  fn: async () => {
    for (const d of [f, i32, b8] as const) {
      await parity("reshape", [I([2, 6], d)], { shape: [3, 4] });
      await parity("broadcastInDim", [I([3, 1], d)], { shape: [2, 3, 5], dims: [1, 2] });
      await parity("transpose", [I([2, 3, 4], d)], { perm: [2, 0, 1] });
      await parity("slice", [I([5, 7], d)], { start: [1, 2], limit: [5, 7], strides: [2, 3] });
      await parity("pad", [I([3, 4], d), I([], d, [1])], { lo: [1, -1], hi: [2, 0], interior: [1, 2] });
      await parity("concatenate", [I([2, 3], d), I([2, 1], d), I([2, 4], d)], { axis: 1 });
      await parity("concatenate", [I([2, 3], d), I([1, 3], d)], { axis: 0 });
      await parity("rev", [I([3, 4, 2], d)], { axes: [0, 2] });
    }
    await parity("iota", [], { shape: [3, 4], dtype: "int32", dimension: 1 });
    await parity("iota", [], { shape: [3, 4], dtype: "float32", dimension: 0 });
    await parity("iota", [], { shape: [5], dtype: "uint32", dimension: 0 });
  },
});

Deno.test({
  name: "webgpu: indexing parity",
  ...gpuTest,
  fn: async () => {
    const idx = I([2, 3], i32, [0, 4, -2, 9, 2, 2]);
    for (const d of [f, i32, b8] as const) {
      await parity("gather", [I([3, 5, 2], d), idx], { axis: 1 });
      await parity("scatterAdd", [I([3, 5, 2], d), idx, I([3, 2, 3, 2], d)], { axis: 1 });
      await parity("dynamicSlice", [I([5, 6], d), I([2], i32, [3, -1])], { sizes: [3, 2] });
      await parity("dynamicSlice", [I([5, 6], d), I([2], i32, [1, 5])], { sizes: [2, 4] });
      await parity("dynamicUpdateSlice", [I([5, 6], d), I([2, 3], d), I([2], i32, [4, 1])], {});
    }
  },
});

const conv = (
  s: number[],
  pad: [number, number][],
  ld: number[],
  rd: number[],
  fg = 1,
  bg = 1,
) => ({ strides: s, padding: pad, lhsDilation: ld, rhsDilation: rd, featureGroupCount: fg, batchGroupCount: bg });

Deno.test({
  name: "webgpu: contraction parity",
  ...gpuTest,
  fn: async () => {
    const CT = { atol: 1e-4 };
    await parity("dotGeneral", [I([5, 7]), I([7, 3])], { contract: [[1], [0]], batch: [[], []] }, CT);
    await parity("dotGeneral", [I([70, 33]), I([50, 33])], { contract: [[1], [1]], batch: [[], []] }, CT);
    await parity("dotGeneral", [I([3, 20, 40]), I([40, 3, 18])], { contract: [[2], [0]], batch: [[0], [1]] }, CT);
    await parity("dotGeneral", [I([2, 4, 3, 5]), I([3, 4, 6])], { contract: [[1, 2], [1, 0]], batch: [[], []] }, CT);
    await parity("dotGeneral", [I([65, 130]), I([130, 67])], { contract: [[1], [0]], batch: [[], []] }, {
      rtol: 1e-4,
      atol: 1e-4,
    });
    await parity("dotGeneral", [I([17, 9], i32), I([9, 33], i32)], { contract: [[1], [0]], batch: [[], []] });
    await parity("dotGeneral", [I([40, 9], u32), I([9, 33], u32)], { contract: [[1], [0]], batch: [[], []] });
    await parity("dotGeneral", [I([4, 9], b8), I([9, 3], b8)], { contract: [[1], [0]], batch: [[], []] });
    const cases: [number[], number[], ReturnType<typeof conv>][] = [
      [[2, 3, 9, 9], [4, 3, 3, 3], conv([1, 1], [[1, 1], [1, 1]], [1, 1], [1, 1])],
      [[2, 4, 10, 8], [6, 2, 3, 2], conv([2, 1], [[2, -1], [0, 1]], [1, 1], [2, 1], 2)],
      [[4, 3, 7, 7], [6, 3, 3, 3], conv([1, 2], [[1, 2], [0, 0]], [2, 1], [1, 2], 1, 2)],
      [[2, 2, 11], [3, 2, 4], conv([3], [[-1, 2]], [2], [1])],
      [[3, 8, 12, 12], [32, 8, 3, 3], conv([1, 1], [[1, 1], [1, 1]], [1, 1], [1, 1])],
    ];
    for (const [l, r, p] of cases) await parity("convGeneralDilated", [I(l), I(r)], p, { rtol: 1e-4, atol: 1e-4 });
    await parity(
      "convGeneralDilated",
      [I([2, 3, 6, 6], i32), I([4, 3, 2, 2], i32)],
      conv([1, 1], [[0, 1], [1, 0]], [1, 1], [1, 1]),
    );
  },
});

Deno.test({
  name: "webgpu: window and random parity",
  ...gpuTest,
  fn: async () => {
    const w = { window: [1, 3, 2], strides: [1, 2, 1], padding: [[0, 0], [1, 1], [0, 1]] as [number, number][] };
    for (const d of [f, i32] as const) {
      await parity("reduceWindow", [I([2, 7, 5], d)], { ...w, op: "sum" });
      await parity("reduceWindow", [I([2, 7, 5], d)], { ...w, op: "max" });
      await parity("selectAndGather", [I([2, 7, 5], d), I([2, 7, 5], d)], w);
    }
    await parity("reduceWindow", [I([2, 7, 5], f, [1, NaN, 2, 3, 4])], { ...w, op: "max" });
    await parity("selectAndScatterAdd", [I([2, 4, 5]), I([2, 7, 5])], w);
    const w2 = { window: [3, 3], strides: [2, 2], padding: [[1, 1], [1, 1]] as [number, number][] };
    await parity("selectAndScatterAdd", [I([4, 4]), I([7, 8], f, [1, 2, 2, 0, 5, 5, 1, 3, 9])], w2);
    await parity("threefry2x32", [
      I([300], u32, undefined, 0, 4e8),
      I([300], u32, undefined, 0, 4e8),
      I([300], u32, undefined, 0, 4e8),
      I([300], u32, undefined, 0, 4e8),
    ], {});
  },
});

/** Every primitive that is not structural (run by its rule on the buffer model) has a kernel. */
Deno.test({
  name: "webgpu: every primitive has a kernel",
  fn: async () => {
    const { webgpuKernels } = await import("../core/backend/webgpu/mod.ts");
    const k = webgpuKernels();
    for (const [name, rule] of Object.entries(rules)) {
      if (!rule.run) assert.equal(typeof k[name as KernelName], "function", name);
    }
  },
});
