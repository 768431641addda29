/**
 * Every batching rule against a loop of unbatched calls stacked with `np.stack`, with
 * batch axes 0, 1, -1 and `null` in the inputs and batch axes other than 0 in the outputs.
 */
import assert from "node:assert/strict";
import {
  type Array as Arr,
  assertAllclose,
  customVjp,
  grad,
  jit,
  jvp,
  lax,
  np,
  random,
  type Tolerance,
  vmap,
} from "../mod.ts";
import { bind, bind1 } from "../core/trace.ts";
import { arr, rand } from "./_ref.ts";

type Fn = (...xs: Arr[]) => Arr | Arr[];
const list = (y: Arr | Arr[]) => (globalThis.Array.isArray(y) ? y : [y]);
const norm = (a: number, n: number) => (a < 0 ? a + n : a);

/** vmap(f) against stacking f over slices of the batched arguments. */
async function checkVmap(
  f: Fn,
  args: Arr[],
  inAxes: (number | null)[],
  outAxes = 0,
  tol: Tolerance = { atol: 1e-5, rtol: 1e-5 },
) {
  const got = list(vmap(f, { inAxes, outAxes })(...args));
  const ax = inAxes.map((a, i) => (a === null ? null : norm(a, args[i].ndim)));
  const n = args[ax.findIndex((a) => a !== null)].shape[ax.find((a) => a !== null)!];
  const slices = args.map((x, i) => (ax[i] === null ? null : np.split(x, n, ax[i]!).map((s) => s.squeeze(ax[i]!))));
  const per = globalThis.Array.from({ length: n }, (_, b) => list(f(...args.map((x, i) => slices[i]?.[b] ?? x))));
  assert.equal(got.length, per[0].length, "number of outputs");
  for (let k = 0; k < got.length; k++) {
    const want = np.stack(per.map((o) => o[k]), norm(outAxes, per[0][k].ndim + 1));
    assert.deepEqual(got[k].shape, want.shape, `shape of output ${k}`);
    assert.equal(got[k].dtype, want.dtype, `dtype of output ${k}`);
    await assertAllclose(got[k], want, tol, `vmap output ${k} vs a loop`);
  }
}

const r = (shape: number[], seed: number) => arr(rand(shape, seed));
const i32 = (data: number[], shape = [data.length]) => np.array(data, { shape, dtype: "int32" });
const t = (name: string, fn: () => Promise<void>) => Deno.test(`batching: ${name}`, fn);

// Elementwise.
t("unary with inAxes 1 and outAxes 1", () => checkVmap(np.sin, [r([3, 4], 1)], [1], 1));
t("unary of int32 (neg, abs, sign, not)", () =>
  checkVmap(
    (x) => [np.negative(x), np.abs(x), np.sign(x), bind1("not", [x], {})],
    [i32([-3, 0, 2, 7, -1, 5], [2, 3])],
    [-1],
  ));
t(
  "binary with an unbatched argument",
  () => checkVmap((a, b) => a.mul(b).add(np.sin(b)), [r([4, 3], 2), r([3], 3)], [0, null]),
);
t(
  "binary with different batch axes",
  () => checkVmap((a, b) => np.arctan2(a, b), [r([3, 4], 4), r([4, 3], 5)], [-1, 0], 1),
);
t(
  "comparisons and logic",
  () =>
    checkVmap(
      (a, b) => [np.less(a, b), np.logicalXor(np.greater(a, 0), np.lessEqual(b, 0))],
      [r([2, 5], 6), r([5], 7)],
      [
        0,
        null,
      ],
    ),
);
t(
  "select with batched predicate only",
  () =>
    checkVmap((p, a, b) => lax.select(p, a, b), [np.greater(r([4, 3], 8), 0), r([4], 9), r([4], 10)], [1, null, null]),
);
t(
  "convert and bitcast",
  () => checkVmap((x) => [x.astype("int32"), bind1("bitcast", [x], { dtype: "uint32" })], [r([3, 2], 11).mul(5)], [1]),
);
t("shifts", () =>
  checkVmap(
    (a, b) => [bind1("shiftLeft", [a, b], {}), bind1("shiftRightLogical", [a, b], {})],
    [i32([1, -8, 3, 5, 7, -1], [3, 2]), i32([1, 2], [2])],
    [0, null],
  ));

// Reductions.
t("sum/max/min/prod with inAxes 1, outAxes -1", () =>
  checkVmap(
    (x) => [np.sum(x, { axis: 0 }), np.max(x, { axis: 1 }), np.min(x), np.prod(x, { axis: [0, 1] })],
    [r([3, 4, 2], 12)],
    [1],
    -1,
  ));
