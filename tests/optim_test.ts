import assert from "node:assert/strict";
import { type Array, assertAllclose, grad, jit, lax, np, type tree } from "../mod.ts";
import * as optim from "../optim/mod.ts";

const rosenbrock = (x: Array) => {
  const [a, b] = np.split(x, 2);
  return np.square(np.subtract(1, a)).add(np.square(b.sub(a.square())).mul(100)).sum();
};
const rosenGrad = ([a, b]: number[]) => [-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)];

Deno.test("Adam: two steps worked out by hand", async () => {
  const [lr, b1, b2, eps] = [0.1, 0.9, 0.999, 1e-8];
  const opt = optim.adam(lr, { b1, b2, eps });
  const p0 = [1, -2];
  const gs = [[0.5, -1], [0.1, 2]];
  let p = { w: np.array(p0) };
  let s = opt.init(p);
  for (const g of gs) {
    const [u, s2] = opt.update({ w: np.array(g) }, s, p);
    [p, s] = [optim.applyUpdates(p, u), s2];
  }
  // By hand, coordinate 0: m1 = 0.05, v1 = 0.00025 → m̂ = 0.5, v̂ = 0.25 → step 0.5/0.5 = 1.
  // m2 = 0.9·0.05 + 0.1·0.1 = 0.055, v2 = 0.999·0.00025 + 0.001·0.01 = 0.00025975
  // m̂2 = 0.055/0.19 = 0.2894737, v̂2 = 0.00025975/0.001999 = 0.1299400 → step 0.2894737/0.3604718 = 0.8030426.
  // Coordinate 1: step 1 = −1; m2 = −0.09 + 0.2 = 0.11, v2 = 0.000999 + 0.004 = 0.004999
  // m̂2 = 0.5789474, v̂2 = 2.5007504 → step 0.5789474/1.5813761 = 0.3661015.
  await assertAllclose(p.w, [1 - lr * (1 + 0.8030426), -2 - lr * (-1 + 0.3661015)], { atol: 2e-6 });
  assert.equal(await s[0].count.item(), 2);
  assert.equal(s[0].count.dtype, "int32");
});

Deno.test("sgd, momentum, Nesterov and AdamW match closed forms", async () => {
  const g = np.array([0.5, -2]);
  const gv = [0.5, -2];
  // Plain sgd: p_k = p_0 − k·lr·g for a constant gradient.
  const run = (opt: optim.GradientTransformation<tree.PyTree>, k: number, p0 = [1, 1]) => {
    let p = np.array(p0);
    let s = opt.init(p);
    for (let i = 0; i < k; i++) {
      const [u, s2] = opt.update(g, s, p);
      [p, s] = [optim.applyUpdates(p, u), s2];
    }
    return p;
  };
  await assertAllclose(run(optim.sgd(0.1), 3), gv.map((v) => 1 - 0.3 * v), { atol: 1e-6 });
  // Momentum β: trace_i = g(1 − β^i)/(1 − β); p_k = p_0 − lr Σ_i trace_i.
  const [lr, beta, k] = [0.1, 0.9, 4];
  let sum = 0;
  let sumNest = 0;
  for (let i = 1; i <= k; i++) {
    const tr = (1 - beta ** i) / (1 - beta);
    sum += tr;
    sumNest += 1 + beta * tr;
  }
  await assertAllclose(run(optim.sgd(lr, { momentum: beta }), k), gv.map((v) => 1 - lr * v * sum), {
    atol: 1e-5,
  });
  await assertAllclose(
    run(optim.sgd(lr, { momentum: beta, nesterov: true }), k),
    gv.map((v) => 1 - lr * v * sumNest),
    { atol: 1e-5 },
  );
  // AdamW, one step: p − lr·(g/(|g| + eps) + wd·p).
  const wd = 0.3;
  await assertAllclose(
    run(optim.adamw(0.1, { weightDecay: wd }), 1, [2, -1]),
    [2 - 0.1 * (1 + wd * 2), -1 - 0.1 * (-1 + wd * -1)],
    { atol: 1e-5 },
  );
  // Clipping.
  const [c] = optim.clipByGlobalNorm(1).update({ a: np.array([6]), b: np.array([8]) }, null);
  await assertAllclose([await c.a.item(), await c.b.item()], [0.6, 0.8], { atol: 1e-6 });
  const [same] = optim.clipByGlobalNorm(100).update({ a: np.array([6]) }, null);
  assert.equal(await same.a.item(), 6);
  assert.throws(() => optim.addDecayedWeights(0.1).update(g, null), /parameters/);
});

