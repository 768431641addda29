/**
 * The `np` namespace and the `lax` helpers, against hand values and plain loops written here.
 */
import assert from "node:assert/strict";
import { type Array, assertAllclose, np } from "../mod.ts";

import { eq, list, rnd, tol } from "./_np_util.ts";

// ---------------------------------------------------------------- creation
Deno.test("creation: zeros ones full arange linspace eye zerosLike onesLike", async () => {
  await eq(np.zeros([2, 2]), [[0, 0], [0, 0]], "float32");
  await eq(np.ones([3], { dtype: "int32" }), [1, 1, 1], "int32");
  await eq(np.full([2], 7.5), [7.5, 7.5], "float32");
  await eq(np.full([2], true), [1, 1], "bool");
  await eq(np.arange(4), [0, 1, 2, 3], "int32");
  await eq(np.arange(2, 8, 3), [2, 5], "int32");
  await eq(np.arange(5, 1, -2), [5, 3], "int32");
  await assertAllclose(np.arange(0, 1, 0.25), [0, 0.25, 0.5, 0.75]);
  assert.equal(np.arange(0, 1, 0.25).dtype, "float32");
  await assertAllclose(np.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
  await assertAllclose(np.linspace(0, 1, 4, { endpoint: false }), [0, 0.25, 0.5, 0.75]);
  await eq(np.eye(3), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  await eq(np.eye(2, 3, { k: 1 }), [[0, 1, 0], [0, 0, 1]]);
  const x = np.array([[1, 2]], { dtype: "int32" });
  await eq(np.zerosLike(x), [[0, 0]], "int32");
  await eq(np.onesLike(x), [[1, 1]], "int32");
  await eq(np.fullLike(x, 4), [[4, 4]], "int32");
  await eq(np.array([true, false]), [1, 0], "bool");
  await eq(np.array(new Int32Array([3, 4])), [3, 4], "int32");
  await eq(np.array([1, 2, 3, 4], { shape: [2, 2] }), [[1, 2], [3, 4]]);
  assert.deepEqual(np.array(5).shape, []);
});

// ---------------------------------------------------------------- elementwise
const V = [-2.5, -1, -0.5, 0, 0.3, 1, 2.5];
const P = [0.1, 0.5, 1, 2, 3.7];
function erfHost(x: number): number {
  const s = Math.sign(x);
  x = Math.abs(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (s * 2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

Deno.test("elementwise unary against Math", async () => {
  const x = np.array(V);
  const p = np.array(P);
  const cases: [string, Array, number[]][] = [
    ["negative", np.negative(x), V.map((v) => -v)],
    ["abs", np.abs(x), V.map(Math.abs)],
    ["sign", np.sign(x), V.map(Math.sign)],
    ["exp", np.exp(x), V.map(Math.exp)],
    ["log", np.log(p), P.map(Math.log)],
    ["log1p", np.log1p(np.array([1e-7, 0.5])), [1e-7 - 5e-15, Math.log1p(0.5)]],
    ["expm1", np.expm1(np.array([1e-7, 0.5])), [Math.expm1(1e-7), Math.expm1(0.5)]],
    ["sqrt", np.sqrt(p), P.map(Math.sqrt)],
    ["rsqrt", np.rsqrt(p), P.map((v) => 1 / Math.sqrt(v))],
    ["sin", np.sin(x), V.map(Math.sin)],
    ["cos", np.cos(x), V.map(Math.cos)],
    ["tan", np.tan(x), V.map(Math.tan)],
    ["tanh", np.tanh(x), V.map(Math.tanh)],
    ["erf", np.erf(x), V.map(erfHost)],
    ["sigmoid", np.sigmoid(x), V.map((v) => 1 / (1 + Math.exp(-v)))],
    ["floor", np.floor(x), V.map(Math.floor)],
    ["ceil", np.ceil(x), V.map(Math.ceil)],
    ["square", np.square(x), V.map((v) => v * v)],
    ["reciprocal", np.reciprocal(p), P.map((v) => 1 / v)],
  ];
  for (const [name, got, want] of cases) await assertAllclose(got, want, { atol: 2e-6, rtol: 2e-6 }, name);
  // round half to even
  await eq(np.round(np.array([0.5, 1.5, 2.5, -1.5, 0.4, -2.6])), [0, 2, 2, -2, 0, -3]);
  // sign/abs/negative keep integer dtypes
  await eq(np.abs(np.array([-3, 2], { dtype: "int32" })), [3, 2], "int32");
  assert.equal(np.exp(np.array([1], { dtype: "int32" })).dtype, "float32");
  await eq(np.isnan(np.array([NaN, 1, Infinity])), [1, 0, 0], "bool");
  await eq(np.isfinite(np.array([NaN, 1, -Infinity])), [0, 1, 0], "bool");
  await eq(np.isfinite(np.array([1], { dtype: "int32" })), [1], "bool");
});

Deno.test("elementwise binary against Math, with broadcasting", async () => {
  const a = np.array([[1, -2, 3]]);
  const b = np.array([[2], [-4]]);
  const A = [1, -2, 3];
  const B = [2, -4];
  const grid = (f: (x: number, y: number) => number) => B.flatMap((y) => A.map((x) => f(x, y)));
  const cases: [string, Array, number[]][] = [
    ["add", np.add(a, b), grid((x, y) => x + y)],
    ["subtract", np.subtract(a, b), grid((x, y) => x - y)],
    ["multiply", np.multiply(a, b), grid((x, y) => x * y)],
    ["divide", np.divide(a, b), grid((x, y) => x / y)],
    ["power", np.power(np.abs(a), b), grid((x, y) => Math.abs(x) ** y)],
    ["maximum", np.maximum(a, b), grid(Math.max)],
    ["minimum", np.minimum(a, b), grid(Math.min)],
    ["arctan2", np.arctan2(a, b), grid(Math.atan2)],
    ["rem", np.rem(a, b), grid((x, y) => x % y)],
    ["mod", np.mod(a, b), grid((x, y) => ((x % y) + y) % y)],
    ["floorDivide", np.floorDivide(a, b), grid((x, y) => Math.floor(x / y))],
  ];
  for (const [name, got, want] of cases) {
    assert.deepEqual(got.shape, [2, 3], name);
    await assertAllclose(got, want, { atol: 1e-6, rtol: 1e-6 }, name);
  }
  const cmp: [string, Array, boolean[]][] = [
    ["equal", np.equal(a, np.array([1, 2, 3])), [true, false, true]],
    ["notEqual", np.notEqual(a, np.array([1, 2, 3])), [false, true, false]],
    ["less", np.less(a, 1), [false, true, false]],
    ["lessEqual", np.lessEqual(a, 1), [true, true, false]],
    ["greater", np.greater(a, 1), [false, false, true]],
    ["greaterEqual", np.greaterEqual(a, 1), [true, false, true]],
  ];
  for (const [name, got, want] of cmp) {
    assert.equal(got.dtype, "bool", name);
    assert.deepEqual(await got.tolist(), [want.map(Number)], name);
  }
  const t = np.array([true, true, false, false]);
  const f = np.array([true, false, true, false]);
  await eq(np.logicalAnd(t, f), [1, 0, 0, 0], "bool");
  await eq(np.logicalOr(t, f), [1, 1, 1, 0], "bool");
  await eq(np.logicalXor(t, f), [0, 1, 1, 0], "bool");
  await eq(np.logicalNot(t), [0, 0, 1, 1], "bool");
  await eq(np.logicalAnd(np.array([2, 0]), 1), [1, 0], "bool");
  // integer floor division and mod stay int32 and round toward -inf
  const i = np.array([7, -7], { dtype: "int32" });
  await eq(np.floorDivide(i, 2), [3, -4], "int32");
  await eq(np.mod(i, 3), [1, 2], "int32");
  await eq(np.rem(i, 3), [1, -1], "int32");
  await eq(np.where(np.array([true, false]), np.array([1, 2]), 0), [1, 0]);
  await eq(np.where(np.array([[1], [0]]), 5, np.array([1, 2])), [[5, 5], [1, 2]]);
  await eq(np.clip(np.array([-2, 0.5, 3]), -1, 1), [-1, 0.5, 1]);
  await eq(np.clip(np.array([-2, 3]), null, 1), [-2, 1]);
});

Deno.test("dtype promotion (JAX weak typing, 32-bit)", () => {
  const i = np.array([1, 2], { dtype: "int32" });
  const f = np.array([1, 2]);
  const b = np.array([true, false]);
  const u = np.array([1, 2], { dtype: "uint32" });
  assert.equal(np.add(i, 2.5).dtype, "float32");
  assert.equal(np.add(i, 2).dtype, "int32");
  assert.equal(np.add(b, 1).dtype, "int32");
  assert.equal(np.add(f, 2).dtype, "float32");
  assert.equal(np.add(f, i).dtype, "float32");
  assert.equal(np.add(i, b).dtype, "int32");
  assert.equal(np.add(u, 1).dtype, "uint32");
  assert.equal(np.add(u, i).dtype, "int32");
  assert.equal(np.multiply(f, true).dtype, "float32");
  assert.equal(np.divide(i, i).dtype, "float32");
  assert.equal(np.mean(i).dtype, "float32");
  assert.equal(np.sum(b).dtype, "int32");
  assert.equal(i.astype("float32").dtype, "float32");
  assert.equal(np.astype(f, "bool").dtype, "bool");
});

// ---------------------------------------------------------------- reductions
Deno.test("reductions with axis and keepdims", async () => {
  const X = [[[1, 5], [-2, 3], [4, 0]], [[7, -1], [2, 2], [0, 6]]]; // [2,3,2]
  const x = np.array(X);
  await eq(np.sum(x), 27);
  await eq(np.sum(x, { axis: 0 }), [[8, 4], [0, 5], [4, 6]]);
  await eq(np.sum(x, { axis: [0, 2] }), [12, 5, 10]);
  await eq(np.sum(x, { axis: -1, keepdims: true }), [[[6], [1], [4]], [[6], [4], [6]]]);
  assert.deepEqual(np.sum(x, { axis: [0, 2], keepdims: true }).shape, [1, 3, 1]);
  await eq(np.max(x, { axis: 1 }), [[4, 5], [7, 6]]);
  await eq(np.min(x, { axis: 1 }), [[-2, 0], [0, -1]]);
  await eq(np.prod(x, { axis: 2 }), [[5, -6, 0], [-7, 4, 0]]);
  await assertAllclose(np.mean(x, { axis: 2 }), [[3, 0.5, 2], [3, 2, 3]]);
  await eq(np.argmax(x, { axis: 1 }), [[2, 0], [0, 2]]);
  await eq(np.argmin(x, { axis: 1 }), [[1, 2], [2, 0]]);
  await eq(np.argmax(x), 6);
  await eq(np.argmin(x), 2);
  assert.equal(np.argmax(x, { axis: 1 }).dtype, "int32");
  assert.deepEqual(np.argmax(x, { axis: 1, keepdims: true }).shape, [2, 1, 2]);
  // var/std against a host loop
  const flat = X.flat(2);
  const m = flat.reduce((a, b) => a + b) / flat.length;
  const v = flat.reduce((a, b) => a + (b - m) ** 2, 0) / flat.length;
  await assertAllclose(np.var(x), v, tol);
  await assertAllclose(np.std(x), Math.sqrt(v), tol);
  await assertAllclose(np.var(x, { ddof: 1 }), (v * flat.length) / (flat.length - 1), tol);
  const rows = X.flat(1); // axis 2 reductions, 6 rows of 2
  await assertAllclose(np.var(x, { axis: 2 }), rows.map((r) => ((r[0] - r[1]) / 2) ** 2), tol);
  await assertAllclose(np.logsumexp(x, { axis: 2 }), rows.map((r) => Math.log(Math.exp(r[0]) + Math.exp(r[1]))), tol);
  await assertAllclose(np.logsumexp(np.array([1000, 1000, -Infinity])), 1000 + Math.log(2), tol);
  assert.deepEqual(np.logsumexp(x, { axis: 0, keepdims: true }).shape, [1, 3, 2]);
  await eq(np.any(np.array([[0, 0], [0, 1]]), { axis: 1 }), [0, 1], "bool");
  await eq(np.all(np.array([[1, 2], [0, 1]]), { axis: 1 }), [1, 0], "bool");
  await eq(np.any(np.array([false, false])), 0);
  await eq(np.all(np.array([true, true])), 1);
  // method sugar
  await eq(x.sum(0), [[8, 4], [0, 5], [4, 6]]);
  await eq(x.max([1, 2]), [5, 7]);
  await assertAllclose(x.mean(), 27 / 12);
  await eq(x.min(), -2);
  await eq(x.argmax(2), [[1, 1, 0], [0, 0, 1]]);
});

Deno.test("cumsum", async () => {
  await eq(np.cumsum(np.array([1, 2, 3, 4])), [1, 3, 6, 10]);
  await eq(np.cumsum(np.array([[1, 2], [3, 4]]), { axis: 0 }), [[1, 2], [4, 6]]);
  await eq(np.cumsum(np.array([[1, 2], [3, 4]]), { axis: 1 }), [[1, 3], [3, 7]]);
  await eq(np.cumsum(np.array([[1, 2], [3, 4]])), [1, 3, 6, 10]);
  await eq(np.cumsum(np.array([1, 2, 3]), { axis: 0, reverse: true }), [6, 5, 3]);
  await eq(np.cumsum(np.array([true, true, false])), [1, 2, 2], "int32");
});

// ---------------------------------------------------------------- shape ops
Deno.test("shape: reshape transpose expandDims squeeze broadcastTo", async () => {
  const x = np.arange(6);
  await eq(np.reshape(x, [2, 3]), [[0, 1, 2], [3, 4, 5]]);
  await eq(np.reshape(x, [-1, 2]), [[0, 1], [2, 3], [4, 5]]);
  await eq(x.reshape(3, 2), [[0, 1], [2, 3], [4, 5]]);
  await eq(x.reshape([3, 2]).T, [[0, 2, 4], [1, 3, 5]]);
  const y = np.arange(24).reshape(2, 3, 4);
  const t = np.transpose(y, [2, 0, 1]);
  assert.deepEqual(t.shape, [4, 2, 3]);
  const Y = (await y.tolist()) as number[][][];
  const T = (await t.tolist()) as number[][][];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) assert.equal(T[k][i][j], Y[i][j][k]);
  }
  assert.deepEqual(np.transpose(y).shape, [4, 3, 2]);
  assert.deepEqual(np.transpose(y, [-1, 0, 1]).shape, [4, 2, 3]);
  assert.deepEqual(np.expandDims(x, 0).shape, [1, 6]);
  assert.deepEqual(np.expandDims(x, -1).shape, [6, 1]);
  assert.deepEqual(x.expandDims(1).shape, [6, 1]);
  assert.deepEqual(np.squeeze(np.zeros([1, 3, 1])).shape, [3]);
  assert.deepEqual(np.squeeze(np.zeros([1, 3, 1]), 2).shape, [1, 3]);
  assert.deepEqual(np.zeros([1, 3, 1]).squeeze(0).shape, [3, 1]);
  await eq(np.broadcastTo(np.array([1, 2]), [2, 2]), [[1, 2], [1, 2]]);
  await eq(np.broadcastTo(np.array([[1], [2]]), [2, 3]), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(np.broadcastTo(np.array(3), [2, 1, 4]).shape, [2, 1, 4]);
  await eq(np.ravel(np.array([[1, 2], [3, 4]])), [1, 2, 3, 4]);
  await eq(np.array([[1, 2], [3, 4]]).flatten(), [1, 2, 3, 4]);
  await eq(np.moveaxis(np.zeros([2, 3, 4]), 0, -1).reshape(-1).sum(), 0);
  assert.deepEqual(np.moveaxis(np.zeros([2, 3, 4]), 0, -1).shape, [3, 4, 2]);
  assert.deepEqual(np.swapaxes(np.zeros([2, 3, 4]), 0, 2).shape, [4, 3, 2]);
});

Deno.test("shape: concatenate stack split tile repeat pad flip take", async () => {
  const a = np.array([[1, 2], [3, 4]]);
  const b = np.array([[5, 6]]);
  await eq(np.concatenate([a, b]), [[1, 2], [3, 4], [5, 6]]);
  await eq(np.concatenate([a, b.T], 1), [[1, 2, 5], [3, 4, 6]]);
  await eq(np.concatenate([a, np.array([[7], [8]], { dtype: "int32" })], -1), [[1, 2, 7], [3, 4, 8]]);
  await eq(np.stack([np.array([1, 2]), np.array([3, 4])]), [[1, 2], [3, 4]]);
  await eq(np.stack([np.array([1, 2]), np.array([3, 4])], 1), [[1, 3], [2, 4]]);
  const parts = np.split(np.arange(6), 3);
  assert.equal(parts.length, 3);
  await eq(parts[2], [4, 5]);
  const cuts = np.split(np.arange(6), [1, 4]);
  assert.deepEqual(await Promise.all(cuts.map(list)), [[0], [1, 2, 3], [4, 5]]);
  const cols = np.split(a, 2, 1);
  await eq(cols[1], [[2], [4]]);
  await eq(np.tile(np.array([1, 2]), 3), [1, 2, 1, 2, 1, 2]);
  await eq(np.tile(np.array([1, 2]), [2, 2]), [[1, 2, 1, 2], [1, 2, 1, 2]]);
  await eq(np.tile(a, [1, 2]), [[1, 2, 1, 2], [3, 4, 3, 4]]);
  await eq(np.repeat(np.array([1, 2]), 2), [1, 1, 2, 2]);
  await eq(np.repeat(a, 2, 0), [[1, 2], [1, 2], [3, 4], [3, 4]]);
  await eq(np.repeat(a, 2, 1), [[1, 1, 2, 2], [3, 3, 4, 4]]);
  await eq(np.repeat(a, 2), [1, 1, 2, 2, 3, 3, 4, 4]);
  await eq(np.pad(np.array([1, 2]), 1), [0, 1, 2, 0]);
  await eq(np.pad(np.array([1, 2]), [2, 0], { constantValue: 9 }), [9, 9, 1, 2]);
  await eq(np.pad(a, [[0, 1], [1, 0]]), [[0, 1, 2], [0, 3, 4], [0, 0, 0]]);
  await eq(np.flip(a), [[4, 3], [2, 1]]);
  await eq(np.flip(a, 0), [[3, 4], [1, 2]]);
  await eq(np.flip(a, 1), [[2, 1], [4, 3]]);
  const i = np.array([1, 0, 1], { dtype: "int32" });
  await eq(np.take(a, i, 0), [[3, 4], [1, 2], [3, 4]]);
  await eq(np.take(a, i, 1), [[2, 1, 2], [4, 3, 4]]);
  await eq(np.take(a, np.array([3, -1, 0], { dtype: "int32" })), [4, 4, 1]);
  await eq(np.take(np.arange(5), np.array([[0, 4], [2, 2]], { dtype: "int32" })), [[0, 4], [2, 2]]);
});

// ---------------------------------------------------------------- linalg
function hostMatmul(A: number[], sa: number[], B: number[], sb: number[]): number[] {
  const [m, k] = sa;
  const n = sb[1];
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += A[i * k + l] * B[l * n + j];
      out.push(s);
    }
  }
  return out;
}

Deno.test("matmul: 2-D, batch broadcasting, 1-D operands; dot and outer", async () => {
  const A = rnd(3 * 4, 1);
  const B = rnd(4 * 5, 2);
  await assertAllclose(
    np.matmul(np.array(A, { shape: [3, 4] }), np.array(B, { shape: [4, 5] })),
    hostMatmul(A, [3, 4], B, [4, 5]),
    tol,
  );
  // batch broadcasting: [2,1,3,4] @ [5,4,2] -> [2,5,3,2]
  const BA = rnd(2 * 3 * 4, 3);
  const BB = rnd(5 * 4 * 2, 4);
  const c = np.matmul(np.array(BA, { shape: [2, 1, 3, 4] }), np.array(BB, { shape: [5, 4, 2] }));
  assert.deepEqual(c.shape, [2, 5, 3, 2]);
  const want: number[] = [];
  for (let b0 = 0; b0 < 2; b0++) {
    for (let b1 = 0; b1 < 5; b1++) {
      want.push(...hostMatmul(BA.slice(b0 * 12, b0 * 12 + 12), [3, 4], BB.slice(b1 * 8, b1 * 8 + 8), [4, 2]));
    }
  }
  await assertAllclose(c, want, tol);
  // 1-D operands
  const v = [1, 2, 3, 4];
  const M = np.array(A, { shape: [3, 4] });
  await assertAllclose(np.matmul(M, np.array(v)), hostMatmul(A, [3, 4], v, [4, 1]), tol);
  assert.deepEqual(np.matmul(M, np.array(v)).shape, [3]);
  const w3 = [1, -1, 2];
  const vm = np.matmul(np.array(w3), M);
  assert.deepEqual(vm.shape, [4]);
  await assertAllclose(vm, hostMatmul(w3, [1, 3], A, [3, 4]), tol);
  const vv = np.matmul(np.array(v), np.array(v));
  assert.deepEqual(vv.shape, []);
  await eq(vv, 30);
  // 1-D with a batched matrix
  assert.deepEqual(np.matmul(np.ones([2, 3, 4]), np.ones([4])).shape, [2, 3]);
  // method sugar
  await assertAllclose(M.matmul(np.array(B, { shape: [4, 5] })), hostMatmul(A, [3, 4], B, [4, 5]), tol);
  // dot and outer
  await eq(np.dot(np.array([1, 2]), np.array([3, 4])), 11);
  await assertAllclose(np.dot(M, np.array(v)), hostMatmul(A, [3, 4], v, [4, 1]), tol);
  await eq(np.dot(np.array(2), np.array([1, 2])), [2, 4]);
  await eq(np.outer(np.array([1, 2]), np.array([3, 4, 5])), [[3, 4, 5], [6, 8, 10]]);
  await eq(np.inner(np.array([[1, 2], [3, 4]]), np.array([1, 1])), [3, 7]);
});

Deno.test("einsum: two-operand contractions", async () => {
  const A = rnd(2 * 3, 5);
  const B = rnd(3 * 4, 6);
  const a = np.array(A, { shape: [2, 3] });
  const b = np.array(B, { shape: [3, 4] });
  await assertAllclose(np.einsum("ij,jk->ik", a, b), hostMatmul(A, [2, 3], B, [3, 4]), tol);
  await assertAllclose(np.einsum("ij,jk", a, b), hostMatmul(A, [2, 3], B, [3, 4]), tol);
  // transposed output
  const ki = np.einsum("ij,jk->ki", a, b);
  assert.deepEqual(ki.shape, [4, 2]);
  await assertAllclose(ki, np.matmul(a, b).T, tol);
  // batched
  const X = rnd(5 * 2 * 3, 7);
  const Y = rnd(5 * 3 * 4, 8);
  const bm = np.einsum("bij,bjk->bik", np.array(X, { shape: [5, 2, 3] }), np.array(Y, { shape: [5, 3, 4] }));
  const want: number[] = [];
  for (let n = 0; n < 5; n++) {
    want.push(...hostMatmul(X.slice(n * 6, n * 6 + 6), [2, 3], Y.slice(n * 12, n * 12 + 12), [3, 4]));
  }
  await assertAllclose(bm, want, tol);
  // outer product
  await eq(np.einsum("i,j->ij", np.array([1, 2]), np.array([3, 4, 5])), [[3, 4, 5], [6, 8, 10]]);
  // full contraction and sums over labels present in one operand
  await assertAllclose(np.einsum("ij,ij->", a, a), A.reduce((s, v) => s + v * v, 0), tol);
  await assertAllclose(np.einsum("ij,jk->", a, b), hostMatmul(A, [2, 3], B, [3, 4]).reduce((s, v) => s + v), tol);
  await assertAllclose(
    np.einsum("ij,k->i", a, np.array([1, 2])),
    [0, 1].map((i) => 3 * (A[i * 3] + A[i * 3 + 1] + A[i * 3 + 2])),
    tol,
  );
  await assertAllclose(np.einsum("ij->j", a), [0, 1, 2].map((j) => A[j] + A[3 + j]), tol);
  await assertAllclose(np.einsum("ij->ji", a), a.T, tol);
  // elementwise product (batch label in the output)
  await assertAllclose(np.einsum("i,i->i", np.array([1, 2]), np.array([3, 4])), [3, 8], tol);
});

// ---------------------------------------------------------------- methods and readback
Deno.test("method sugar and readback", async () => {
  const x = np.array([[1, 2], [3, 4]]);
  const y = np.array([10, 20]);
  await eq(x.add(y), [[11, 22], [13, 24]]);
  await eq(x.sub(1).mul(2).div(2), [[0, 1], [2, 3]]);
  await eq(x.pow(2), [[1, 4], [9, 16]]);
  await eq(x.neg().abs(), [[1, 2], [3, 4]]);
  await eq(x.maximum(2.5).minimum(3.5), [[2.5, 2.5], [3, 3.5]]);
  await eq(x.equal(2), [[0, 1], [0, 0]]);
  await eq(x.less(3), [[1, 1], [0, 0]]);
  await eq(x.greater(3), [[0, 0], [0, 1]]);
  await eq(x.square(), [[1, 4], [9, 16]]);
  await assertAllclose(x.sqrt(), [[1, Math.SQRT2], [Math.sqrt(3), 2]]);
  await assertAllclose(x.log().exp(), [[1, 2], [3, 4]], tol);
  await assertAllclose(x.tanh(), [[Math.tanh(1), Math.tanh(2)], [Math.tanh(3), Math.tanh(4)]], tol);
  await eq(x.matmul(np.array([[1], [1]])), [[3], [7]]);
  await eq(x.reshape(4), [1, 2, 3, 4]);
  await eq(x.transpose([1, 0]), [[1, 3], [2, 4]]);
  await eq(x.T, [[1, 3], [2, 4]]);
  await eq(x.sum(1), [3, 7]);
  await eq(x.sum(1, true), [[3], [7]]);
  await eq(x.astype("int32").add(1), [[2, 3], [4, 5]], "int32");
  assert.deepEqual([x.ndim, x.size], [2, 4]);
  const d = await x.data();
  assert.equal(x.toString(), "Array([[1., 2.],\n       [3., 4.]], dtype=float32)");
  assert.ok(d instanceof Float32Array);
  assert.deepEqual([...d], [1, 2, 3, 4]);
  d[0] = 99; // a fresh copy
  assert.equal((await x.data())[0], 1);
  assert.equal(await np.array(7).item(), 7);
  assert.equal(await np.array([[7]]).item(), 7);
  await assert.rejects(async () => await x.item(), /item: array of shape \[2,2\] has 4 elements, not 1/);
  assert.ok((await np.array([1], { dtype: "int32" }).data()) instanceof Int32Array);
  assert.ok((await np.array([true]).data()) instanceof Uint8Array);
  assert.deepEqual(await np.array(3).tolist(), 3);
});
