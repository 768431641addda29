/**
 * Types a user can lean on, checked by `deno check` (and `deno test`, which checks first): the
 * assignments below must compile, and every `@ts-expect-error` line must be an error (an
 * unused one fails the check). The tests also run, with a few values checked at runtime.
 */
import assert from "node:assert/strict";
import {
  type Array,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  lax,
  linearize,
  np,
  tree,
  valueAndGrad,
  vjp,
  vmap,
} from "../mod.ts";
import { adam, applyUpdates, type GradientTransformation, sgd } from "../optim/mod.ts";

/** Compile-time equality of two types: `true` only when each is assignable to the other. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
/** Fails to compile unless `T` is `true`. */
const is = <T extends true>(): T => true as T;
/** Code that is only type-checked (its `@ts-expect-error` lines would throw if run). */
const never = (_code: () => void) => {};

type Params = { w: Array; b: Array; layers: [Array, Array] };
const params = (): Params => ({ w: np.ones([2, 3]), b: np.zeros([3]), layers: [np.ones([3]), np.ones([1])] });
const loss = (p: Params, x: Array) => x.matmul(p.w).add(p.b).mul(p.layers[0]).sum().mul(p.layers[1].sum());

Deno.test("types: grad of f(p: P) is a P; argnums picks a tuple; hasAux types the aux", async () => {
  const g = grad(loss)(params(), np.ones([4, 2]));
  is<Equals<typeof g, Params>>();
  const [gp, gx] = grad(loss, { argnums: [0, 1] })(params(), np.ones([4, 2]));
  is<Equals<typeof gp, Params>>();
  is<Equals<typeof gx, Array>>();
  const gx1 = grad(loss, { argnums: 1 })(params(), np.ones([4, 2]));
  is<Equals<typeof gx1, Array>>();
  const [v, g2] = valueAndGrad(loss)(params(), np.ones([4, 2]));
  is<Equals<typeof v, Array>>();
  is<Equals<typeof g2, Params>>();
  const withAux = (p: Params, x: Array) => [loss(p, x), { logits: x.matmul(p.w), n: 3 }] as const;
  const [[l, aux], ga] = valueAndGrad(withAux, { hasAux: true })(params(), np.ones([4, 2]));
  is<Equals<typeof l, Array>>();
  is<Equals<typeof aux, { logits: Array; n: Array }>>(); // numbers come back as arrays
  is<Equals<typeof ga, Params>>();
  const [g3, aux3] = grad((x: Array) => [x.sum(), x.mul(2)], { hasAux: true })(np.ones([2]));
  is<Equals<typeof g3, Array>>();
  is<Equals<typeof aux3, Array>>();
  // A number argument's gradient is an array.
  const gn = grad((s: number, x: Array) => x.mul(s).sum())(0.5, np.ones([2]));
  is<Equals<typeof gn, Array>>();
  never(() => {
    // @ts-expect-error grad needs a scalar loss (or hasAux): an object is not one
    grad((x: Array) => ({ y: x }));
  });
  never(() => {
    // @ts-expect-error the gradient has the parameters' type, not another
    const wrong: { w: Array } = grad((x: Array) => x.sum())(np.ones([2]));
    void wrong;
  });
  never(() => {
    // @ts-expect-error the differentiated function takes two arguments
    grad(loss, { argnums: [0, 1] })(params());
  });
  assert.deepEqual(g.b.shape, [3]);
  assert.equal(await gx1.sum().item(), 4 * 3 * 2);
});

Deno.test("types: generic code over P extends ArrayTree needs no casts", async () => {
  function descend<P extends tree.ArrayTree>(f: (p: P) => Array, p: P, steps: number): P {
    const opt = sgd(0.1);
    let state = opt.init(p);
    const step = jit((p: P, s: typeof state): [P, typeof state] => {
      const [u, next] = opt.update(grad(f)(p), s, p);
      return [applyUpdates(p, u), next];
    });
    for (let i = 0; i < steps; i++) [p, state] = step(p, state);
    return p;
  }
  const p = descend((p: { x: Array }) => p.x.sub(3).square().sum(), { x: np.array([0]) }, 100);
  is<Equals<typeof p, { x: Array }>>();
  assert.ok(Math.abs((await p.x.item()) - 3) < 1e-3);
});

