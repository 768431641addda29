/**
 * Printing arrays (`String(x)`, `console.log(x)`): NumPy's repr layout as JAX shows it. The
 * expected strings are what NumPy prints for the same values (`repr(np.array(..., dtype))`
 * with "array" spelled "Array"), written out by hand.
 */
import assert from "node:assert/strict";
import { type Array, grad, jit, np, vmap } from "../mod.ts";
import { defaultBackend } from "../core/backend/backend.ts";

/** The text of `x` once its values are on the host (read first: webgpu values print once read). */
async function shown(x: Array): Promise<string> {
  await x.data();
  return String(x);
}
const f32 = (v: number[] | number[][]) => np.array(v);
const i32 = (v: number[] | number[][]) => np.array(v, { dtype: "int32" });

Deno.test("print: small int, float and bool arrays", async () => {
  assert.equal(await shown(i32([[1, 2, 3], [4, 5, 6]])), "Array([[1, 2, 3],\n       [4, 5, 6]], dtype=int32)");
  assert.equal(await shown(f32([1, 2.5])), "Array([1. , 2.5], dtype=float32)");
  assert.equal(await shown(f32([0.1, -0.25, 3])), "Array([ 0.1 , -0.25,  3.  ], dtype=float32)");
  assert.equal(await shown(f32([1 / 3, 100])), "Array([  0.33333334, 100.        ], dtype=float32)");
  assert.equal(await shown(np.array([1, 0, 1]).astype("bool")), "Array([ True, False,  True], dtype=bool)");
  assert.equal(await shown(i32([-7, 12]).astype("uint32").add(7)), "Array([ 0, 19], dtype=uint32)");
});

Deno.test("print: scientific notation, non-finite values, scalars and empty arrays", async () => {
  assert.equal(await shown(f32([1e-5, 1.5])), "Array([1.0e-05, 1.5e+00], dtype=float32)");
  assert.equal(await shown(f32([1e9, -2])), "Array([ 1.e+09, -2.e+00], dtype=float32)");
  assert.equal(
    await shown(f32([NaN, Infinity, -Infinity, 1])),
    "Array([ nan,  inf, -inf,   1.], dtype=float32)",
  );
  assert.equal(await shown(np.array(3)), "Array(3., dtype=float32)");
  assert.equal(await shown(np.array(7, { dtype: "int32" })), "Array(7, dtype=int32)");
  assert.equal(await shown(np.array(true)), "Array(True, dtype=bool)");
  assert.equal(String(np.zeros([0, 3])), "Array([], shape=(0, 3), dtype=float32)");
  assert.equal(String(np.zeros([0])), "Array([], shape=(0,), dtype=float32)");
});

Deno.test("print: long rows wrap at 75 columns and the dtype moves to its own line", async () => {
  assert.equal(
    await shown(np.arange(100)),
    [
      "Array([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16,",
      "       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,",
      "       34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50,",
      "       51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67,",
      "       68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84,",
      "       85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99],",
      "      dtype=int32)",
    ].join("\n"),
  );
  assert.equal(
    await shown(np.arange(24).reshape(2, 3, 4)),
    [
      "Array([[[ 0,  1,  2,  3],",
      "        [ 4,  5,  6,  7],",
      "        [ 8,  9, 10, 11]],",
      "",
      "       [[12, 13, 14, 15],",
      "        [16, 17, 18, 19],",
      "        [20, 21, 22, 23]]], dtype=int32)",
    ].join("\n"),
  );
});

Deno.test("print: arrays over 1,000 elements show their first and last 3 entries per axis", async () => {
  assert.equal(await shown(np.arange(2000)), "Array([   0,    1,    2, ..., 1997, 1998, 1999], dtype=int32)");
  assert.equal(
    await shown(np.arange(2000).reshape(20, 100)),
    [
      "Array([[   0,    1,    2, ...,   97,   98,   99],",
      "       [ 100,  101,  102, ...,  197,  198,  199],",
      "       [ 200,  201,  202, ...,  297,  298,  299],",
      "       ...,",
      "       [1700, 1701, 1702, ..., 1797, 1798, 1799],",
      "       [1800, 1801, 1802, ..., 1897, 1898, 1899],",
      "       [1900, 1901, 1902, ..., 1997, 1998, 1999]], dtype=int32)",
    ].join("\n"),
  );
  // The widths come from the shown entries only (the hidden 1e9 does not switch to scientific).
  const big = np.concatenate([np.ones([3]), np.full([995], 1e9), np.array([0.5, 2, 4])]);
  assert.equal(await shown(big), "Array([1. , 1. , 1. , ..., 0.5, 2. , 4. ], dtype=float32)");
});

Deno.test("print: console.log shows the same text (Deno.customInspect), nested in objects too", async () => {
  const x = i32([1, 2]);
  await x.data();
  assert.equal(Deno.inspect(x), "Array([1, 2], dtype=int32)");
  assert.equal(Deno.inspect({ w: x }), "{ w: Array([1, 2], dtype=int32) }");
  assert.equal(`${x}`, "Array([1, 2], dtype=int32)");
});

Deno.test("print: tracers, disposed arrays and unread device values print a placeholder", async () => {
  const seen: string[] = [];
  jit((a: Array) => {
    seen.push(String(a), Deno.inspect(a));
    return a;
  })(np.ones([2, 3]));
  grad((a: Array) => {
    seen.push(String(a));
    return a.sum();
  })(np.ones([4]));
  vmap((a: Array) => {
    seen.push(String(a));
    return a;
  })(np.ones([5, 2]));
  assert.deepEqual(seen, [
    "Array(float32[2,3], traced)",
    "Array(float32[2,3], traced)",
    "Array(float32[4], traced)",
    "Array(float32[2], traced)",
  ]);
  const y = np.ones([3]);
  y.dispose();
  assert.equal(String(y), "Array(float32[3], disposed)");
  const z = np.arange(3);
  if (defaultBackend().name === "webgpu") {
    assert.equal(String(z), "Array(int32[3], on webgpu, not read yet: await x.data() to see it)");
  } else {
    assert.equal(String(z), "Array([0, 1, 2], dtype=int32)");
  }
  await z.data();
  assert.equal(String(z), "Array([0, 1, 2], dtype=int32)");
});
