/**
 * Axes as `jnp` takes them, for every function that accepts one: a negative axis counts from
 * the end (checked against the equivalent positive axis, whose result is itself checked
 * against hand values below), an out-of-range axis is an error that names the op, the rank,
 * the shape and the valid range, and an axis named twice is an error.
 */
import assert from "node:assert/strict";
import { type Array, lax, np, vmap } from "../mod.ts";
import * as nn from "../nn/mod.ts";

type AxisCase = {
  /** The op name the error must start with. */
  op: string;
  /** Calls the function on `x` with `ax` in the place of the axis under test. */
  f: (x: Array, ax: number) => Array | Array[];
  /** The shape of `x`, `arange` values as float32 (default [2, 3, 4]). */
  shape?: number[];
  /** The axis inserts a new one (range -4..3 for rank 3) rather than naming one (-3..2). */
  newAxis?: boolean;
  /** Positive axes where the call is an error on this input (e.g. squeezing a size-3 axis). */
  skip?: number[];
};

const others = (ax: number) => [0, 1, 2].filter((i) => i !== ((ax % 3) + 3) % 3);
const idx = np.array([1, 0], { dtype: "int32" });

const cases: AxisCase[] = [
  { op: "sum", f: (x, axis) => np.sum(x, { axis }) },
  { op: "sum", f: (x, axis) => np.sum(x, { axis: [axis] }) },
  { op: "mean", f: (x, axis) => np.mean(x, { axis, keepdims: true }) },
  { op: "max", f: (x, axis) => np.max(x, { axis }) },
  { op: "min", f: (x, axis) => np.min(x, { axis }) },
  { op: "prod", f: (x, axis) => np.prod(x.div(10), { axis }) },
  { op: "var", f: (x, axis) => np.var(x, { axis }) },
  { op: "std", f: (x, axis) => np.std(x, { axis }) },
  { op: "logsumexp", f: (x, axis) => np.logsumexp(x, { axis }) },
  { op: "any", f: (x, axis) => np.any(x.sub(5), { axis }) },
  { op: "all", f: (x, axis) => np.all(x.sub(5), { axis }) },
  { op: "argmax", f: (x, axis) => np.argmax(x.mul(x.sub(11)), { axis }) },
  { op: "argmin", f: (x, axis) => np.argmin(x.mul(x.sub(11)), { axis, keepdims: true }) },
  { op: "cumsum", f: (x, axis) => np.cumsum(x, { axis }) },
  { op: "sum", f: (x, axis) => x.sum(axis) },
  { op: "mean", f: (x, axis) => x.mean(axis, true) },
  { op: "max", f: (x, axis) => x.max(axis) },
  { op: "min", f: (x, axis) => x.min(axis) },
  { op: "argmax", f: (x, axis) => x.argmax(axis) },
  { op: "transpose", f: (x, axis) => np.transpose(x, [axis, ...others(axis)]) },
  { op: "transpose", f: (x, axis) => x.transpose([...others(axis), axis]) },
  { op: "moveaxis", f: (x, axis) => np.moveaxis(x, axis, 0) },
  { op: "moveaxis", f: (x, axis) => np.moveaxis(x, 0, axis) },
  { op: "swapaxes", f: (x, axis) => np.swapaxes(x, 0, axis) },
  { op: "expandDims", f: (x, axis) => np.expandDims(x, axis), newAxis: true },
  { op: "expandDims", f: (x, axis) => x.expandDims(axis), newAxis: true },
  { op: "squeeze", f: (x, axis) => np.squeeze(x, axis), shape: [1, 3, 1], skip: [1] },
  { op: "squeeze", f: (x, axis) => x.squeeze([axis]), shape: [1, 3, 1], skip: [1] },
  { op: "concatenate", f: (x, axis) => np.concatenate([x, x.mul(2)], axis) },
  { op: "stack", f: (x, axis) => np.stack([x, x.mul(2)], axis), newAxis: true },
  { op: "split", f: (x, axis) => np.split(x, 2, axis), skip: [1] },
  { op: "split", f: (x, axis) => np.split(x, [1], axis) },
  { op: "sliceAxis", f: (x, axis) => np.sliceAxis(x, axis, 1, 2) },
  { op: "repeat", f: (x, axis) => np.repeat(x, 2, axis) },
  { op: "flip", f: (x, axis) => np.flip(x, axis) },
  { op: "flip", f: (x, axis) => np.flip(x, [axis]) },
  { op: "take", f: (x, axis) => np.take(x, idx, axis) },
  { op: "softmax", f: (x, axis) => nn.softmax(x.div(10), { axis }) },
  { op: "logSoftmax", f: (x, axis) => nn.logSoftmax(x.div(10), { axis: [axis] }) },
];

