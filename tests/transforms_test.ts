/**
 * The transform composition matrix: jit/vmap/grad/jvp/vjp/linearize/jacobians/customVjp in
 * every nesting the issue lists, against hand-computed derivatives, unrolled loops and
 * central finite differences.
 */
import assert from "node:assert/strict";
import {
  type Array,
  assertAllclose,
  checkGrads,
  customVjp,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  lax,
  linearize,
  makeJaxpr,
  np,
  stopGradient,
  valueAndGrad,
  vjp,
  vmap,
} from "../mod.ts";

const tol = { atol: 1e-5, rtol: 1e-5 };
/** f(x) = sum(sin(x) * x^2); f'(x) = cos(x) x^2 + 2x sin(x). */
const f = (x: Array) => np.sin(x).mul(x.mul(x)).sum();
const df = (x: number) => Math.cos(x) * x * x + 2 * x * Math.sin(x);
const d2f = (x: number) => -Math.sin(x) * x * x + 4 * x * Math.cos(x) + 2 * Math.sin(x);
const xs = [0.3, -1.2, 2.0, 0.7];

/** Central finite difference of a host function of a flat vector. */
function fdGrad(h: (v: number[]) => number, v: number[], eps = 1e-3): number[] {
  return v.map((_, i) => {
    const p = [...v];
    const m = [...v];
    p[i] += eps;
    m[i] -= eps;
    return (h(p) - h(m)) / (2 * eps);
  });
}

Deno.test("grad matches the hand derivative", async () => {
  await assertAllclose(grad(f)(np.array(xs)), xs.map(df), tol);
});

Deno.test("jit(vmap(grad(f))) over a batch of rows", async () => {
  const rows = [[0.1, 0.2], [-0.5, 1.5], [2.5, -3]];
  const g = jit(vmap(grad(f)));
  const out = g(np.array(rows));
  assert.deepEqual(out.shape, [3, 2]);
  await assertAllclose(out, rows.flat().map(df), tol);
  g(np.array(rows));
  assert.equal(g.traceCount, 1);
});

Deno.test("vmap(jvp) equals per-row jvp", async () => {
  const h = (x: Array) => np.tanh(x).mul(x);
  const dh = (x: number, t: number) => (1 - Math.tanh(x) ** 2) * x * t + Math.tanh(x) * t;
  const P = [[0.1, -0.4], [1.0, 2.0], [-2, 0.5]];
  const T = [[1, 0.5], [-1, 2], [0.3, 0.3]];
  const [y, t] = vmap((p: Array, tt: Array) => jvp(h, [p], [tt]))(np.array(P), np.array(T));
  await assertAllclose(y, P.flat().map((x) => Math.tanh(x) * x), tol);
  await assertAllclose(t, P.flat().map((x, i) => dh(x, T.flat()[i])), tol);
});

Deno.test("grad(jit(f)) equals grad(f)", async () => {
  const jf = jit(f);
  await assertAllclose(grad(jf)(np.array(xs)), xs.map(df), tol);
  // and jit of the grad of a jitted function
  await assertAllclose(jit(grad(jf))(np.array(xs)), xs.map(df), tol);
});

Deno.test("grad(grad(f)) for scalar f", async () => {
  const s = (x: Array) => np.sin(x).mul(x.mul(x));
  for (const x of [0.3, -1.2, 2.0]) {
    await assertAllclose(grad(grad(s))(np.array(x)), d2f(x), { atol: 1e-4, rtol: 1e-4 });
  }
  // third derivative of x^4 at 1.5 is 24*1.5
  await assertAllclose(grad(grad(grad((x: Array) => x.pow(4))))(np.array(1.5)), 36, { atol: 1e-3, rtol: 1e-4 });
});

Deno.test("jvp(grad(f)) is the Hessian-vector product", async () => {
  const v = [1, -2, 0.5, 3];
  const [g, hv] = jvp(grad(f), [np.array(xs)], [np.array(v)]);
  await assertAllclose(g, xs.map(df), tol);
  await assertAllclose(hv, xs.map((x, i) => d2f(x) * v[i]), { atol: 1e-4, rtol: 1e-4 });
});

