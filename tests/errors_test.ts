/**
 * Bad input gives a clear error: it names the op, the shapes/dtypes involved and what to do.
 */
import assert from "node:assert/strict";
import { type Array, grad, jit, lax, np, vjp, vmap } from "../mod.ts";

Deno.test("matmul: contracting mismatch names op and both shapes", () => {
  assert.throws(
    () => np.matmul(np.ones([64, 100]), np.ones([128, 7])),
    /^Error: matmul: contracting dimensions differ: \[64,100\] @ \[128,7\]/,
  );
  assert.throws(
    () => np.ones([2, 3]).matmul(np.ones([2, 3])),
    /matmul: contracting dimensions differ: \[2,3\] @ \[2,3\]/,
  );
  assert.throws(
    () => np.matmul(np.ones([5, 2, 3]), np.ones([4, 3, 1])),
    /matmul: shapes \[5\] and \[4\] do not broadcast/,
  );
  assert.throws(() => np.matmul(np.ones([]), np.ones([3])), /matmul: operands must be at least 1-D, got \[\] @ \[3\]/);
  assert.throws(() => np.dot(np.ones([3]), np.ones([4])), /contracting dimensions differ: \[3\] @ \[4\]/);
  assert.throws(
    () => np.einsum("ij,jk->ik", np.ones([2, 3]), np.ones([4, 5])),
    /contracting dimensions differ: \[2,3\] @ \[4,5\]/,
  );
  assert.throws(() => np.einsum("ij,jk->ik", np.ones([2, 3])), /einsum: "ij,jk->ik" names 2 operands, got 1/);
  assert.throws(
    () => np.einsum("ijk,jk->i", np.ones([2, 3]), np.ones([3, 4])),
    /einsum: "ijk" has 3 labels for operand of shape \[2,3\]/,
  );
});

Deno.test("broadcasting mismatch names op, shapes, axis and the fix", () => {
  assert.throws(
    () => np.add(np.ones([2, 3]), np.ones([4])),
    /add: shapes \[2,3\] and \[4\] do not broadcast \(axis -1: 3 vs 4\); reshape one operand/,
  );
  assert.throws(() => np.ones([2, 3]).mul(np.ones([3, 2])), /multiply: shapes \[2,3\] and \[3,2\] do not broadcast/);
  assert.throws(() => np.where(np.ones([2]), np.ones([3]), 0), /where: shapes .*do not broadcast/);
  assert.throws(() => np.broadcastTo(np.ones([3]), [2, 4]), /broadcastTo: .*\[3\].*\[2,4\]/);
  assert.throws(
    () => np.concatenate([np.ones([2, 3]), np.ones([2, 4])]),
    /concatenate: shapes \[2,3\], \[2,4\] differ/,
  );
});

Deno.test("bad axis names op, axis and the valid range", () => {
  assert.throws(
    () => np.sum(np.ones([2, 3]), { axis: 2 }),
    /sum: axis 2 is out of range for an array of rank 2 \(shape \[2,3\]\); use -2\.\.1/,
  );
  assert.throws(() => np.ones([2, 3]).mean(-3), /mean: axis -3 is out of range for an array of rank 2/);
  assert.throws(() => np.argmax(np.ones([2]), { axis: 1 }), /argmax: axis 1 is out of range/);
  assert.throws(() => np.expandDims(np.ones([2]), 3), /expandDims: axis 3 is out of range/);
  assert.throws(
    () => np.squeeze(np.ones([2, 3]), 0),
    /squeeze: axis 0 of \[2,3\] has size 2, not 1; name only size-1 axes/,
  );
  assert.throws(
    () => np.sum(np.ones([2, 3]), { axis: [0, 0] }),
    /sum: axis 0 repeats axis 0 in \[0,0\]; name each axis once/,
  );
  assert.throws(
    () => np.transpose(np.ones([2, 3]), [0, 0]),
    /transpose: axis 0 repeats axis 0 in \[0,0\]; name each axis once/,
  );
  assert.throws(() => np.split(np.ones([5]), 2), /split: axis 0 of \[5\] does not divide into 2 equal parts/);
});

