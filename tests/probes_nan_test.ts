/**
 * NaN semantics as in JAX, eagerly and inside `jit` (fused kernels): every activation maps
 * NaN to NaN; `maximum`/`minimum`/`clip` and the max/min reductions propagate NaN; `argmax`
 * and `argmin` return the index of the first NaN. Gradients at kinks and ties match JAX:
 * relu'(0) = 0, leakyRelu'(0) = 1, elu'(0) = alpha, `maximum`/`minimum` split a tie 0.5/0.5
 * (and give 0 where the result is NaN), a max reduction shares its tangent among ties.
 * The expected values are worked out here from the definitions, never by wax.
 */
import assert from "node:assert/strict";
import { type Array, assertAllclose, grad, jit, lax, np } from "../mod.ts";
import * as nn from "../nn/mod.ts";

const tol = { atol: 1e-6, rtol: 1e-5, equalNan: true };
/** Runs `f` eagerly and jitted (with a producer in front so the op fuses with it). */
async function both(what: string, f: (...xs: Array[]) => Array, xs: Array[], want: number[] | number[][]) {
  await assertAllclose(f(...xs), want, tol, `${what} (eager)`);
  const fused = jit((...ys: Array[]) => f(...ys.map((y) => y.mul(1).add(0))));
  await assertAllclose(fused(...xs), want, tol, `${what} (jit)`);
}