Deno.test("schedules match their formulas", async () => {
  const at = async (s: optim.Schedule, c: number) => await s(np.array(c, { dtype: "int32" })).item();
  const ed = optim.exponentialDecay(2, { transitionSteps: 10, decayRate: 0.5, transitionBegin: 5 });
  await assertAllclose([await at(ed, 0), await at(ed, 5), await at(ed, 20)], [2, 2, 2 * 0.5 ** 1.5], { rtol: 1e-6 });
  const st = optim.exponentialDecay(1, { transitionSteps: 10, decayRate: 0.1, staircase: true, endValue: 0.05 });
  await assertAllclose([await at(st, 9), await at(st, 10), await at(st, 25)], [1, 0.1, 0.05], { rtol: 1e-6 });
  const cd = optim.cosineDecay(1, 100, { alpha: 0.1 });
  await assertAllclose(await at(cd, 25), (0.5 * (1 + Math.cos(Math.PI / 4))) * 0.9 + 0.1, { rtol: 1e-6 });
  await assertAllclose(await at(cd, 1000), 0.1, { rtol: 1e-6 });
  const wc = optim.warmupCosineDecay({ initValue: 0.1, peakValue: 1, warmupSteps: 10, decaySteps: 50, endValue: 0.2 });
  await assertAllclose(
    [await at(wc, 0), await at(wc, 4), await at(wc, 10), await at(wc, 30), await at(wc, 50), await at(wc, 99)],
    [0.1, 0.1 + 0.9 * 0.4, 1, 0.2 + 0.8 * 0.5, 0.2, 0.2],
    { rtol: 1e-5 },
  );
  const pc = optim.piecewiseConstant(1, { 20: 0.1, 10: 0.5 });
  await assertAllclose([await at(pc, 9), await at(pc, 10), await at(pc, 20)], [1, 0.5, 0.05], { rtol: 1e-6 });
  // A schedule drives the learning rate through the count in the state, inside jit.
  const opt = optim.sgd(optim.piecewiseConstant(1, { 2: 0.5 }));
  const step = jit((p: Array, s: optim.StateOf<typeof opt>) => {
    const [u, s2] = opt.update(np.onesLike(p), s, p);
    return [optim.applyUpdates(p, u), s2] as [Array, optim.StateOf<typeof opt>];
  });
  let p = np.zeros([1]);
  let s = opt.init(p);
  for (let i = 0; i < 4; i++) [p, s] = step(p, s);
  assert.equal(await p.item(), -3);
  assert.equal(step.traceCount, 1);
});

Deno.test("every optimizer minimises Rosenbrock from (−1.5, 2) to within 1e-3", async () => {
  // deno-lint-ignore no-explicit-any
  const cases: [string, optim.GradientTransformation<any>, number][] = [
    ["sgd", optim.sgd(0.002), 8000],
    ["momentum", optim.sgd(0.001, { momentum: 0.9 }), 3000],
    ["nesterov", optim.sgd(0.001, { momentum: 0.9, nesterov: true }), 3000],
    ["adam", optim.adam(0.03), 3000],
    ["adamw", optim.adamw(0.01, { weightDecay: 1e-5 }), 5000],
    [
      "rmsprop",
      optim.rmsprop(optim.exponentialDecay(0.001, { transitionSteps: 300, decayRate: 0.5 }), { momentum: 0.9 }),
      3000,
    ],
    ["adagrad", optim.adagrad(1), 16000],
    [
      "clip+adam+cosine",
      optim.chain(
        optim.clipByGlobalNorm(10),
        optim.scaleByAdam(),
        optim.scaleByLearningRate(optim.cosineDecay(0.05, 4000)),
      ),
      4000,
    ],
  ];
  for (const [name, opt, n] of cases) {
    const run = jit((x: Array, s: tree.PyTree) =>
      lax.foriLoop(0, n, (_i, [x, s]: [Array, tree.PyTree]) => {
        const [u, s2] = opt.update(grad(rosenbrock)(x), s, x);
        return [optim.applyUpdates(x, u), s2] as [Array, tree.PyTree];
      }, [x, s] as [Array, tree.PyTree])
    );
    const x0 = np.array([-1.5, 2]);
    const [x] = run(x0, opt.init(x0));
    const [a, b] = (await x.tolist()) as number[];
    assert.ok(Math.hypot(a - 1, b - 1) < 1e-3, `${name}: ended at (${a}, ${b})`);
  }
});

