/**
 * Value cases of the elementwise primitives (see _prim_cases.ts). One or more value cases per primitive: a function through the public API (or `bind`
 * where a primitive has no wrapper), small inputs, and the expected result computed here
 * by plain loops or by hand. Shared by primitives_test.ts (values) and jit_test.ts (jit
 * agrees with eager on every op).
 * @module
 */
import { type Array as Arr, lax, np, stopGradient, type Tolerance } from "../mod.ts";
import { bind1 } from "../core/trace.ts";
import { arr, erfRef, type Host, rand } from "./_ref.ts";

/** One value case. */
export interface Case {
  /** The primitive this case is for. */
  prim: string;
  /** What is being checked. */
  label: string;
  /** Inputs. */
  args: Arr[];
  /** The computation (returns one array or several). */
  fn: (...xs: Arr[]) => Arr | Arr[];
  /** The expected result(s), computed independently. */
  want: Host | Host[];
  /** Tolerance (default float32-tight). */
  tol?: Tolerance;
  /** Expected output dtype(s), when it matters. */
  dtype?: string;
}

export const h = (shape: number[], data: number[]): Host => ({ shape, data });
export const map = (x: Host, f: (v: number) => number): Host => ({ shape: x.shape, data: x.data.map(f) });
export const zip = (x: Host, y: Host, f: (a: number, b: number) => number): Host => ({
  shape: x.shape,
  data: x.data.map((v, i) => f(v, y.data[i])),
});
export const f32 = Math.fround;

export const X = rand([2, 3], 1, -2, 2);
const P = rand([2, 3], 2, 0.2, 3);
const A = rand([2, 3], 3, -2, 2);
const Bm = map(rand([2, 3], 4, 0.5, 2), (v) => v);
const B = { shape: Bm.shape, data: Bm.data.map((v, i) => (i % 2 ? -v : v)) };
const C = { shape: A.shape, data: A.data.map((v, i) => (i === 2 ? v : f32(v * 0.7 + 0.1))) }; // tie at 2

const unaryCases: Case[] = ([
  ["neg", np.negative, X, (v: number) => -v],
  ["exp", np.exp, X, Math.exp],
  ["log", np.log, P, Math.log],
  ["log1p", np.log1p, P, Math.log1p],
  ["expm1", np.expm1, X, Math.expm1],
  ["sin", np.sin, X, Math.sin],
  ["cos", np.cos, X, Math.cos],
  ["tanh", np.tanh, X, Math.tanh],
  ["logistic", np.sigmoid, X, (v: number) => 1 / (1 + Math.exp(-v))],
  ["sqrt", np.sqrt, P, Math.sqrt],
  ["rsqrt", np.rsqrt, P, (v: number) => 1 / Math.sqrt(v)],
  ["abs", np.abs, X, Math.abs],
  ["erf", np.erf, X, erfRef],
] as [string, (x: Arr) => Arr, Host, (v: number) => number][]).map(([prim, f, x, ref]) => ({
  prim,
  label: `${prim} of float32`,
  args: [arr(x)],
  fn: f,
  want: map(x, ref),
  tol: { rtol: 2e-6, atol: 1e-6 },
}));

const R6 = h([6], [-1.5, -0.5, 0.5, 1.5, 2.5, -2.7]);
export const i32 = (data: number[], shape = [data.length]) => arr(h(shape, data), "int32");
export const u32 = (data: number[], shape = [data.length]) => arr(h(shape, data), "uint32");
export const bools = (data: number[], shape = [data.length]) => arr(h(shape, data), "bool");

const unaryExact: Case[] = [
  {
    prim: "sign",
    label: "sign with zeros",
    args: [arr(h([6], [-2, 0, 3.5, -0.1, 1, 0]))],
    fn: np.sign,
    want: h([6], [-1, 0, 1, -1, 1, 0]),
  },
  {
    prim: "sign",
    label: "sign of int32",
    args: [i32([-7, 0, 4])],
    fn: np.sign,
    want: h([3], [-1, 0, 1]),
    dtype: "int32",
  },
  { prim: "abs", label: "abs of int32", args: [i32([-7, 0, 4])], fn: np.abs, want: h([3], [7, 0, 4]), dtype: "int32" },
  {
    prim: "neg",
    label: "neg of int32",
    args: [i32([-7, 0, 4])],
    fn: np.negative,
    want: h([3], [7, 0, -4]),
    dtype: "int32",
  },
  { prim: "floor", label: "floor at halves", args: [arr(R6)], fn: np.floor, want: h([6], [-2, -1, 0, 1, 2, -3]) },
  { prim: "ceil", label: "ceil at halves", args: [arr(R6)], fn: np.ceil, want: h([6], [-1, -0, 1, 2, 3, -2]) },
  {
    prim: "round",
    label: "round half to even (numpy)",
    args: [arr(R6)],
    fn: np.round,
    want: h([6], [-2, -0, 0, 2, 2, -3]),
  },
  {
    prim: "isnan",
    label: "isnan with infinities",
    args: [arr(h([6], [NaN, 1, Infinity, -Infinity, 0, NaN]))],
    fn: np.isnan,
    want: h([6], [1, 0, 0, 0, 0, 1]),
    dtype: "bool",
  },
  {
    prim: "not",
    label: "logical not",
    args: [bools([1, 0, 1])],
    fn: np.logicalNot,
    want: h([3], [0, 1, 0]),
    dtype: "bool",
  },
  {
    prim: "not",
    label: "bitwise not of int32",
    args: [i32([0, -1, 5, 2147483647])],
    fn: (x) => bind1("not", [x], {}),
    want: h([4], [-1, 0, -6, -2147483648]),
    dtype: "int32",
  },
];

