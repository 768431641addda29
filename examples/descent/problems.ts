/**
 * The gradient-descent demo's problems (test functions of two variables and a least-squares fit)
 * and the methods it runs on them, and `runMethod`, which runs one method to ‖∇f‖ < ε.
 * @module
 */
import { type Array, grad, jit, lax, np, random, valueAndGrad } from "../../mod.ts";
import {
  adam,
  applyUpdates,
  backtrackingLineSearch,
  globalNorm,
  type GradientTransformation,
  sgd,
} from "../../optim/mod.ts";
import type { Color, LevelOptions } from "../../models/plot/mod.ts";

/** A point of the plane. */
export type Vec2 = [number, number];

/** A minimisation method as the example runs it. */
export interface Method {
  name: string; // legend and table name
  color: Color; // path colour
  // deno-lint-ignore no-explicit-any
  opt?: GradientTransformation<any>; // the update rule (unset for the line search, built from f)
  lineSearch?: { initialStepSize: number; decay: number }; // steepest descent, backtracking α₀, α₀β, …
  batch?: number; // minibatch size (a data-set loss only; default: the full batch)
}

/** A test function of two variables and the methods to run on it. */
export interface Problem {
  name: string; // `--fn` name and file name
  title: string;
  f: (p: Array) => Array; // the objective of a point [x, y] (a scalar)
  fBatch?: (p: Array, idx: Array) => Array; // a data-set loss on a minibatch (indices into the data)
  size?: number; // examples in the data set
  x0: Vec2; // the common start
  x: Vec2; // the frame of the picture
  y: Vec2;
  minima: Vec2[]; // known minimisers, marked (and named A, B, … when there are several)
  labels: [string, string]; // axis names
  levels: LevelOptions; // contour levels
  methods: Method[];
}

/** One method's run. */
export interface Run {
  method: string;
  path: Vec2[]; // the iterates, the start first (up to divergence)
  values: number[]; // f at each iterate
  gradNorms: number[]; // ‖∇f‖ (full batch) at each iterate
  stepSizes: number[]; // the steps the line search accepted (line search only)
  steps: number | null; // updates until ‖∇f‖ < ε, or null if that did not happen
  diverged: number | null; // the step at which the iterate blew up (|x| > 1e6 or non-finite)
  fEvals: number; // one per iterate (with its gradient) + one per line-search trial, full-batch units
  gEvals: number; // full-batch units: a minibatch of B of N examples counts B/N
}

const coords = (p: Array): [Array, Array] => {
  const [x, y] = np.split(p, 2);
  return [x.reshape([]), y.reshape([])];
};

/** An ill-conditioned quadratic ½(p − c)ᵀA(p − c), A with eigenvalues 1 and `cond`, axes turned by 30°. */
export function quadratic(cond = 10): Problem {
  const [c, s] = [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)];
  const a = [c * c + cond * s * s, (1 - cond) * c * s, s * s + cond * c * c]; // R diag(1, κ) Rᵀ
  const f = (p: Array) => {
    const [x, y] = coords(p);
    const [u, v] = [x.sub(1), y.sub(0.5)];
    return u.square().mul(a[0]).add(u.mul(v).mul(2 * a[1])).add(v.square().mul(a[2])).mul(0.5);
  };
  const lr = Number((1.8 / cond).toPrecision(2)); // 1.8/λmax: the steep direction flips sign each step (zig-zag)
  return {
    name: "quadratic",
    title: `Quadratic, condition number ${cond}`,
    f,
    x0: [-3, 3],
    x: [-4, 4],
    y: [-3, 4],
    minima: [[1, 0.5]],
    labels: ["x", "y"],
    levels: { count: 14, log: true, decades: 3 },
    methods: common({ lr, big: Number((2.5 / cond).toPrecision(2)), momentum: 0.6, adamLr: 0.3, momentumLr: 1 / cond }),
  };
}