Deno.test("types: jit, vmap, jvp, vjp, linearize keep their functions' types", async () => {
  const f = jit((x: Array, y: { s: Array }) => ({ out: x.mul(y.s), n: 2 }));
  const r = f(3, { s: 2 }); // numbers where arrays are taken
  is<Equals<typeof r, { out: Array; n: Array }>>();
  never(() => {
    // @ts-expect-error a string is neither an array nor a number
    f("3", { s: 2 });
  });
  const b = vmap((x: Array) => [x.sum(), x.max()] as [Array, Array])(np.ones([4, 3]));
  is<Equals<typeof b, [Array, Array]>>();
  const [y, dy] = jvp((p: Params) => p.w.sum(), [params()], [params()]);
  is<Equals<typeof y, Array>>();
  is<Equals<typeof dy, Array>>();
  const [out, pullback] = vjp((p: Params, x: Array) => ({ z: loss(p, x) }), params(), np.ones([1, 2]));
  is<Equals<typeof out, { z: Array }>>();
  const cts = pullback({ z: np.array(1) });
  is<Equals<typeof cts, [Params, Array]>>();
  never(() => {
    // @ts-expect-error the cotangent has the output's structure
    pullback(np.array(1));
  });
  const [lo, lin] = linearize((x: Array) => x.square(), np.array(2));
  is<Equals<ReturnType<typeof lin>, Array>>();
  assert.equal(await r.out.item(), 6);
  assert.equal(await lin(np.array(1)).item(), 4);
  void lo;
});

Deno.test("types: scan returns [C, Y]; tree.map is typed by its leaves", async () => {
  const [c, ys] = lax.scan(
    (c: Array, x: Array): [Array, { sq: Array }] => [c.add(x), { sq: x.square() }],
    np.array(0),
    np.arange(4),
  );
  is<Equals<typeof c, Array>>();
  is<Equals<typeof ys, { sq: Array }>>();
  const doubled = tree.map((x) => x.mul(2), params());
  is<Equals<typeof doubled, Params>>();
  const shapes = tree.map((x) => x.shape, params());
  is<Equals<typeof shapes, { w: number[]; b: number[]; layers: [number[], number[]] }>>();
  const mixed = tree.map((x) => String(x), { a: 1, b: [true] });
  is<Equals<typeof mixed, { a: string; b: string[] }>>();
  never(() => {
    // @ts-expect-error the leaves are numbers, which have no .mul
    tree.map((x) => x.mul(2), { a: 1 });
  });
  assert.deepEqual(await ys.sq.tolist(), [0, 1, 4, 9]);
  assert.deepEqual(shapes.layers[1], [1]);
});

Deno.test("types: jacobians and optimizers", () => {
  const J = jacfwd((p: { a: Array }) => ({ y: p.a.square() }))({ a: np.ones([2]) });
  is<Equals<typeof J, { y: { a: Array } }>>();
  const [Ja, Jb] = jacrev((a: Array, b: Array) => a.mul(b), { argnums: [0, 1] })(np.ones([2]), np.ones([2]));
  is<Equals<[typeof Ja, typeof Jb], [Array, Array]>>();
  const H = hessian((a: Array, b: Array) => a.mul(b).sum(), { argnums: [0, 1] })(np.ones([2]), np.ones([2]));
  is<Equals<typeof H, [[Array, Array], [Array, Array]]>>();
  const opt = adam(1e-3);
  const s = opt.init(params());
  const [u, s2] = opt.update(grad(loss)(params(), np.ones([1, 2])), s, params());
  is<Equals<typeof u, Params>>();
  is<Equals<typeof s2, typeof s>>();
  const t: GradientTransformation<typeof s> = opt;
  assert.deepEqual(J.y.a.shape, [2, 2]);
  void t;
});