/** An `assert.throws` validator matching the error's message (without the `TypeError: ` prefix). */
const msg = (re: RegExp) => (e: Error) => re.test(e.message);
const x3 = () => np.arange(24).astype("float32").reshape(2, 3, 4);
const input = (c: AxisCase) => {
  const shape = c.shape ?? [2, 3, 4];
  return np.arange(shape.reduce((a, b) => a * b, 1)).astype("float32").reshape(shape);
};

async function values(y: Array | Array[]): Promise<{ shape: number[]; v: unknown }[]> {
  const ys = globalThis.Array.isArray(y) ? y : [y];
  return await Promise.all(ys.map(async (a) => ({ shape: a.shape, v: await a.tolist() })));
}

Deno.test("axes: a negative axis is the positive axis it counts back to, for every axis-taking op", async () => {
  for (const [i, c] of cases.entries()) {
    const x = input(c);
    const n = x.ndim + (c.newAxis ? 1 : 0);
    for (let ax = -n; ax < 0; ax++) {
      if (c.skip?.includes(ax + n)) continue;
      const want = await values(c.f(x, ax + n));
      const got = await values(c.f(x, ax));
      assert.deepEqual(got, want, `case ${i} (${c.op}): axis ${ax} vs ${ax + n}`);
    }
  }
});

Deno.test("axes: an out-of-range axis names the op, rank, shape and the valid range", () => {
  for (const [i, c] of cases.entries()) {
    const x = input(c);
    const n = x.ndim + (c.newAxis ? 1 : 0);
    const where = `${c.newAxis ? "a new axis of " : ""}an array of rank ${x.ndim} \\(shape \\[${x.shape}\\]\\)`;
    for (const ax of [n, -n - 1, 7]) {
      const msg = new RegExp(`^${c.op}: axis ${ax} is out of range for ${where}; use ${-n}\\.\\.${n - 1}$`);
      assert.throws(() => c.f(x, ax), (e: Error) => msg.test(e.message), `case ${i} (${c.op}) axis ${ax}`);
    }
  }
});

Deno.test("axes: hand values for the positive axes the table compares against", async () => {
  const x = x3();
  assert.deepEqual(await np.sum(x, { axis: 2 }).tolist(), [[6, 22, 38], [54, 70, 86]]);
  assert.deepEqual(await np.max(x, { axis: 1 }).tolist(), [[8, 9, 10, 11], [20, 21, 22, 23]]);
  assert.deepEqual(await np.cumsum(x, { axis: 1 }).tolist(), [
    [[0, 1, 2, 3], [4, 6, 8, 10], [12, 15, 18, 21]],
    [[12, 13, 14, 15], [28, 30, 32, 34], [48, 51, 54, 57]],
  ]);
  const m = np.arange(12).reshape(3, 4);
  assert.deepEqual(await np.sliceAxis(m, 1, 0, 2).tolist(), [[0, 1], [4, 5], [8, 9]]);
  assert.deepEqual(await np.sliceAxis(m, -1, 0, 2).tolist(), [[0, 1], [4, 5], [8, 9]]);
  assert.deepEqual(await np.sliceAxis(m, 0, -2, 10).tolist(), [[4, 5, 6, 7], [8, 9, 10, 11]]);
  assert.deepEqual(await np.flip(m, 1).tolist(), [[3, 2, 1, 0], [7, 6, 5, 4], [11, 10, 9, 8]]);
  assert.deepEqual(await np.take(m, idx, 1).tolist(), [[1, 0], [5, 4], [9, 8]]);
  assert.deepEqual(np.transpose(x, [2, 0, 1]).shape, [4, 2, 3]);
  assert.deepEqual(np.moveaxis(x, 0, 2).shape, [3, 4, 2]);
  assert.deepEqual(np.moveaxis(x, [0, 1], [-1, -2]).shape, [4, 3, 2]);
  assert.deepEqual(np.expandDims(x, 3).shape, [2, 3, 4, 1]);
  assert.deepEqual(np.expandDims(np.zeros([3]), [0, 2]).shape, [1, 3, 1]);
  assert.deepEqual(np.stack([x, x], 3).shape, [2, 3, 4, 2]);
  assert.deepEqual(await np.argmax(m, { axis: 1 }).tolist(), [3, 3, 3]);
  assert.deepEqual(np.argmax(x, { keepdims: true }).shape, [1, 1, 1]);
  const p = await nn.softmax(np.array([[0, Math.log(3)]]), { axis: 1 }).tolist() as number[][];
  assert.ok(Math.abs(p[0][0] - 0.25) < 1e-6 && Math.abs(p[0][1] - 0.75) < 1e-6);
});