/** Rosenbrock's banana valley (1 − x)² + 100(y − x²)², minimum at (1, 1). */
export function rosenbrock(): Problem {
  const f = (p: Array) => {
    const [x, y] = coords(p);
    return np.array(1).sub(x).square().add(y.sub(x.square()).square().mul(100));
  };
  return {
    name: "rosenbrock",
    title: "Rosenbrock (1-x)² + 100(y-x²)²",
    f,
    x0: [-1.2, 1],
    x: [-2, 2],
    y: [-1, 3],
    minima: [[1, 1]],
    labels: ["x", "y"],
    levels: { count: 16, log: true, decades: 5 },
    methods: common({ lr: 1e-3, big: 8e-3, momentum: 0.9, adamLr: 0.05 }),
  };
}

/** Himmelblau's (x² + y − 11)² + (x + y² − 7)², four minima of value 0. */
export function himmelblau(): Problem {
  const f = (p: Array) => {
    const [x, y] = coords(p);
    return x.square().add(y).sub(11).square().add(x.add(y.square()).sub(7).square());
  };
  return {
    name: "himmelblau",
    title: "Himmelblau (x²+y-11)² + (x+y²-7)²",
    f,
    x0: [-0.5, -0.5],
    x: [-5, 5],
    y: [-5, 5],
    minima: [[3, 2], [-2.805118, 3.131312], [-3.77931, -3.283186], [3.584428, -1.848126]],
    labels: ["x", "y"],
    levels: { count: 16, log: true, decades: 4 },
    methods: common({ lr: 0.01, big: 0.06, momentum: 0.8, adamLr: 0.2 }),
  };
}

/** Least squares ½·mean((w·tᵢ + b − yᵢ)²) over 64 noisy points of the line y = 2t − 1, t in [0, 2]. */
export async function lstsq(seed = 0): Promise<Problem> {
  const [kt, kn] = random.split(random.key(seed));
  const n = 64;
  const t = random.uniform(kt, [n], { minval: 0, maxval: 2 });
  const y = t.mul(2).sub(1).add(random.normal(kn, [n]).mul(0.3));
  const loss = (p: Array, ti: Array, yi: Array) => {
    const [w, b] = coords(p);
    return ti.mul(w).add(b).sub(yi).square().mean().mul(0.5);
  };
  // The minimiser from the normal equations, in float64 on the host.
  const [tv, yv] = [await t.data(), await y.data()];
  const m = (g: (i: number) => number) => globalThis.Array.from(tv, (_, i) => g(i)).reduce((a, b) => a + b) / n;
  const [st, sy, stt, sty] = [m((i) => tv[i]), m((i) => yv[i]), m((i) => tv[i] ** 2), m((i) => tv[i] * yv[i])];
  const w = (sty - st * sy) / (stt - st * st);
  const methods = common({ lr: 0.3, big: 1.2, momentum: 0.6, adamLr: 0.3 });
  methods.push({ name: "SGD α=0.3, batch 8/64", color: "#00a6b8", opt: sgd(0.3), batch: 8 });
  return {
    name: "lstsq",
    title: "Least squares: full batch vs minibatch",
    f: (p) => loss(p, t, y),
    fBatch: (p, idx) => loss(p, np.take(t, idx), np.take(y, idx)),
    size: n,
    x0: [-1.5, 2],
    x: [-2, 4],
    y: [-3, 3],
    minima: [[w, sy - w * st]],
    labels: ["w (slope)", "b (intercept)"],
    levels: { count: 14, log: true, decades: 3 },
    methods,
  };
}