Deno.test("grad(vmap(f)) and vmap(grad(f))", async () => {
  const rows = [[0.1, 0.2, 0.3], [-1, 1, 2]];
  const per = (r: Array) => np.sin(r).mul(r.mul(r)).sum();
  const total = (m: Array) => vmap(per)(m).mul(np.array([1, 2])).sum();
  const expect = rows.flatMap((r, i) => r.map((x) => (i + 1) * df(x)));
  await assertAllclose(grad(total)(np.array(rows)), expect, tol);
  await assertAllclose(vmap(grad(per))(np.array(rows)), rows.flat().map(df), tol);
  // vmap over the second argument of a grad with inAxes
  const g2 = vmap(grad((w: Array, x: Array) => w.mul(x).sum().square()), { inAxes: [null, 0] });
  const w = np.array([1, 2]);
  const X = [[1, 1], [2, -1]];
  const out = g2(w, np.array(X));
  const exp = X.flatMap((x) => {
    const s = x[0] * 1 + x[1] * 2;
    return x.map((xi) => 2 * s * xi);
  });
  await assertAllclose(out, exp, tol);
});

Deno.test("grad(scan) equals the unrolled loop and finite differences", async () => {
  // h(c, x) = tanh(c * w + x); loss = sum of all ys + final carry squared
  const xsIn = [0.5, -0.3, 0.8, 1.1, -0.7];
  const body = (w: Array) => (c: Array, x: Array): [Array, Array] => {
    const n = np.tanh(c.mul(w).add(x));
    return [n, n.mul(n)];
  };
  const scanned = (w: Array, c0: Array) => {
    const [c, ys] = lax.scan(body(w), c0, np.array(xsIn));
    return ys.sum().add(c.square());
  };
  const unrolled = (w: Array, c0: Array) => {
    let c = c0;
    let acc: Array = np.array(0);
    for (const x of xsIn) {
      const [n, y] = body(w)(c, np.array(x));
      c = n;
      acc = acc.add(y);
    }
    return acc.add(c.square());
  };
  const host = (w: number, c0: number) => {
    let c = c0;
    let acc = 0;
    for (const x of xsIn) {
      c = Math.tanh(c * w + x);
      acc += c * c;
    }
    return acc + c * c;
  };
  const w = np.array(0.9);
  const c0 = np.array(0.2);
  const [gw, gc] = grad(scanned, { argnums: [0, 1] })(w, c0) as Array[];
  const [uw, uc] = grad(unrolled, { argnums: [0, 1] })(w, c0) as Array[];
  await assertAllclose(gw, uw, tol);
  await assertAllclose(gc, uc, tol);
  const fd = fdGrad((v) => host(v[0], v[1]), [0.9, 0.2], 1e-5);
  await assertAllclose(gw, fd[0], { atol: 1e-4, rtol: 1e-3 });
  await assertAllclose(gc, fd[1], { atol: 1e-4, rtol: 1e-3 });
  await assertAllclose(scanned(w, c0), host(0.9, 0.2), tol);
  // scan under jit and with reverse
  await assertAllclose(jit(grad(scanned))(w, c0), uw, tol);
  await checkGrads((ww: Array) => lax.scan(body(ww), c0, np.array(xsIn), { reverse: true })[1].sum(), [w]);
});