const X = [NaN, -2, -0.5, 0, 0.5, 3];
const phi = (v: number) => 0.5 * (1 + erfHost(v / Math.SQRT2));
function erfHost(v: number): number {
  const s = Math.sign(v);
  const a = Math.abs(v);
  let term = a, sum = a;
  for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return (s * 2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}
const host: [string, (x: Array) => Array, (v: number) => number][] = [
  ["relu", nn.relu, (v) => (v > 0 ? v : v <= 0 ? 0 : NaN)],
  ["leakyRelu", (x) => nn.leakyRelu(x, { negativeSlope: 0.2 }), (v) => (v >= 0 ? v : 0.2 * v)],
  ["elu", (x) => nn.elu(x, { alpha: 2 }), (v) => (v > 0 ? v : 2 * Math.expm1(v))],
  [
    "gelu (tanh)",
    nn.gelu,
    (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  ],
  ["gelu (erf)", (x) => nn.gelu(x, { approximate: false }), (v) => v * phi(v)],
  ["sigmoid", nn.sigmoid, (v) => 1 / (1 + Math.exp(-v))],
  ["tanh", nn.tanh, Math.tanh],
  ["softplus", nn.softplus, (v) => Math.log1p(Math.exp(v))],
];

Deno.test("nan: every activation maps NaN to NaN and the rest to its definition", async () => {
  const x = np.array(X);
  for (const [name, f, h] of host) await both(name, f, [x], X.map(h));
});

Deno.test("nan: softmax and logSoftmax make a slice with a NaN all NaN, other slices untouched", async () => {
  const x = np.array([[0, NaN, 1], [0, Math.log(3), 0]]);
  const p = [1 / 5, 3 / 5, 1 / 5];
  await both("softmax", (a) => nn.softmax(a), [x], [[NaN, NaN, NaN], p]);
  await both("logSoftmax", (a) => nn.logSoftmax(a), [x], [[NaN, NaN, NaN], p.map(Math.log)]);
  await both("softmax axis 0", (a) => nn.softmax(a, { axis: 0 }), [x], [[0.5, NaN, 1 / (1 + Math.E ** -1)], [
    0.5,
    NaN,
    1 - 1 / (1 + Math.E ** -1),
  ]]);
});

Deno.test("nan: maximum, minimum and clip propagate NaN from either side", async () => {
  const a = np.array([NaN, 1, NaN, 2, -1]);
  const b = np.array([0, NaN, NaN, 1, 3]);
  await both("maximum", np.maximum, [a, b], [NaN, NaN, NaN, 2, 3]);
  await both("minimum", np.minimum, [a, b], [NaN, NaN, NaN, 1, -1]);
  await both("maximum with a scalar", (x) => np.maximum(x, 0), [a], [NaN, 1, NaN, 2, 0]);
  await both("clip", (x) => np.clip(x, -0.5, 1.5), [a], [NaN, 1, NaN, 1.5, -0.5]);
  await both("clip upper only", (x) => np.clip(x, null, 0), [a], [NaN, 0, NaN, 0, -1]);
  // Integers have no NaN: the ordinary extremes.
  const i = np.array([3, -4, 7], { dtype: "int32" });
  assert.deepEqual(await np.maximum(i, np.array([5, -9, 7], { dtype: "int32" })).tolist(), [5, -4, 7]);
});

Deno.test("nan: max/min reductions propagate NaN over any axes and lengths", async () => {
  const m = np.array([[1, NaN, 3], [4, 5, 6]]);
  await both("max axis 1", (x) => np.max(x, { axis: 1 }), [m], [NaN, 6]);
  await both("min axis 0", (x) => np.min(x, { axis: 0 }), [m], [1, NaN, 3]);
  await both("max all", (x) => np.max(x).reshape(1), [m], [NaN]);
  await both("min all", (x) => np.min(x).reshape(1), [m], [NaN]);
  await both("max, then arithmetic", (x) => np.max(x, { axis: 1 }).mul(2).add(1), [m], [NaN, 13]);
  // Long rows (the chunked and tree-reduced paths): one NaN at the end of row 0, at the start of row 2.
  const n = 5000;
  const rows = [0, 1, 2].map((r) => globalThis.Array.from({ length: n }, (_, k) => (k % 97) - 40 + r));
  rows[0][n - 1] = NaN;
  rows[2][0] = NaN;
  const long = np.array(rows);
  await both("long max", (x) => np.max(x, { axis: 1 }), [long], [NaN, 57, NaN]);
  await both("long min", (x) => np.min(x, { axis: 1 }), [long], [NaN, -39, NaN]);
  await both("long max over axis 0", (x) => np.max(x.T, { axis: 0 }), [long], [NaN, 57, NaN]);
});

Deno.test("nan: argmax/argmin return the first NaN's index", async () => {
  const v = np.array([1, NaN, 5, NaN, -2]);
  for (const f of [np.argmax, np.argmin]) {
    assert.equal(await f(v).item(), 1);
    assert.equal(await jit((x: Array) => f(x.mul(2)))(v).item(), 1);
  }
  const m = np.array([[1, 9, NaN], [NaN, 0, 2], [3, NaN, 1]]);
  assert.deepEqual(await np.argmax(m, { axis: 1 }).tolist(), [2, 0, 1]);
  assert.deepEqual(await np.argmin(m, { axis: 0 }).tolist(), [1, 2, 0]);
  assert.deepEqual(await jit((x: Array) => np.argmax(x.add(1), { axis: 0 }))(m).tolist(), [1, 2, 0]);
  const long = np.concatenate([np.zeros([3000]), np.array([NaN, 7, NaN])]);
  assert.equal(await np.argmax(long).item(), 3000);
  assert.equal(await np.argmin(long).item(), 3000);
  // Without NaN: the first of tied extremes.
  assert.equal(await np.argmax(np.array([1, 4, 4, 0])).item(), 1);
});

Deno.test("nan: max pooling propagates NaN within its windows only", async () => {
  const x = np.array([[1, NaN, 3, 4, 0, -1]]);
  const pool = (a: Array) => lax.reduceWindow(a, "max", [1, 2]);
  await both("reduceWindow max", pool, [x], [[NaN, 4, 0]]);
});

Deno.test("nan: gradients at kinks and ties match JAX", async () => {
  const g = (f: (x: Array) => Array) => (x: Array) => grad((a: Array) => f(a).sum())(x);
  const x = np.array([-1, 0, 2]);
  const cases: [string, (x: Array) => Array, number[]][] = [
    ["relu", nn.relu, [0, 0, 1]],
    ["leakyRelu", (a) => nn.leakyRelu(a, { negativeSlope: 0.1 }), [0.1, 1, 1]],
    ["elu", (a) => nn.elu(a, { alpha: 2 }), [2 * Math.exp(-1), 2, 1]],
    ["maximum(x, 0)", (a) => np.maximum(a, 0), [0, 0.5, 1]],
    ["minimum(x, 0)", (a) => np.minimum(a, 0), [1, 0.5, 0]],
    ["clip(x, -1, 2)", (a) => np.clip(a, -1, 2), [0.5, 1, 0.5]],
    ["max reduction with ties", (a) => np.max(np.abs(a).mul(np.array([2, 1, 1]))), [-1, 0, 0.5]],
  ];
  for (const [name, f, want] of cases) {
    await assertAllclose(g(f)(x), want, tol, `${name}'`);
    await assertAllclose(jit(g(f))(x), want, tol, `${name}' (jit)`);
  }
  // maximum(x, y) at a tie gives each operand half; where the result is NaN, neither gets any.
  const both2 = (a: Array, b: Array) => grad((p: Array, q: Array) => np.maximum(p, q).sum(), { argnums: [0, 1] })(a, b);
  const [ga, gb] = both2(np.array([1, 2, NaN, 1]), np.array([1, 1, 0, NaN])) as Array[];
  await assertAllclose(ga, [0.5, 1, 0, 0], tol, "d maximum / da");
  await assertAllclose(gb, [0.5, 0, 0, 0], tol, "d maximum / db");
});
