/**
 * jit: the same numbers as eager on every op, tracing once per signature, static
 * arguments, pytrees, captured constants, nesting, and the simplifications (DCE, CSE,
 * constant folding) visible in the printed program.
 */
import assert from "node:assert/strict";
import { type Array as Arr, assertAllclose, grad, type Jaxpr, jit, makeJaxpr, np, vmap } from "../mod.ts";
import { simplify } from "../core/passes/mod.ts";
import { traceFlat } from "../core/transforms/staging.ts";
import { cases } from "./_prim_cases.ts";

const list = (y: Arr | Arr[]) => (globalThis.Array.isArray(y) ? y : [y]);
const count = (j: Jaxpr, prim: string) => j.eqns.filter((e) => e.prim === prim).length;

for (const c of cases) {
  Deno.test(`jit: agrees with eager: ${c.prim}: ${c.label}`, async () => {
    const eager = list(c.fn(...c.args));
    const jitted = list(jit(c.fn)(...c.args));
    assert.equal(jitted.length, eager.length);
    for (let i = 0; i < eager.length; i++) {
      assert.deepEqual(jitted[i].shape, eager[i].shape);
      assert.equal(jitted[i].dtype, eager[i].dtype);
      await assertAllclose(jitted[i], eager[i], { atol: 1e-6, rtol: 1e-6 }, `jit vs eager (${c.label})`);
    }
  });
}

Deno.test("jit: traces once per signature", async () => {
  let runs = 0;
  const f = jit((x: Arr) => {
    runs++;
    return np.sin(x).mul(2);
  });
  const x = np.array([0.1, 0.2, 0.3]);
  await assertAllclose(f(x), [0.1, 0.2, 0.3].map((v) => 2 * Math.sin(v)));
  await assertAllclose(f(np.array([1, 2, 3])), [1, 2, 3].map((v) => 2 * Math.sin(v)));
  assert.equal(runs, 1, "a second call with the same shapes must not re-run the function");
  assert.equal(f.traceCount, 1);
  await assertAllclose(f(np.array([[1, 2]])), [[2 * Math.sin(1), 2 * Math.sin(2)]]);
  assert.equal(runs, 2, "a new shape retraces");
  f(np.array([4, 5, 6]));
  assert.equal(f.traceCount, 2);
  const yi = f(np.array([1, 2, 3], { dtype: "int32" }));
  await assertAllclose(yi, [1, 2, 3].map((v) => 2 * Math.sin(v)), { atol: 1e-6 });
  assert.equal(f.traceCount, 3, "a new dtype retraces");
});

Deno.test("jit: staticArgnums retrace on a new static value only", async () => {
  let runs = 0;
  const f = jit((x: Arr, n: number, opts: { neg: boolean }) => {
    runs++;
    let y = x;
    for (let i = 0; i < n; i++) y = y.mul(x);
    return opts.neg ? y.neg() : y;
  }, { staticArgnums: [1, 2] });
  const x = np.array([2, 3]);
  await assertAllclose(f(x, 2, { neg: false }), [8, 27]);
  await assertAllclose(f(x, 2, { neg: false }), [8, 27]);
  assert.equal(runs, 1);
  await assertAllclose(f(x, 3, { neg: false }), [16, 81]);
  await assertAllclose(f(x, 2, { neg: true }), [-8, -27]);
  assert.equal(runs, 3);
  assert.equal(f.traceCount, 3);
  await assertAllclose(f(x, 3, { neg: false }), [16, 81]);
  assert.equal(f.traceCount, 3, "a static value seen before reuses its program");
});

Deno.test("jit: numbers passed as arguments are dynamic, not baked in", async () => {
  const f = jit((x: Arr, s: Arr) => x.mul(s));
  await assertAllclose(f(np.array([1, 2]), 3 as unknown as Arr), [3, 6]);
  await assertAllclose(f(np.array([1, 2]), 4 as unknown as Arr), [4, 8]);
  assert.equal(f.traceCount, 1);
});

Deno.test("jit: transforms of a jitted function do not retrace it", async () => {
  let runs = 0;
  const f = jit((x: Arr) => {
    runs++;
    return np.sin(x).mul(x);
  });
  const x = np.array([0.5, 1.5]);
  f(x);
  const g = grad((y: Arr) => f(y).sum())(x);
  await assertAllclose(g, [0.5, 1.5].map((v) => Math.cos(v) * v + Math.sin(v)), { atol: 1e-6 });
  const v = vmap(f)(np.array([[0.5, 1.5], [1, 2]]));
  await assertAllclose(v, [[0.5, 1.5], [1, 2]].map((r) => r.map((t) => Math.sin(t) * t)), { atol: 1e-6 });
  assert.equal(runs, 1);
});

