/**
 * `x.at(...)` indexing: reads and updates against values worked out by hand or by plain
 * loops over the host values, gradients against finite differences (checkGrads), vmap
 * against a loop, and the errors for static indices out of range.
 */
import assert from "node:assert/strict";
import { type Array, checkGrads, jit, np, vmap } from "../mod.ts";

const x34 = () => np.arange(12).reshape(3, 4); // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
const list = async (a: Array) => await a.tolist();
const i32 = (v: number | number[] | number[][]) => np.array(v, { dtype: "int32" });

/** Python's `range(*slice(start, stop, step).indices(n))`, written as a plain loop. */
function sliceRange(n: number, start: number | null, stop: number | null, step: number): number[] {
  const out: number[] = [];
  const norm = (v: number) => (v < 0 ? v + n : v);
  if (step > 0) {
    const a = start === null ? 0 : Math.min(Math.max(norm(start), 0), n);
    const b = stop === null ? n : Math.min(Math.max(norm(stop), 0), n);
    for (let i = a; i < b; i += step) out.push(i);
  } else {
    const a = start === null ? n - 1 : Math.min(Math.max(norm(start), -1), n - 1);
    const b = stop === null ? -1 : Math.min(Math.max(norm(stop), -1), n - 1);
    for (let i = a; i > b; i += step) out.push(i);
  }
  return out;
}

Deno.test("at: integers, negative integers, null and ... read like NumPy", async () => {
  const x = x34();
  assert.deepEqual(await list(x.at(1).get()), [4, 5, 6, 7]);
  assert.deepEqual(await list(x.at(-1, -2).get()), 10);
  assert.deepEqual(await list(x.at(":", 2).get()), [2, 6, 10]);
  assert.deepEqual(await list(x.at("...", -1).get()), [3, 7, 11]);
  assert.deepEqual(x.at(null, 0, null).get().shape, [1, 1, 4]);
  assert.deepEqual(await list(x.at(null, 0, null).get()), [[[0, 1, 2, 3]]]);
  assert.deepEqual(x.at(":", null).get().shape, [3, 1, 4]);
  assert.deepEqual(await list(np.array(5).at().get()), 5);
});

Deno.test("at: every slice of a length-7 axis, string and object forms, matches Python's slice.indices", async () => {
  const x = np.arange(7);
  const bounds = [null, -9, -3, -1, 0, 2, 6, 9];
  for (const step of [1, 2, 3, -1, -2, -3]) {
    for (const start of bounds) {
      for (const stop of bounds) {
        const want = sliceRange(7, start, stop, step);
        const text = `${start ?? ""}:${stop ?? ""}:${step}`;
        assert.deepEqual(await list(x.at(text).get()), want, text);
        assert.deepEqual(await list(x.at({ start, stop, step }).get()), want, text);
      }
    }
  }
});