Deno.test("grad through lax.foriLoop and lax.cond", async () => {
  // x -> x * 1.1 + sin(x), 4 times
  const loop = (x: Array) => lax.foriLoop(0, 4, (_i: Array, v: Array) => v.mul(1.1).add(np.sin(v)), x);
  const host = (x: number) => {
    for (let i = 0; i < 4; i++) x = x * 1.1 + Math.sin(x);
    return x;
  };
  await assertAllclose(loop(np.array(0.3)), host(0.3), tol);
  const [fd] = fdGrad((v) => host(v[0]), [0.3], 1e-5);
  await assertAllclose(grad(loop)(np.array(0.3)), fd, { atol: 1e-3, rtol: 1e-3 });
  // the loop index is usable inside the body
  const idx = (x: Array) => lax.foriLoop(1, 4, (i: Array, v: Array) => v.mul(i.astype("float32")), x);
  await assertAllclose(grad(idx)(np.array(2)), 6, tol);

  const c = (p: Array, x: Array) => lax.cond(p, (v: Array) => v.mul(v).mul(3), (v: Array) => np.sin(v), x);
  await assertAllclose(grad((x: Array) => c(np.array(true), x))(np.array(2)), 12, tol);
  await assertAllclose(grad((x: Array) => c(np.array(false), x))(np.array(2)), Math.cos(2), tol);
  // predicate computed from the traced input, under jit
  const relu2 = jit(grad((x: Array) => lax.cond(x.greater(0), (v: Array) => v.mul(v), (v: Array) => v.mul(0), x)));
  await assertAllclose(relu2(np.array(3)), 6, tol);
  await assertAllclose(relu2(np.array(-3)), 0, tol);
});

Deno.test("jacfwd and jacrev agree with a hand Jacobian", async () => {
  // f(x) = [x0 * x1, sin(x2), x0^2 + x2]
  const fn = (x: Array) => {
    const [a, b, c] = np.split(x, 3);
    return np.concatenate([a.mul(b), np.sin(c), a.mul(a).add(c)]);
  };
  const x = [1.5, -2, 0.4];
  const J = [
    [x[1], x[0], 0],
    [0, 0, Math.cos(x[2])],
    [2 * x[0], 0, 1],
  ];
  const jf = jacfwd(fn)(np.array(x));
  const jr = jacrev(fn)(np.array(x));
  assert.deepEqual(jf.shape, [3, 3]);
  assert.deepEqual(jr.shape, [3, 3]);
  await assertAllclose(jf, J, tol);
  await assertAllclose(jr, J, tol);
  // non-square: R^2 -> R^3 with 2-D input
  const g = (m: Array) => m.sum(0).mul(np.array([1, 2, 3]));
  const J2 = jacrev(g)(np.ones([2, 3]));
  assert.deepEqual(J2.shape, [3, 2, 3]);
  await assertAllclose(J2, jacfwd(g)(np.ones([2, 3])), tol);
  const want: number[] = [];
  for (let o = 0; o < 3; o++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) want.push(o === j ? o + 1 : 0);
  await assertAllclose(J2, want, tol);
});

Deno.test("hessian of x^T A x equals A + A^T", async () => {
  const A = [[1, 2, 0], [-1, 3, 4], [0.5, 0, -2]];
  const a = np.array(A);
  const q = (x: Array) => x.mul(np.matmul(a, x)).sum();
  const H = hessian(q)(np.array([0.3, -0.7, 1.1]));
  await assertAllclose(H, A.map((r, i) => r.map((v, j) => v + A[j][i])), tol);
});

Deno.test("linearize equals jvp", async () => {
  const h = (x: Array) => np.exp(x).mul(np.cos(x)).sum(0);
  const x = np.array([[0.1, 0.2], [0.3, -0.4]]);
  const [y, lin] = linearize(h, x);
  for (const t of [[[1, 0], [0, 0]], [[0.3, -1], [2, 0.5]]]) {
    const [y2, t2] = jvp(h, [x], [np.array(t)]);
    await assertAllclose(y, y2, tol);
    await assertAllclose(lin(np.array(t)), t2, tol);
  }
});

