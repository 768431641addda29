/**
 * `evalShape` (JAX's `jax.eval_shape`): result shapes and dtypes by tracing, for pytree
 * arguments given as arrays, numbers or `{ shape, dtype }` specs, without computing or
 * allocating anything.
 */
import assert from "node:assert/strict";
import { type Array, evalShape, memoryStats, np } from "../mod.ts";
import { shapeOf } from "../nn/mod.ts";

const f32 = (...shape: number[]) => ({ shape, dtype: "float32" as const });

Deno.test("evalShape: pytree outputs get a { shape, dtype } per leaf (shapes worked out by hand)", () => {
  const f = (p: { w: Array; b: Array }, x: Array) => {
    const h = np.matmul(x, p.w).add(p.b);
    return { h, n: h.sum(1).astype("int32"), pair: [h.T, x.greater(0)] };
  };
  const out = evalShape(f, { w: f32(784, 32), b: f32(32) }, f32(8, 784));
  assert.deepEqual(out, {
    h: f32(8, 32),
    n: { shape: [8], dtype: "int32" },
    pair: [f32(32, 8), { shape: [8, 784], dtype: "bool" }],
  });
});

Deno.test("evalShape: arrays, specs and numbers mix; numbers stay weakly typed", () => {
  const out = evalShape((x: Array, s: number) => x.mul(s), { shape: [3], dtype: "int32" }, 2);
  assert.deepEqual(out, { shape: [3], dtype: "int32" });
  assert.deepEqual(evalShape((a: Array, b: Array) => a.add(b), np.ones([2, 1]), f32(1, 4)), f32(2, 4));
});

Deno.test("evalShape: nothing is computed or allocated", () => {
  const before = JSON.stringify(memoryStats());
  let calls = 0;
  evalShape((x: Array) => {
    calls++;
    return np.exp(x).sum();
  }, f32(1000, 1000));
  assert.equal(calls, 1);
  assert.equal(JSON.stringify(memoryStats()), before);
});

Deno.test("evalShape: shape errors name the op and the shapes", () => {
  assert.throws(() => evalShape((a: Array, b: Array) => np.matmul(a, b), f32(2, 3), f32(4, 5)), /\[2,3\] @ \[4,5\]/);
  assert.throws(() => evalShape((x: Array) => x, { shape: [2], dtype: "float64" }), /evalShape/);
});

Deno.test("evalShape: nn.shapeOf is evalShape of one array", () => {
  const fn = (x: Array) => x.reshape(2, -1).sum(0);
  assert.deepEqual(shapeOf(fn, [4, 6]), [12]);
  assert.deepEqual(evalShape(fn, f32(4, 6)).shape, [12]);
});