t(
  "argmax and argmin",
  () => checkVmap((x) => [np.argmax(x, { axis: 1 }), np.argmin(x, { axis: 0 })], [r([3, 4, 5], 13)], [2]),
);
t(
  "cumsum forward and reverse",
  () =>
    checkVmap((x) => [np.cumsum(x, { axis: 0 }), np.cumsum(x, { axis: 1, reverse: true })], [r([3, 4, 2], 14)], [1], 2),
);

// Movement.
t("reshape, transpose, broadcast", () =>
  checkVmap(
    (x) => [np.reshape(x, [6]), np.transpose(x), np.broadcastTo(np.reshape(x, [2, 1, 3]), [2, 4, 3])],
    [r([2, 4, 3], 15)],
    [1],
    1,
  ));
t(
  "slice and rev",
  () => checkVmap((x) => [lax.slice(x, [1, 0], [3, 3], [1, 2]), np.flip(x, [0])], [r([3, 4, 3], 16)], [-1]),
);
t("pad with a batched padding value", () =>
  checkVmap(
    (x, v) => bind1("pad", [x, v], { lo: [1, -1], hi: [0, 2], interior: [1, 0] }),
    [r([2, 3, 3], 17), r([3], 18)],
    [1, 0],
  ));
t(
  "pad with a batched value only",
  () =>
    checkVmap(
      (x, v) => bind1("pad", [x, v], { lo: [1, 0], hi: [0, 1], interior: [0, 1] }),
      [r([2, 3], 19), r([4], 20)],
      [
        null,
        0,
      ],
      1,
    ),
);
t(
  "concatenate with mixed batch axes",
  () =>
    checkVmap((a, b, c) => np.concatenate([a, b, c], 1), [r([3, 2, 2], 21), r([2, 1], 22), r([2, 3, 3], 23)], [
      0,
      null,
      2,
    ]),
);
t("iota-producing functions", () =>
  checkVmap(
    (x) => [
      x.add(bind1("iota", [], { shape: [4], dtype: "float32", dimension: 0 })),
      np.take(x, bind1("iota", [], { shape: [2], dtype: "int32", dimension: 0 })),
    ],
    [r([3, 4], 24)],
    [0],
  ));

// Indexing.
const GX = r([3, 4, 5], 25);
const GI = i32([3, 0, 4, 1, 2, 2, 0, 4, 1, 1, 3, 0], [3, 2, 2]);
t(
  "gather with batched operand only",
  () => checkVmap((x, i) => bind1("gather", [x, i], { axis: 1 }), [GX, i32([4, 0, 2], [3])], [0, null]),
);
t(
  "gather with batched indices only",
  () => checkVmap((x, i) => bind1("gather", [x, i], { axis: 1 }), [r([4, 5], 26), GI], [null, 0], 2),
);
t(
  "gather with both batched (axis 1 and 0)",
  () => checkVmap((x, i) => bind1("gather", [x, i], { axis: 1 }), [np.transpose(GX, [1, 0, 2]), GI], [1, 0]),
);
t("scatterAdd with batched indices", () =>
  checkVmap(
    (x, i, u) => bind1("scatterAdd", [x, i, u], { axis: 1 }),
    [r([4, 5], 27), GI, r([3, 4, 2, 2], 28)],
    [null, 0, 0],
  ));
t("scatterAdd with batched operand and updates, shared indices", () =>
  checkVmap(
    (x, i, u) => bind1("scatterAdd", [x, i, u], { axis: 0 }),
    [r([4, 3, 2], 29), i32([1, 1, 3]), r([3, 2, 3], 30)],
    [1, null, -1],
  ));
t("scatterAdd with every argument batched on different axes", () =>
  checkVmap(
    (x, i, u) => bind1("scatterAdd", [x, i, u], { axis: 1 }),
    [r([4, 3, 5], 31), np.transpose(GI, [1, 2, 0]), r([4, 2, 2, 3], 32)],
    [1, 2, 3],
  ));
const starts = i32([0, 3, 1, 1, 5, -2], [3, 2]);
t(
  "dynamicSlice with batched starts",
  () => checkVmap((x, s) => bind1("dynamicSlice", [x, s], { sizes: [2, 3] }), [r([4, 5], 33), starts], [null, 0]),
);
t(
  "dynamicSlice with batched operand and starts",
  () => checkVmap((x, s) => bind1("dynamicSlice", [x, s], { sizes: [2, 3] }), [r([4, 3, 5], 34), starts], [1, 0], 1),
);
t(
  "dynamicSlice with batched operand only",
  () => checkVmap((x) => lax.dynamicSlice(x, [1, 2], [2, 2]), [r([4, 5, 3], 35)], [-1]),
);
t("dynamicUpdateSlice with batched starts", () =>
  checkVmap(
    (x, u, s) => bind1("dynamicUpdateSlice", [x, u, s], {}),
    [r([4, 5], 36), r([2, 3], 37), starts],
    [null, null, 0],
  ));