function common(h: { lr: number; big: number; momentum: number; adamLr: number; momentumLr?: number }): Method[] {
  const mlr = Number((h.momentumLr ?? h.lr).toPrecision(2));
  const ls = { initialStepSize: 1, decay: 0.5 };
  const heavy = { momentum: h.momentum };
  return [
    { name: `GD α=${h.lr}`, color: "#1b63c6", opt: sgd(h.lr) },
    { name: `GD α=${h.big} (too big)`, color: "#7a5230", opt: sgd(h.big) },
    { name: "GD + Armijo search", color: "#d7263d", lineSearch: ls },
    { name: `momentum α=${mlr} β=${h.momentum}`, color: "#1e9e4a", opt: sgd(mlr, heavy) },
    { name: `Nesterov α=${mlr} β=${h.momentum}`, color: "#f08c00", opt: sgd(mlr, { ...heavy, nesterov: true }) },
    { name: `Adam lr=${h.adamLr}`, color: "#8e3fb5", opt: adam(h.adamLr) },
  ];
}

/** When to stop (‖∇f‖ < eps, or after maxSteps updates) and the seed of the minibatch order. */
export type RunOptions = { eps: number; maxSteps: number; seed?: number };

/**
 * Runs one method from the problem's start: one jitted step per update (value, gradient,
 * update), stopping on ‖∇f‖ < ε, on divergence or after `maxSteps`.
 */
export async function runMethod(problem: Problem, method: Method, opts: RunOptions): Promise<Run> {
  const { f } = problem;
  const opt = method.lineSearch ? backtrackingLineSearch(f, method.lineSearch) : method.opt!;
  const batch = method.batch;
  if (batch && !(problem.fBatch && problem.size)) {
    throw new Error(`gradient_descent: ${method.name} needs a data-set loss; ${problem.name} has none`);
  }
  // deno-lint-ignore no-explicit-any
  const step = jit((x: Array, s: any, order: Array, at: Array) => {
    const [v, g] = valueAndGrad(f)(x);
    const gu = batch ? grad(problem.fBatch!)(x, lax.dynamicSlice(order, [at], [batch])) : g;
    const [u, s2] = opt.update(gu, s, x);
    const alpha = method.lineSearch ? s2.stepSize : np.array(0);
    const xn = applyUpdates(x, u);
    return [xn, s2, np.concatenate([np.stack([v, globalNorm(g), alpha]), xn])];
  });
  const run: Run = {
    method: method.name,
    path: [problem.x0],
    values: [],
    gradNorms: [],
    stepSizes: [],
    steps: null,
    diverged: null,
    fEvals: 0,
    gEvals: 0,
  };
  let x = np.array(problem.x0);
  let s = opt.init(x);
  // Minibatches: consecutive slices of a fresh random order of the examples each epoch.
  let order = np.zeros([1], { dtype: "int32" });
  let key = random.key(opts.seed ?? 0);
  for (let k = 0;; k++) {
    const at = batch ? (k * batch) % problem.size! : 0;
    if (batch && at === 0) {
      const [kOrder, kNext] = random.split(key);
      [order, key] = [random.permutation(kOrder, problem.size!), kNext];
    }
    const [xn, sn, info] = step(x, s, order, np.array(at, { dtype: "int32" }));
    const [v, norm, alpha, px, py] = await info.data();
    run.values.push(v);
    run.gradNorms.push(norm);
    if (!batch) run.fEvals++, run.gEvals++;
    if (norm < opts.eps) {
      run.steps = k;
      break;
    }
    if (k >= opts.maxSteps) break;
    const p: Vec2 = [px, py];
    if (!p.every((c) => Number.isFinite(c) && Math.abs(c) < 1e6)) {
      run.diverged = k + 1;
      break;
    }
    if (method.lineSearch) {
      const { initialStepSize: a0, decay } = method.lineSearch;
      run.fEvals += Math.round(Math.log(alpha / a0) / Math.log(decay)) + 1;
      run.stepSizes.push(alpha);
    }
    if (batch) {
      run.fEvals += batch / problem.size!;
      run.gEvals += batch / problem.size!;
    }
    run.path.push(p);
    [x, s] = [xn, sn];
  }
  return run;
}