Deno.test("axes: an axis named twice is an error, as in jnp", () => {
  const x = x3();
  const dup = /axis -?\d repeats axis -?\d in \[.*\]; name each axis once/;
  const calls: [string, () => unknown][] = [
    ["sum", () => np.sum(x, { axis: [0, -3] })],
    ["mean", () => np.mean(x, { axis: [2, 2] })],
    ["var", () => np.var(x, { axis: [1, -2] })],
    ["logsumexp", () => np.logsumexp(x, { axis: [-1, 2] })],
    ["flip", () => np.flip(x, [1, -2])],
    ["transpose", () => np.transpose(x, [0, -3, 1])],
    ["moveaxis", () => np.moveaxis(x, [0, -3], [1, 2])],
    ["expandDims", () => np.expandDims(x, [0, 0])],
    ["squeeze", () => np.squeeze(np.zeros([1, 2]), [0, -2])],
    ["softmax", () => nn.softmax(x, { axis: [1, -2] })],
  ];
  for (const [op, f] of calls) {
    assert.throws(f, (e: Error) => e.message.startsWith(`${op}: `) && dup.test(e.message), op);
  }
});

Deno.test("axes: non-integer axes, scalars, wrong permutations and per-axis lists", () => {
  const x = x3();
  assert.throws(
    () => np.argmax(x, { axis: 1.5 }),
    msg(/^argmax: axis 1.5 is not an integer; for an array of rank 3 \(shape \[2,3,4\]\), use -3..2$/),
  );
  assert.throws(
    () => np.sum(np.array(1), { axis: 0 }),
    msg(/^sum: axis 0 is out of range for an array of rank 0 \(shape \[\]\); it has no axes$/),
  );
  assert.throws(
    () => np.transpose(x, [1, 0]),
    msg(/^transpose: axes \[1,0\] must name each of the 3 axes of \[2,3,4\] once$/),
  );
  assert.throws(() => np.moveaxis(x, [0, 1], [2]), msg(/^moveaxis: 2 source axes but 1 destinations/));
  assert.throws(() => np.sliceAxis(x, 0, 0, 2, 0), msg(/^sliceAxis: step 0 must be a positive integer/));
  assert.throws(
    () => lax.slice(x, [0, 0], [1, 1]),
    msg(/^slice: start \[0,0\] has 2 entries for an array of rank 3 \(shape \[2,3,4\]\)/),
  );
  assert.throws(
    () => lax.reduceWindow(x, "max", [2, 2]),
    msg(/^reduceWindow: window \[2,2\] has 2 entries for an array of rank 3/),
  );
  assert.throws(() => lax.dynamicSlice(x, [0, 0, 0], [1, 1]), msg(/^dynamicSlice: sizes \[1,1\] has 2 entries/));
});

Deno.test("axes: vmap inAxes/outAxes count from the end too", async () => {
  const x = x3();
  const f = (r: Array) => r.mul(r.sum());
  for (const [neg, pos] of [[-1, 2], [-2, 1], [-3, 0]]) {
    const want = await vmap(f, { inAxes: pos, outAxes: pos })(x).tolist();
    assert.deepEqual(await vmap(f, { inAxes: neg, outAxes: neg })(x).tolist(), want, `inAxes ${neg}`);
  }
  // The positive axis itself against a plain loop over rows of axis 2.
  const rows = [0, 1, 2, 3].map((k) => np.sliceAxis(x, 2, k, k + 1).squeeze(2));
  const want = np.stack(rows.map(f), 2);
  assert.deepEqual(await vmap(f, { inAxes: 2, outAxes: 2 })(x).tolist(), await want.tolist());
});