const binFloat: Case[] = ([
  ["add", np.add, A, B, (a: number, b: number) => a + b],
  ["sub", np.subtract, A, B, (a: number, b: number) => a - b],
  ["mul", np.multiply, A, B, (a: number, b: number) => a * b],
  ["div", np.divide, A, B, (a: number, b: number) => a / b],
  ["pow", np.power, P, A, Math.pow],
  ["max", np.maximum, A, C, Math.max],
  ["min", np.minimum, A, C, Math.min],
  ["atan2", np.arctan2, A, B, Math.atan2],
  ["rem", (a: Arr, b: Arr) => np.rem(a.mul(3), b), A, B, (a: number, b: number) => f32(a * 3) % b],
] as [string, (a: Arr, b: Arr) => Arr, Host, Host, (a: number, b: number) => number][]).map((
  [prim, f, a, b, ref],
) => ({
  prim,
  label: `${prim} of float32`,
  args: [arr(a), arr(b)],
  fn: f,
  want: zip(a, b, ref),
  tol: { rtol: 2e-6, atol: 1e-6 },
}));

const cmpCases: Case[] = ([
  ["eq", np.equal, (a: number, b: number) => a === b],
  ["ne", np.notEqual, (a: number, b: number) => a !== b],
  ["lt", np.less, (a: number, b: number) => a < b],
  ["le", np.lessEqual, (a: number, b: number) => a <= b],
  ["gt", np.greater, (a: number, b: number) => a > b],
  ["ge", np.greaterEqual, (a: number, b: number) => a >= b],
] as [string, (a: Arr, b: Arr) => Arr, (a: number, b: number) => boolean][]).flatMap(([prim, f, ref]) => [
  {
    prim,
    label: `${prim} of float32 with a tie`,
    args: [arr(A), arr(C)],
    fn: f,
    want: zip(A, C, (a, b) => +ref(a, b)),
    dtype: "bool",
  },
  {
    prim,
    label: `${prim} of int32`,
    args: [i32([-3, 0, 7, 2]), i32([-3, 1, 2, 2])],
    fn: f,
    want: h([4], [0, 1, 2, 3].map((i) => +ref([-3, 0, 7, 2][i], [-3, 1, 2, 2][i]))),
    dtype: "bool",
  },
]);