t("dynamicUpdateSlice with everything batched", () =>
  checkVmap(
    (x, u, s) => bind1("dynamicUpdateSlice", [x, u, s], {}),
    [r([3, 4, 5], 38), r([2, 3, 3], 39), starts],
    [0, 2, 0],
  ));
t(
  "dynamicUpdateSlice with batched update only",
  () => checkVmap((x, u) => lax.dynamicUpdateSlice(x, u, [1, 1]), [r([4, 5], 40), r([2, 3, 2], 41)], [null, 1]),
);

// Contractions.
t("matmul with lhs batched", () => checkVmap((a, b) => np.matmul(a, b), [r([2, 3, 4], 42), r([4, 5], 43)], [1, null]));
t(
  "matmul with rhs batched",
  () => checkVmap((a, b) => np.matmul(a, b), [r([2, 4], 44), r([4, 3, 5], 45)], [null, -1], 1),
);
t("matmul with both batched", () => checkVmap((a, b) => np.matmul(a, b), [r([3, 2, 4], 46), r([4, 3, 5], 47)], [0, 1]));
t("dotGeneral with its own batch dims", () =>
  checkVmap(
    (a, b) => bind1("dotGeneral", [a, b], { contract: [[2], [0]], batch: [[1], [2]] }),
    [r([4, 3, 2, 3], 48), r([3, 5, 2], 49)],
    [1, null],
  ));
const convP = { strides: [1, 2], padding: [[1, 0], [0, 1]] as [number, number][] };
t(
  "conv with lhs batched",
  () =>
    checkVmap((l, k) => lax.convGeneralDilated(l, k, convP), [r([3, 2, 2, 5, 4], 50), r([4, 2, 3, 2], 51)], [0, null]),
);
t(
  "conv with rhs batched",
  () =>
    checkVmap((l, k) => lax.convGeneralDilated(l, k, convP), [r([2, 2, 5, 4], 52), r([4, 2, 3, 3, 2], 53)], [null, 2]),
);
t(
  "conv with both batched",
  () =>
    checkVmap((l, k) => lax.convGeneralDilated(l, k, convP), [r([2, 2, 5, 4, 3], 54), r([3, 4, 2, 3, 2], 55)], [-1, 0]),
);
const grouped = { featureGroupCount: 2, padding: "SAME" as const };
t(
  "grouped conv with lhs batched",
  () =>
    checkVmap((l, k) => lax.convGeneralDilated(l, k, grouped), [r([3, 2, 4, 4, 4], 56), r([6, 2, 3, 3], 57)], [
      0,
      null,
    ]),
);
t(
  "grouped conv with rhs batched",
  () =>
    checkVmap((l, k) => lax.convGeneralDilated(l, k, grouped), [r([2, 4, 4, 4], 58), r([6, 3, 2, 3, 3], 59)], [
      null,
      1,
    ]),
);
t(
  "grouped conv with both batched",
  () =>
    checkVmap(
      (l, k) => lax.convGeneralDilated(l, k, grouped),
      [r([3, 2, 4, 4, 4], 60), r([3, 6, 2, 3, 3], 61)],
      [0, 0],
      1,
    ),
);
const bgc = { batchGroupCount: 2 };
t("batch-grouped conv with lhs, rhs and both batched", async () => {
  const l = r([3, 4, 2, 3, 3], 62);
  const k = r([3, 4, 2, 2, 2], 63);
  const f = (a: Arr, b: Arr) => lax.convGeneralDilated(a, b, bgc);
  await checkVmap(f, [l, np.take(k, i32([0]), 0).squeeze(0)], [0, null]);
  await checkVmap(f, [np.take(l, i32([0]), 0).squeeze(0), k], [null, 0]);
  await checkVmap(f, [l, k], [0, 0]);
});

// Windows.
const win = { strides: [1, 2, 1], padding: [[0, 0], [1, 0], [0, 1]] as [number, number][] };
t("reduceWindow sum and max", () =>
  checkVmap(
    (x) => [lax.reduceWindow(x, "sum", [1, 2, 2], win), lax.reduceWindow(x, "max", [1, 2, 2], win)],
    [r([2, 5, 3, 4], 64)],
    [2],
    1,
  ));