Deno.test("jit: pytrees in and out", async () => {
  const f = jit((p: { w: Arr; b: Arr[] }, x: Arr) => ({
    y: x.mul(p.w).add(p.b[0]),
    parts: [p.b[1].neg(), { s: x.sum() }],
  }));
  const out = f({ w: np.array([2, 3]), b: [np.array(1), np.array([5, 6])] }, np.array([10, 20]));
  await assertAllclose(out.y, [21, 61]);
  await assertAllclose(out.parts[0] as Arr, [-5, -6]);
  await assertAllclose((out.parts[1] as { s: Arr }).s, 30);
  f({ w: np.array([1, 1]), b: [np.array(0), np.array([0, 0])] }, np.array([1, 2]));
  assert.equal(f.traceCount, 1);
  f({ w: np.array([1, 1]), b: [np.array(0), np.array([0, 0]), np.array(0)] } as never, np.array([1, 2]));
  assert.equal(f.traceCount, 2, "a new tree structure retraces");
});

Deno.test("jit: constants captured from outside are baked in at trace time", async () => {
  let w = np.array([2, 3]);
  const big = np.ones([100]).mul(0.5);
  const f = jit((x: Arr) => x.mul(w).add(big.sum()));
  await assertAllclose(f(np.array([1, 1])), [52, 53]);
  w = np.array([10, 10]);
  await assertAllclose(f(np.array([1, 1])), [52, 53], {}, "the cached program keeps the traced constant (like JAX)");
  assert.equal(f.traceCount, 1);
});

Deno.test("jit: nested jit", async () => {
  let inner = 0;
  const g = jit((x: Arr) => {
    inner++;
    return np.exp(x).add(1);
  });
  const f = jit((x: Arr) => g(x).mul(g(x.neg())));
  const x = np.array([0.1, -0.4]);
  await assertAllclose(f(x), [0.1, -0.4].map((v) => (Math.exp(v) + 1) * (Math.exp(-v) + 1)), { rtol: 1e-6 });
  f(x);
  assert.equal(f.traceCount, 1);
  assert.equal(inner, 1, "the inner function is traced once for its one signature");
  const j = makeJaxpr(f)(x);
  assert.equal(count(j, "jitCall"), 1);
  const body = j.eqns[0].params as { jaxpr: Jaxpr };
  assert.equal(count(body.jaxpr, "jitCall"), 2, "the inner calls stay calls inside the outer program");
  const g2 = grad((y: Arr) => f(y).sum())(x);
  const d = (v: number) => Math.exp(v) * (Math.exp(-v) + 1) - (Math.exp(v) + 1) * Math.exp(-v);
  await assertAllclose(g2, [0.1, -0.4].map(d), { atol: 1e-5 });
});

Deno.test("jit: simplify removes dead code and duplicates", () => {
  const closed = traceFlat((x) => {
    const a = np.sin(x);
    const b = np.sin(x);
    np.exp(x); // dead
    np.cos(a).mul(3); // dead, and uses a live value
    return [a.add(b)];
  }, [{ shape: [3], dtype: "float32" }]);
  const before = closed.jaxpr;
  assert.equal(count(before, "sin"), 2);
  assert.equal(count(before, "exp"), 1);
  const after = simplify(closed).jaxpr;
  assert.equal(count(after, "sin"), 1, "CSE merges the two sin");
  assert.equal(count(after, "exp"), 0, "DCE drops exp");
  assert.equal(count(after, "cos"), 0, "DCE drops cos");
  assert.equal(count(after, "add"), 1);
  const text = after.toString();
  assert.equal(text.match(/= sin/g)?.length, 1, text);
  assert.doesNotMatch(text, /exp|cos/);
});

Deno.test("jit: simplify folds constants", async () => {
  const c = np.array([1, 2, 3]);
  const closed = traceFlat((x) => [x.add(c.mul(2).add(1))], [{ shape: [3], dtype: "float32" }]);
  assert.ok(count(closed.jaxpr, "mul") >= 1, closed.jaxpr.toString());
  const s = simplify(closed);
  assert.equal(count(s.jaxpr, "mul"), 0, `the constant product is folded:\n${s.jaxpr}`);
  assert.equal(s.jaxpr.eqns.length, 1, `one add remains:\n${s.jaxpr}`);
  assert.equal(s.consts.length, 1);
  await assertAllclose(s.consts[0], [3, 5, 7]);
});

Deno.test("jit: the program jit runs is simplified", () => {
  let seen: Jaxpr | null = null;
  const f = jit((x: Arr) => {
    np.exp(x); // dead
    return np.sin(x).add(np.sin(x));
  });
  seen = makeJaxpr(f)(np.ones([2]));
  const body = (seen.eqns[0].params as { jaxpr: Jaxpr }).jaxpr;
  assert.equal(count(body, "sin"), 1);
  assert.equal(count(body, "exp"), 0);
});

Deno.test("jit: a number argument stays weakly typed", () => {
  const f = (x: Arr, s: Arr) => x.mul(s);
  const x = np.array([1, 2], { dtype: "uint32" });
  assert.equal(f(x, 3 as unknown as Arr).dtype, "uint32");
  assert.equal(jit(f)(x, 3 as unknown as Arr).dtype, "uint32");
  assert.equal(jit(f)(np.array([1, 2], { dtype: "int32" }), 2.5 as unknown as Arr).dtype, "float32");
});