Deno.test("vjp with pytree inputs and outputs", async () => {
  const fn = (p: { w: Array; b: Array }, xs: [Array]) => ({
    out: p.w.mul(xs[0]).add(p.b),
    sq: [p.w.mul(p.w)],
  });
  const p = { w: np.array([1, 2]), b: np.array([0.5, -0.5]) };
  const [y, pb] = vjp(fn, p, [np.array([3, 4])]);
  await assertAllclose(y.out, [3.5, 7.5], tol);
  await assertAllclose(y.sq[0], [1, 4], tol);
  const [gp, gx] = pb({ out: np.array([1, 10]), sq: [np.array([2, 3])] });
  // d/dw: ct_out * x + ct_sq * 2w ; d/db: ct_out ; d/dx: ct_out * w
  await assertAllclose(gp.w, [1 * 3 + 2 * 2, 10 * 4 + 3 * 4], tol);
  await assertAllclose(gp.b, [1, 10], tol);
  await assertAllclose(gx[0], [1, 20], tol);
  assert.throws(() => pb({ out: np.array([1, 10]) } as never), /vjp: cotangent structure/);
});

Deno.test("grad with argnums (number, list) and hasAux; valueAndGrad", async () => {
  const fn = (a: Array, b: Array, c: Array) => a.mul(b).mul(c).sum();
  const [a, b, c] = [np.array([1, 2]), np.array([3, 4]), np.array([5, 6])];
  await assertAllclose(grad(fn)(a, b, c), [15, 24], tol);
  await assertAllclose(grad(fn, { argnums: 2 })(a, b, c), [3, 8], tol);
  const gs = grad(fn, { argnums: [0, 2] })(a, b, c) as Array[];
  assert.equal(gs.length, 2);
  await assertAllclose(gs[0], [15, 24], tol);
  await assertAllclose(gs[1], [3, 8], tol);
  const [g, aux] = grad((x: Array) => [x.mul(x).sum(), { n: x.sum() }], { hasAux: true })(np.array([1, 2]));
  await assertAllclose(g, [2, 4], tol);
  await assertAllclose(aux.n, 3, tol);
  const [v, gv] = valueAndGrad(fn, { argnums: 1 })(a, b, c);
  await assertAllclose(v, 1 * 3 * 5 + 2 * 4 * 6, tol);
  await assertAllclose(gv, [5, 12], tol);
  const [[v2, aux2], g2] = valueAndGrad((x: Array) => [x.sum(), x.mul(2)], { hasAux: true })(np.array([1, 2]));
  await assertAllclose(v2, 3, tol);
  await assertAllclose(aux2, [2, 4], tol);
  await assertAllclose(g2, [1, 1], tol);
  // a pytree argument gives a pytree gradient
  const gp = grad((p: { w: Array; b: Array[] }) => p.w.mul(p.b[0]).sum())({ w: np.array([2]), b: [np.array([5])] });
  await assertAllclose(gp.w, [5], tol);
  await assertAllclose(gp.b[0], [2], tol);
  // an unused argument gets a zero gradient
  await assertAllclose(grad((_x: Array, y: Array) => y.sum(), { argnums: 0 })(np.ones([2]), np.ones([2])), [0, 0]);
});

Deno.test("stopGradient blocks derivatives (grad and jvp)", async () => {
  const fn = (x: Array) => x.mul(stopGradient(x)).add(stopGradient(x.mul(x))).sum();
  await assertAllclose(grad(fn)(np.array([3, -2])), [3, -2], tol);
  const [, t] = jvp(fn, [np.array([3])], [np.array([1])]);
  await assertAllclose(t, 3, tol);
  const tr = stopGradient({ a: np.array(1), b: [np.array(2)] });
  await assertAllclose(tr.b[0], 2);
});

// A stable log(1 + e^x): forward via max(x,0) + log1p(exp(-|x|)); custom bwd = sigmoid(x) * g.
let bwdCalls = 0;
const log1pexp = customVjp(
  (x: Array) => np.maximum(x, 0).add(np.log1p(np.exp(x.abs().neg()))),
  (x: Array) => [np.maximum(x, 0).add(np.log1p(np.exp(x.abs().neg()))), x],
  (x: Array, g: Array) => {
    bwdCalls++;
    return [np.sigmoid(x).mul(g)];
  },
);
const hostL = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const hostS = (x: number) => 1 / (1 + Math.exp(-x));