Deno.test("reshape size mismatch names both shapes", () => {
  assert.throws(
    () => np.reshape(np.ones([2, 3]), [4, 2]),
    /reshape: cannot reshape \[2,3\] \(6 elements\) into \[4,2\]/,
  );
  assert.throws(() => np.ones([2, 3]).reshape(4, -1), /reshape: cannot reshape \[2,3\] into \[4,-1\]/);
  assert.throws(() => np.ones([6]).reshape(-1, -1), /reshape: shape \[-1,-1\] has more than one -1/);
});

Deno.test("grad: non-scalar output and integer inputs", () => {
  assert.throws(
    () => grad((x: Array) => x.mul(2))(np.ones([3])),
    /grad: the function must return a scalar, got shape \[3\]; reduce it \(e\.g\. \.sum\(\)\) or use vjp/,
  );
  assert.throws(
    () => grad((x: Array) => x.sum())(np.ones([3], { dtype: "int32" })),
    /grad: argument of dtype int32 cannot be differentiated; use float32 inputs/,
  );
  assert.throws(
    () => grad((x: Array) => x.sum(), { argnums: 2 })(np.ones([3])),
    /grad: argnums 2 out of range for 1 arguments/,
  );
  assert.throws(
    () => grad((x: Array) => x.sum().greater(0))(np.ones([3])),
    /grad: the function returned bool; it must return float32/,
  );
  const [, pb] = vjp((x: Array) => x.mul(2), np.ones([3]));
  assert.throws(() => pb(np.ones([4])), /vjp: cotangent \[4\] does not match output \[3\]/);
});

Deno.test("conv: channel mismatch names shapes, layouts and counts", () => {
  assert.throws(
    () =>
      lax.convGeneralDilated(np.ones([1, 5, 5, 3]), np.ones([3, 3, 4, 8]), {
        dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
      }),
    /conv: input .*kernel .*input channels 3 != kernel in-channels 4/,
  );
  assert.throws(
    () => lax.convGeneralDilated(np.ones([1, 3, 5, 5]), np.ones([8, 2, 3, 3])),
    /conv: input \[1,3,5,5\].*kernel \[8,2,3,3\].*input channels 3 != kernel in-channels 2/,
  );
  assert.throws(
    () => lax.convGeneralDilated(np.ones([5, 5]), np.ones([3, 3])),
    /conv: input \[5,5\] and kernel \[3,3\] need the same rank ≥ 3/,
  );
  assert.throws(
    () =>
      lax.convGeneralDilated(np.ones([1, 1, 5, 5]), np.ones([1, 1, 3, 3]), {
        dimensionNumbers: ["NHWC", "OIHW", "XYZW"],
      }),
    /conv: dimension numbers .* do not describe 2 spatial dims/,
  );
});

Deno.test("vmap: mismatched batch sizes and no batched argument", () => {
  assert.throws(
    () => vmap((a: Array, b: Array) => a.add(b))(np.ones([3, 2]), np.ones([4, 2])),
    /vmap: batch axes have different sizes: \[3,2\]@0, \[4,2\]@0/,
  );
  assert.throws(() => vmap((a: Array) => a, { inAxes: null })(np.ones([3])), /vmap: no argument has a batch axis/);
  assert.throws(
    () => vmap((a: Array) => a, { inAxes: 1 })(np.ones([3])),
    /vmap: axis 1 is out of range for an array of rank 1/,
  );
});

Deno.test("reading values of a tracer inside jit/grad/vmap", async () => {
  let seen: Promise<unknown> | null = null;
  jit((x: Array) => {
    seen = x.data();
    return x;
  })(np.ones([2]));
  await assert.rejects(
    seen!,
    /data: cannot read the values of a traced array Array\(float32\[2\], traced\) inside grad\/vmap\/jit; return it/,
  );
  let item: Promise<unknown> | null = null;
  grad((x: Array) => {
    item = x.item();
    return x.sum();
  })(np.ones([]));
  await assert.rejects(item!, /cannot read the values of a traced array/);
});