Deno.test("backtracking line search: monotone decrease and Armijo at every step", async () => {
  const c = 1e-4;
  const r = await optim.minimize(rosenbrock, np.array([-1.5, 2]), {
    method: "gd-ls",
    lineSearch: { c },
    maxSteps: 300,
    tol: 1e-8,
  });
  assert.equal(r.path.length, 301);
  const pts = await Promise.all(r.path.map(async (p) => (await p.tolist()) as number[]));
  const fh = ([a, b]: number[]) => (1 - a) ** 2 + 100 * (b - a * a) ** 2;
  for (let k = 0; k + 1 < pts.length; k++) {
    const g = rosenGrad(pts[k]);
    const g2 = g[0] ** 2 + g[1] ** 2;
    const alpha = Math.hypot(pts[k + 1][0] - pts[k][0], pts[k + 1][1] - pts[k][1]) / Math.sqrt(g2);
    assert.ok(r.values[k + 1] <= r.values[k], `step ${k}: f rose from ${r.values[k]} to ${r.values[k + 1]}`);
    // Armijo, checked in float64 on the host (with float32 slack): f(x − αg) ≤ f(x) − c·α·‖g‖².
    const slack = 1e-5 * Math.abs(fh(pts[k]));
    assert.ok(fh(pts[k + 1]) <= fh(pts[k]) - c * alpha * g2 + slack, `Armijo fails at step ${k} (α = ${alpha})`);
    await assertAllclose(r.gradNorms[k], Math.sqrt(g2), { rtol: 1e-3 });
  }
  assert.ok(r.values[300] < r.values[0] / 5);
  // On a quadratic bowl it converges to the tolerance and reports it.
  const bowl = (x: Array) => x.square().mul(np.array([1, 20])).sum();
  const q = await optim.minimize(bowl, np.array([1, 1]), { method: "gd-ls", tol: 1e-5, maxSteps: 500 });
  assert.ok(q.converged && q.gradNorms[q.gradNorms.length - 1] < 1e-5 && q.steps === q.path.length - 1);
  // Fixed-step gd and an optimizer object work too.
  const gd = await optim.minimize(bowl, np.array([1, 1]), { method: "gd", learningRate: 0.02, tol: 1e-4 });
  assert.ok(gd.converged && gd.steps > 10);
  const mo = await optim.minimize(bowl, np.array([1, 1]), { method: optim.adam(0.1), maxSteps: 5, tol: 0 });
  assert.equal(mo.steps, 5);
  assert.ok(!mo.converged);
});

Deno.test("optimizer state is typed and a whole train step jits once", async () => {
  type P = { w: Array; b: Array };
  const opt = optim.adamw(0.05, { weightDecay: 1e-3 });
  const loss = (p: P) => p.w.mul(np.array([1, 2])).add(p.b).sub(3).square().sum();
  const step = jit((p: P, s: optim.StateOf<typeof opt>) => {
    const [u, s2] = opt.update(grad(loss)(p), s, p);
    return [optim.applyUpdates(p, u), s2] as [P, optim.StateOf<typeof opt>];
  }, { donateArgnums: [0, 1] });
  let p: P = { w: np.zeros([2]), b: np.zeros([1]) };
  let s = opt.init(p);
  for (let i = 0; i < 200; i++) [p, s] = step(p, s);
  assert.equal(step.traceCount, 1);
  assert.equal(await s[2].count.item(), 200);
  assert.ok((await loss(p).item()) < 1e-3);
});