Deno.test("customVjp: stable log1pexp values and gradients at ±1e4", async () => {
  const xsL = [-1e4, -20, -1, 0, 1, 20, 1e4];
  const x = np.array(xsL);
  await assertAllclose(log1pexp(x), xsL.map(hostL), { atol: 1e-5, rtol: 1e-6 });
  const before = bwdCalls;
  const g = grad((v: Array) => log1pexp(v).sum())(x);
  assert.ok(bwdCalls > before, "custom bwd was not called");
  const gv = [...(await g.data())];
  assert.ok(gv.every(Number.isFinite), `non-finite gradient ${gv}`);
  await assertAllclose(g, xsL.map(hostS), { atol: 1e-6, rtol: 1e-5 });
  assert.equal(gv[0], 0);
  assert.equal(gv[6], 1);
  // the naive formula overflows: this is what the custom rule is for
  const naive = grad((v: Array) => np.log(np.exp(v).add(1)).sum())(np.array([1e4]));
  assert.ok(!Number.isFinite((await naive.data())[0]));
});

Deno.test("customVjp under jit and vmap; the bwd is what reverse mode uses", async () => {
  const xsL = [-1e4, -2, 0.5, 1e4];
  const before = bwdCalls;
  const gj = jit(grad((v: Array) => log1pexp(v).sum()))(np.array(xsL));
  await assertAllclose(gj, xsL.map(hostS), { atol: 1e-6, rtol: 1e-5 });
  assert.ok(bwdCalls > before, "custom bwd not called under jit");
  const vals = vmap(log1pexp)(np.array(xsL));
  await assertAllclose(vals, xsL.map(hostL), { atol: 1e-5, rtol: 1e-6 });
  const before2 = bwdCalls;
  const gv = vmap(grad(log1pexp))(np.array(xsL));
  await assertAllclose(gv, xsL.map(hostS), { atol: 1e-6, rtol: 1e-5 });
  assert.ok(bwdCalls > before2, "custom bwd not called under vmap");
  // a bwd that differs from the true derivative proves the rule is used
  const fake = customVjp((x: Array) => x.mul(x), (x: Array) => [x.mul(x), x], (_x: Array, g: Array) => [g.mul(100)]);
  await assertAllclose(grad((x: Array) => fake(x).sum())(np.array([1, 2])), [100, 100]);
  await assertAllclose(jit(grad((x: Array) => fake(x).sum()))(np.array([1, 2])), [100, 100]);
  // forward mode of a customVjp uses the primal function's jvp rule via linearization
  await assertAllclose(vmap(grad((x: Array) => fake(x)))(np.array([1, 2])), [100, 100]);
});

Deno.test("makeJaxpr lists the expected primitives", () => {
  const j = makeJaxpr((x: Array, w: Array) => np.tanh(np.matmul(x, w)).sum())(np.ones([2, 3]), np.ones([3, 4]));
  const s = j.toString();
  for (const p of ["dotGeneral", "tanh", "reduceSum"]) assert.ok(s.includes(p), `${p} missing in\n${s}`);
  assert.ok(!s.includes("exp"), s);
  const g = makeJaxpr(grad((x: Array) => np.sin(x).sum()))(np.ones([3])).toString();
  assert.ok(g.includes("cos"), g);
  const jj = makeJaxpr(jit((x: Array) => x.mul(2)))(np.ones([3])).toString();
  assert.ok(jj.includes("jitCall"), jj);
  const sc = makeJaxpr((x: Array) => lax.scan((c: Array, v: Array) => [c.add(v), v], np.array(0), x)[0])(
    np.ones([3]),
  ).toString();
  assert.ok(sc.includes("scan"), sc);
});