Deno.test("at: index arrays gather, alone, broadcast together, or apart (then their axes go first)", async () => {
  const x = x34();
  assert.deepEqual(await list(x.at([2, 0, -1]).get()), [[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]);
  assert.deepEqual(await list(x.at(":", i32([3, 0])).get()), [[3, 0], [7, 4], [11, 8]]);
  assert.deepEqual(await list(x.at([0, 2], [1, 3]).get()), [1, 11]);
  assert.deepEqual(await list(x.at([[0], [2]], [1, 3]).get()), [[1, 3], [9, 11]]);
  // x3[i, :, j]: the index arrays are apart, so their broadcast axis comes first (NumPy's rule).
  const x3 = np.arange(24).reshape(2, 3, 4);
  const y = x3.at([0, 1], ":", [3, 0]).get();
  assert.deepEqual(y.shape, [2, 3]);
  assert.deepEqual(await list(y), [[3, 7, 11], [12, 16, 20]]);
  // An integer with an index array indexes like a 0-d array: x3[1, :, [0, 2]] has shape [2, 3].
  assert.deepEqual(await list(x3.at(1, ":", [0, 2]).get()), [[12, 16, 20], [14, 18, 22]]);
  assert.deepEqual(await list(x3.at(":", [2, 0], [1, 1]).get()), [[9, 1], [21, 13]]);
});

Deno.test("at: set/add/mul/min/max on slices copy x and leave it unchanged", async () => {
  const x = x34();
  assert.deepEqual(await list(x.at(1, "1:3").set(-1)), [[0, 1, 2, 3], [4, -1, -1, 7], [8, 9, 10, 11]]);
  assert.deepEqual(await list(x.at("::2", "::-2").set(i32([[20, 21], [22, 23]]))), [
    [0, 21, 2, 20],
    [4, 5, 6, 7],
    [8, 23, 10, 22],
  ]);
  assert.deepEqual(await list(x.at(":", -1).add(i32([10, 20, 30]))), [[0, 1, 2, 13], [4, 5, 6, 27], [8, 9, 10, 41]]);
  assert.deepEqual(await list(x.at(0).mul(3)), [[0, 3, 6, 9], [4, 5, 6, 7], [8, 9, 10, 11]]);
  assert.deepEqual(await list(x.at("1:", "::3").min(5)), [[0, 1, 2, 3], [4, 5, 6, 5], [5, 9, 10, 5]]);
  assert.deepEqual(await list(x.at(null, 2).max(9)), [[0, 1, 2, 3], [4, 5, 6, 7], [9, 9, 10, 11]]);
  assert.deepEqual(await list(x), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  const b = np.array([1, 0, 1]).astype("bool");
  assert.deepEqual(await list(b.at(1).set(1)), [1, 1, 1]);
});

Deno.test("at: repeated index-array entries all apply for add/mul/min/max; the last one wins for set", async () => {
  const x = x34();
  const idx = [0, 0, 2];
  assert.deepEqual(await list(x.at(idx).add(1)), [[2, 3, 4, 5], [4, 5, 6, 7], [9, 10, 11, 12]]);
  assert.deepEqual(await list(x.at(idx, 1).set(i32([7, 8, 9]))), [[0, 8, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  assert.deepEqual(await list(x.at(idx, 1).mul(i32([2, 3, 4]))), [[0, 6, 2, 3], [4, 5, 6, 7], [8, 36, 10, 11]]);
  assert.deepEqual(await list(x.at(idx, 1).min(i32([-2, -3, 4]))), [[0, -3, 2, 3], [4, 5, 6, 7], [8, 4, 10, 11]]);
  assert.deepEqual(await list(x.at(idx, 1).max(i32([20, 30, 4]))), [[0, 30, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  // Rows of a [2, k] index array: duplicates across rows combine too.
  assert.deepEqual(await list(np.zeros([3]).at([[0, 1], [1, 1]]).add(np.array([[1, 2], [3, 4]]))), [1, 9, 0]);
  assert.deepEqual(await list(np.zeros([3]).at([[0, 1], [1, 2]]).set(np.array([[1, 2], [3, 4]]))), [1, 3, 4]);
});

Deno.test("at: traced indices (under jit) read clamped and drop out-of-range updates", async () => {
  const get = jit((x: Array, i: Array) => x.at(i).get());
  const set = jit((x: Array, i: Array) => x.at(i).set(-1));
  const add = jit((x: Array, i: Array) => x.at(i, 0).add(100));
  const x = x34();
  assert.deepEqual(await list(get(x, i32(-1))), [8, 9, 10, 11]);
  assert.deepEqual(await list(get(x, i32(7))), [8, 9, 10, 11]);
  assert.deepEqual(await list(set(x, i32(-2))), [[0, 1, 2, 3], [-1, -1, -1, -1], [8, 9, 10, 11]]);
  assert.deepEqual(await list(set(x, i32(3))), await list(x));
  assert.deepEqual(await list(add(x, i32([5, 1, -4, 1]))), [[0, 1, 2, 3], [204, 5, 6, 7], [8, 9, 10, 11]]);
});

Deno.test("at: whole rows added at traced indices (segment sums) equal a loop; out-of-range rows add nothing", async () => {
  const addRows = jit((x: Array, i: Array, u: Array) => x.at(i).add(u));
  // Fewer update rows than x has (updates masked) and more (sent to a spare row), with a 2-d index.
  const cases: [number, number[] | number[][], number[]][] = [
    [4, [3, -1, 9, 3], [4, 3]],
    [2, [0, 1, 1, -3, 5, 1, 0, -2], [8, 3]],
    [3, [[0, 4], [2, -4]], [2, 2, 3]],
  ];
  for (const [rows, idx, uShape] of cases) {
    const flat = idx.flat();
    const x = np.arange(rows * 3).reshape(rows, 3).astype("float32");
    const u = np.arange(flat.length * 3).reshape(...uShape).astype("float32").add(0.5);
    const want = (await x.data()).slice(), uv = await u.data();
    flat.forEach((r, j) => {
      const t = r < 0 ? r + rows : r;
      if (t < 0 || t >= rows) return; // dropped, as in JAX
      for (let c = 0; c < 3; c++) want[t * 3 + c] += uv[j * 3 + c];
    });
    assert.deepEqual([...await addRows(x, i32(idx), u).data()], [...want], `idx ${JSON.stringify(idx)}`);
  }
  // A partial slice beside the index array is not a whole row: only its columns change.
  const part = jit((x: Array, i: Array, u: Array) => x.at(i, ":2").add(u));
  assert.deepEqual(await list(part(np.zeros([2, 3]), i32([1, 1, 7]), np.ones([3, 2]))), [[0, 0, 0], [2, 2, 0]]);
  // Differentiable in x and in the updates.
  const g = np.array([[0.3, -1.2], [2.0, 0.7], [1.1, -0.4]]);
  await checkGrads((a: Array, v: Array) => addRows(a, i32([2, 0, 2, 7]), v).square(), [g, np.ones([4, 2]).mul(0.7)]);
});

Deno.test("at: gradients of get and of every update match finite differences", async () => {
  const x = np.array([[0.3, -1.2, 2.0, 0.7], [1.1, -0.4, 0.9, -2.2], [0.5, 1.7, -0.8, 0.2]]);
  const v2 = np.array([0.6, -1.5]);
  await checkGrads((a: Array) => a.at("::-1", [1, 3]).get().square(), [x]);
  await checkGrads((a: Array) => np.sin(a.at(null, 1, "1:").get()), [x]);
  await checkGrads((a: Array, v: Array) => a.at(1, "::2").set(v).square(), [x, v2]);
  await checkGrads((a: Array, v: Array) => a.at([2, 0], 3).set(v).square(), [x, v2]);
  await checkGrads((a: Array, v: Array) => a.at([2, 2], 3).add(v).square(), [x, v2]);
  await checkGrads((a: Array, v: Array) => a.at(":", 0).mul(v.sum()).square(), [x, v2]);
  await checkGrads((a: Array, v: Array) => a.at([0, 2], 1).mul(v), [x, v2]);
  // min/max away from ties (|x - v| > 0.3 everywhere they meet).
  await checkGrads((a: Array, v: Array) => a.at([0, 1], 1).min(v), [x, v2]);
  await checkGrads((a: Array, v: Array) => a.at(1, "1:3").max(v), [x, v2]);
});

Deno.test("at: vmap over arrays and indices equals a loop", async () => {
  const xs = np.arange(24).reshape(2, 3, 4).astype("float32");
  const is = i32([[2, 0], [1, 1]]);
  const vs = np.array([[1, 2], [3, 4]]);
  const f = (x: Array, i: Array, v: Array) => x.at(i, -1).set(v).at("::-1", 0).add(1);
  const batched = vmap(f)(xs, is, vs);
  for (let b = 0; b < 2; b++) {
    const one = f(xs.at(b).get(), is.at(b).get(), vs.at(b).get());
    assert.deepEqual(await list(batched.at(b).get()), await list(one));
  }
  const g = (x: Array, i: Array) => x.at(i).get().sum();
  const gb = vmap(g, { inAxes: [null, 0] })(np.arange(5).astype("float32"), i32([[0, 4], [1, -1], [3, 3]]));
  assert.deepEqual(await list(gb), [4, 5, 6]);
  const h = vmap((x: Array, i: Array) => x.at(i).mul(2))(xs.at(":", 0).get(), i32([3, 1]));
  assert.deepEqual(await list(h), [[0, 1, 2, 6], [12, 26, 14, 15]]);
});

Deno.test("at: clear errors for static indices out of range and unsupported indices", () => {
  const x = x34();
  assert.throws(
    () => x.at(3),
    /at: indexing an array of shape \[3,4\]: index 3 is out of bounds for axis 0 of size 3; valid indices are -3..2/,
  );
  assert.throws(() => x.at(0, -5), /index -5 is out of bounds for axis 1 of size 4/);
  assert.throws(() => x.at([0, 3]), /index 3 is out of bounds for axis 0 of size 3/);
  assert.throws(() => x.at(0, 0, 0), /too many indices \(3\) for 2 axes/);
  assert.throws(() => x.at("...", 0, "..."), /at most one "\.\.\."/);
  assert.throws(() => x.at("1"), /is not a slice/);
  assert.throws(() => x.at("::0"), /slice step 0 must be a nonzero integer/);
  assert.throws(() => x.at(x.greater(3)), /boolean mask/);
  assert.throws(() => x.at(1.5), /index 1.5 is not an integer/);
});