t("selectAndScatterAdd and selectAndGather", () =>
  checkVmap(
    (s, x, tg) => [
      bind1("selectAndScatterAdd", [s, x], { window: [2, 2], ...{ strides: [2, 1], padding: [[1, 0], [0, 1]] } }),
      bind1("selectAndGather", [x, tg], { window: [2, 2], strides: [2, 1], padding: [[1, 0], [0, 1]] }),
    ],
    [r([3, 3, 4], 65), r([5, 4, 3], 66), r([5, 4], 67)],
    [0, -1, null],
  ));
t(
  "grad of max pooling under vmap",
  () =>
    checkVmap(grad((x: Arr) => lax.reduceWindow(x, "max", [2, 2], { padding: "SAME" }).sum()), [r([4, 3, 3], 68)], [
      1,
    ]),
);

// Random.
t("threefry2x32 with batched key and counters", () =>
  checkVmap(
    (k0, k1, c0, c1) => bind("threefry2x32", [k0, k1, c0, c1], {}),
    [
      np.array([1, 2, 3, 4, 5, 6], { dtype: "uint32", shape: [3, 2] }),
      np.array([9, 0xffffffff], { dtype: "uint32" }),
      np.array([0, 1, 2, 3, 4, 5], { dtype: "uint32", shape: [3, 2] }),
      np.array([5, 6], { dtype: "uint32" }),
    ],
    [0, null, 0, null],
  ));
t(
  "random.uniform over a batch of keys",
  () => checkVmap((k) => random.uniform(k, [3]), [np.stack(random.split(random.key(3), 4))], [0]),
);

// Structured.
t("scan with batched carry and xs", () =>
  checkVmap(
    (c, xs) => lax.scan((c: Arr, x: Arr): [Arr, Arr] => [np.tanh(c.add(x)), c.mul(x)], c, xs),
    [r([3, 2], 69), r([4, 3, 2], 70)],
    [0, 1],
  ));
t("scan with unbatched carry and batched xs", () =>
  checkVmap(
    (c, xs) => lax.scan((c: Arr, x: Arr): [Arr, Arr] => [c.mul(0.5).add(x), np.sin(c)], c, xs),
    [r([2], 71), r([4, 2, 3], 72)],
    [null, 2],
    1,
  ));
t("scan with a batched constant", () =>
  checkVmap(
    (w, xs) => lax.scan((c: Arr, x: Arr): [Arr, Arr] => [c.mul(w).add(x), c], np.zeros([2]), xs, { reverse: true })[0],
    [r([3, 2], 73), r([4, 2], 74)],
    [0, null],
  ));
const jf = jit((a: Arr, b: Arr) => [np.exp(a).mul(b), a.sum()]);
t("vmap of a jitted function", () => checkVmap((a, b) => jf(a, b), [r([3, 4], 75), r([4], 76)], [0, null]));
t(
  "vmap of a jitted function with inAxes 1 and outAxes 1",
  () => checkVmap((a, b) => jf(a, b)[0], [r([4, 3], 77), r([4, 3], 78)], [1, 1], 1),
);
const cube = customVjp(
  (x: Arr) => x.mul(x).mul(x),
  (x: Arr) => [x.mul(x).mul(x), x],
  (x: Arr, g: Arr) => [g.mul(x.mul(x)).mul(3)],
);
t("customVjp function", () => checkVmap((x) => cube(x), [r([3, 4], 79)], [1]));
t(
  "grad of a customVjp function",
  () => checkVmap(grad((x: Arr) => cube(x).mul(np.sin(x)).sum()), [r([3, 4], 80)], [0]),
);
t(
  "jvp under vmap",
  () => checkVmap((x, v) => jvp((y: Arr) => np.sin(y).mul(y), [x], [v])[1], [r([3, 4], 81), r([4], 82)], [0, null]),
);
t("nested vmap", async () => {
  const f = (a: Arr, b: Arr) => np.matmul(a, b);
  const inner = vmap(f, { inAxes: [0, null] });
  const got = vmap(inner, { inAxes: [null, 0] })(r([2, 3, 4], 83), r([5, 4, 2], 84));
  const a = await r([2, 3, 4], 83).data();
  const b = await r([5, 4, 2], 84).data();
  const want: number[] = [];
  for (let j = 0; j < 5; j++) {
    for (let i = 0; i < 2; i++) {
      for (let m = 0; m < 3; m++) {
        for (let n = 0; n < 2; n++) {
          let s = 0;
          for (let k = 0; k < 4; k++) s += a[i * 12 + m * 4 + k] * b[j * 8 + k * 2 + n];
          want.push(s);
        }
      }
    }
  }
  assert.deepEqual(got.shape, [5, 2, 3, 2]);
  await assertAllclose(got, want, { atol: 1e-5 });
});