Deno.test("using a disposed or donated array", async () => {
  const x = np.ones([2]);
  x.dispose();
  assert.throws(() => x.add(1), /add: this array was disposed; its buffer is gone/);
  await assert.rejects(x.data(), /data: this array was disposed/);
  x.dispose(); // idempotent
  const step = jit((p: Array) => p.mul(2), { donateArgnums: [0] });
  const p = np.ones([2]);
  const q = step(p);
  assert.throws(() => np.exp(p), /exp: this array was donated to a jitted call \(donateArgnums\); its buffer is gone/);
  assert.throws(() => step(p), /donated to a jitted call/);
  assert.deepEqual(await q.tolist(), [2, 2]);
});

Deno.test("unknown dtype lists the valid ones", () => {
  assert.throws(
    () => np.zeros([2], { dtype: "float64" as never }),
    /full: unknown dtype "float64"; use one of bool, uint32, int32, float32/,
  );
  assert.throws(() => np.ones([2]).astype("int64" as never), /astype: unknown dtype "int64"/);
  assert.throws(() => np.array([1], { dtype: "f32" as never }), /array: unknown dtype "f32"/);
});

Deno.test("ragged or malformed np.array input", () => {
  assert.throws(() => np.array([[1, 2], [3]]), /array: ragged nested lists \(expected length 2 at depth 1, got 1\)/);
  assert.throws(() => np.array([[1, 2], 3] as never), /array: ragged nested lists/);
  assert.throws(() => np.array(["a"] as never), /array: entries must be numbers or booleans, got string/);
  assert.throws(() => np.array([1, 2, 3], { shape: [2, 2] }), /array: 3 values do not fill shape \[2,2\]/);
  assert.throws(
    () => np.zeros([2, -1]),
    /zeros: shape \[2,-1\] has dimension -1 at axis 1; dimensions must be non-negative integers/,
  );
});

Deno.test("a leaked tracer used after its transform", () => {
  let leaked: Array | null = null;
  grad((x: Array) => {
    leaked = x;
    return x.sum();
  })(np.ones([2]));
  assert.throws(() => leaked!.add(1), /leaked tracer Array\(float32\[2\], traced\) was used after its transform/);
  let fromJit: Array | null = null;
  jit((x: Array) => {
    fromJit = x.mul(2);
    return x.sum();
  })(np.ones([3]));
  assert.throws(() => np.exp(fromJit!), /leaked tracer Array\(float32\[3\], traced\)/);
  assert.throws(() => jit((y: Array) => y.add(fromJit!))(np.ones([3])), /leaked tracer/);
  let fromVmap: Array | null = null;
  vmap((x: Array) => {
    fromVmap = x;
    return x;
  })(np.ones([4, 2]));
  assert.throws(() => fromVmap!.sum(), /leaked tracer/);
});

Deno.test("control flow and structure errors", () => {
  assert.throws(
    () => lax.scan((c: Array, x: Array) => [c.sum(), x], np.ones([2]), np.ones([3])),
    /scan: the body returns carry 0 as f32\[\] but takes f32\[2\]; keep carry shapes and dtypes fixed/,
  );
  assert.throws(
    () => lax.scan((c: Array, x: Array[]) => [c, x], np.ones([2]), [np.ones([3]), np.ones([4])]),
    /scan: xs leading axes \/ length disagree: 3 vs 4/,
  );
  assert.throws(
    () => lax.cond(np.array(true), (x: Array) => x, (x: Array) => x.sum(), np.ones([2])),
    /cond: branch outputs differ: float32\[2\] vs float32\[\]/,
  );
  assert.throws(
    () => lax.cond(np.array([true, false]), (x: Array) => x, (x: Array) => x, np.ones([2])),
    /cond: the predicate must be a scalar, got shape \[2\]/,
  );
  assert.throws(
    () => grad((x: { a: Array }) => x.a.sum())({ a: np.ones([1]), f: () => 1 } as never),
    /tree: unsupported pytree node of type function/,
  );
});