Deno.test("donated arguments raise a clear error when touched afterwards", async () => {
  const step = jit((p: Array, g: Array) => p.sub(g.mul(0.1)), { donateArgnums: [0] });
  const p = np.ones([4]);
  const g = np.ones([4]);
  const p2 = step(p, g);
  await assertAllclose(p2, [0.9, 0.9, 0.9, 0.9]);
  assert.equal(p.isLive, false);
  assert.equal(g.isLive, true);
  await assert.rejects(() => p.data(), /donated to a jitted call/);
  assert.throws(() => p.add(1), /donated/);
  assert.throws(() => step(p, g), /donated/);
  // the non-donated input is still usable
  await assertAllclose(g, [1, 1, 1, 1]);
  // donated pytree leaves
  const upd = jit((s: { a: Array; b: Array }) => ({ a: s.a.add(1), b: s.b.mul(2) }), { donateArgnums: [0] });
  const s0 = { a: np.zeros([2]), b: np.ones([2]) };
  const s1 = upd(s0);
  assert.ok(!s0.a.isLive && !s0.b.isLive);
  await assertAllclose(s1.b, [2, 2]);
});

Deno.test("checkGrads: second order through jit and vmap compositions", async () => {
  const h = jit((x: Array) => np.tanh(x).mul(np.exp(x.mul(0.3))));
  await checkGrads(h, [np.array([0.2, -0.5, 1.0])], { order: 2 });
  await checkGrads((x: Array) => vmap((r: Array) => r.mul(r).sum())(x), [np.array([[0.1, 0.2], [1, -1]])], {
    order: 2,
  });
});

Deno.test("hasAux aux values are concrete under jit and vmap; staticArgnums", async () => {
  const lossAux = (x: Array): [Array, { m: Array; n: Array }] => [x.mul(x).sum(), { m: x.max(), n: x.argmax() }];
  const [g, aux] = jit(grad(lossAux, { hasAux: true }))(np.array([1, 3, 2]));
  await assertAllclose(g, [2, 6, 4], tol);
  await assertAllclose(aux.m, 3, tol);
  assert.equal(await aux.n.item(), 1);
  const [gb, auxb] = vmap(grad(lossAux, { hasAux: true }))(np.array([[1, 3], [5, 4]]));
  await assertAllclose(gb, [[2, 6], [10, 8]], tol);
  await assertAllclose(auxb.m, [3, 5], tol);
  assert.deepEqual(await auxb.n.tolist(), [1, 0]);
  const scale = jit((x: Array, k: number) => x.mul(k), { staticArgnums: [1] });
  await assertAllclose(scale(np.array([1, 2]), 3), [3, 6]);
  await assertAllclose(scale(np.array([1, 2]), 4), [4, 8]);
  scale(np.array([5, 6]), 4);
  assert.equal(scale.traceCount, 2);
  await assertAllclose(grad((x: Array) => scale(x, 5).sum())(np.array([1, 2])), [5, 5]);
});

Deno.test("control flow under vmap/jvp: batched cond predicate, vmap(scan), jvp(scan), hessian(jit)", async () => {
  const c = vmap((p: Array, x: Array) => lax.cond(p, (v: Array) => v.mul(2), (v: Array) => v.neg(), x));
  await assertAllclose(c(np.array([true, false]), np.array([3, 4])), [6, -4]);
  const prefix = vmap((x: Array) => lax.scan((cc: Array, v: Array) => [cc.add(v), cc], np.array(0), x)[1]);
  await assertAllclose(prefix(np.array([[1, 2], [3, 4]])), [[0, 1], [0, 3]]);
  // x^3 by scan: carry *= x three times
  const cube = (x: Array) => lax.scan((cc: Array, _v: Array) => [cc.mul(x), cc], np.array(1), np.ones([3]))[0];
  const [y, d] = jvp(cube, [np.array(2)], [np.array(1)]);
  await assertAllclose(y, 8);
  await assertAllclose(d, 12);
  // product of each row by scan, differentiated through vmap
  const prods = (m: Array) =>
    vmap((r: Array) => lax.scan((cc: Array, v: Array) => [cc.mul(v), cc], np.array(1), r)[0])(m);
  await assertAllclose(grad((m: Array) => prods(m).sum())(np.array([[1, 2], [3, 4]])), [[2, 1], [4, 3]]);
  await assertAllclose(hessian(jit((x: Array) => x.mul(x).mul(x).sum()))(np.array([1, 2])), [[6, 0], [0, 12]]);
});