const IA = [-7, 7, -7, 7, 5, 0];
const IB = [2, -2, -2, 2, 3, 3];
const BA = [1, 1, 0, 0];
const BB = [1, 0, 1, 0];
const WA = [12, -1, 5, 0];
const WB = [10, 7, 3, -1];
const intCases: Case[] = [
  {
    prim: "div",
    label: "int32 division truncates",
    args: [i32(IA), i32(IB)],
    fn: (a, b) => bind1("div", [a, b], {}),
    want: h([6], IA.map((a, i) => Math.trunc(a / IB[i]))),
    dtype: "int32",
  },
  {
    prim: "rem",
    label: "int32 remainder has the dividend's sign",
    args: [i32(IA), i32(IB)],
    fn: np.rem,
    want: h([6], [-1, 1, -1, 1, 2, 0]),
    dtype: "int32",
  },
  {
    prim: "max",
    label: "max of int32",
    args: [i32(IA), i32(IB)],
    fn: np.maximum,
    want: h([6], IA.map((a, i) => Math.max(a, IB[i]))),
    dtype: "int32",
  },
  {
    prim: "and",
    label: "logical and",
    args: [bools(BA), bools(BB)],
    fn: np.logicalAnd,
    want: h([4], [1, 0, 0, 0]),
    dtype: "bool",
  },
  {
    prim: "or",
    label: "logical or",
    args: [bools(BA), bools(BB)],
    fn: np.logicalOr,
    want: h([4], [1, 1, 1, 0]),
    dtype: "bool",
  },
  {
    prim: "xor",
    label: "logical xor",
    args: [bools(BA), bools(BB)],
    fn: np.logicalXor,
    want: h([4], [0, 1, 1, 0]),
    dtype: "bool",
  },
  ...(["and", "or", "xor"] as const).map((prim): Case => ({
    prim,
    label: `bitwise ${prim} of int32`,
    args: [i32(WA), i32(WB)],
    fn: (a, b) => bind1(prim, [a, b], {}),
    want: h([4], WA.map((a, i) => (prim === "and" ? a & WB[i] : prim === "or" ? a | WB[i] : a ^ WB[i]))),
    dtype: "int32",
  })),
  {
    prim: "shiftLeft",
    label: "shiftLeft of int32 (shifts ≥ 32 give 0)",
    args: [i32([1, 1, 3, -1, 5]), i32([0, 31, 2, 4, 32])],
    fn: (a, b) => bind1("shiftLeft", [a, b], {}),
    want: h([5], [1, -2147483648, 12, -16, 0]),
    dtype: "int32",
  },
  {
    prim: "shiftRightLogical",
    label: "shiftRightLogical of uint32",
    args: [u32([0xffffffff, 8, 1024, 7]), u32([1, 3, 10, 32])],
    fn: (a, b) => bind1("shiftRightLogical", [a, b], {}),
    want: h([4], [0x7fffffff, 1, 1, 0]),
    dtype: "uint32",
  },
  {
    prim: "shiftRightLogical",
    label: "shiftRightLogical of a negative int32 shifts in zeros",
    args: [i32([-8, -1]), i32([1, 28])],
    fn: (a, b) => bind1("shiftRightLogical", [a, b], {}),
    want: h([2], [2147483644, 15]),
    dtype: "int32",
  },
];

const otherElementwise: Case[] = [
  {
    prim: "select",
    label: "where picks per element",
    args: [arr(A), arr(B)],
    fn: (a, b) => np.where(np.greater(a, 0), a, b),
    want: zip(A, B, (a, b) => (a > 0 ? a : b)),
  },
  {
    prim: "select",
    label: "lax.select on int32",
    args: [bools([1, 0, 0]), i32([1, 2, 3]), i32([4, 5, 6])],
    fn: (p, a, b) => lax.select(p, a, b),
    want: h([3], [1, 5, 6]),
    dtype: "int32",
  },
  {
    prim: "convert",
    label: "float32 -> int32 truncates toward zero",
    args: [arr(h([6], [-1.7, -0.4, 0.3, 1.2, 2.5, -3.9]))],
    fn: (x) => x.astype("int32"),
    want: h([6], [-1, 0, 0, 1, 2, -3]),
    dtype: "int32",
  },
  {
    prim: "convert",
    label: "int32 -> float32",
    args: [i32([-3, 0, 16777217])],
    fn: (x) => x.astype("float32"),
    want: h([3], [-3, 0, 16777216]),
    dtype: "float32",
  },
  {
    prim: "convert",
    label: "float32 -> bool",
    args: [arr(h([3], [0, -2, 0.25]))],
    fn: (x) => x.astype("bool"),
    want: h([3], [0, 1, 1]),
    dtype: "bool",
  },
  {
    prim: "convert",
    label: "bool -> float32",
    args: [bools([1, 0])],
    fn: (x) => x.astype("float32"),
    want: h([2], [1, 0]),
    dtype: "float32",
  },
  {
    prim: "convert",
    label: "int32 -> uint32 wraps",
    args: [i32([-1, 5])],
    fn: (x) => x.astype("uint32"),
    want: h([2], [4294967295, 5]),
    dtype: "uint32",
  },
  {
    prim: "bitcast",
    label: "float32 bits as uint32",
    args: [arr(h([3], [1, -2, 0.5]))],
    fn: (x) => bind1("bitcast", [x], { dtype: "uint32" }),
    want: h([3], [0x3f800000, 0xc0000000, 0x3f000000]),
    dtype: "uint32",
  },
  {
    prim: "bitcast",
    label: "int32 bits as float32",
    args: [i32([0x3fc00000, -0x40000000])],
    fn: (x) => bind1("bitcast", [x], { dtype: "float32" }),
    want: h([2], [1.5, -2]),
    dtype: "float32",
  },
  {
    prim: "stopGradient",
    label: "stopGradient is the identity on values",
    args: [arr(X)],
    fn: (x) => stopGradient(x),
    want: X,
  },
];

/** Cases of the elementwise primitives. */
export const elementwiseCases: Case[] = [
  ...unaryCases,
  ...unaryExact,
  ...binFloat,
  ...cmpCases,
  ...intCases,
  ...otherElementwise,
];
