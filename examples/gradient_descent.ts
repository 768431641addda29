/**
 * Gradient descent you can see: the loss surface as filled contours with contour lines, short
 * gradient arrows crossing the level curves at right angles, and the iterate paths of plain
 * gradient descent (a good and a too-large fixed step α), steepest descent with a backtracking
 * (Armijo) line search, momentum, Nesterov and Adam — plus minibatch SGD beside full-batch
 * descent on a least-squares loss. Each method stops once ‖∇f‖ < ε; a table per function
 * gives the steps that took, the final f and the function and gradient evaluations spent.
 *
 * Run: `deno run -A examples/gradient_descent.ts [--fn all] [--cond 10] [--eps 1e-3] [--steps 2000] [--out out/gradient_descent]`
 * @module
 */
import { parseArgs } from "node:util";
import { type Array, grad, jit, lax, np, random, valueAndGrad, vmap } from "../mod.ts";
import {
  adam,
  applyUpdates,
  backtrackingLineSearch,
  globalNorm,
  type GradientTransformation,
  sgd,
} from "../optim/mod.ts";
import {
  type Color,
  contourLevels,
  gridPoints,
  type LevelOptions,
  Plot,
  renderPanels,
  savePng,
} from "../models/plot/mod.ts";

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

/** A plot of the problem's frame with f's contour bands and lines; f is evaluated on the grid by one `vmap`. */
async function contours(problem: Problem, title: string, lineColor: string): Promise<Plot> {
  const n = 161;
  const g = gridPoints({ nx: n, ny: n, x: problem.x, y: problem.y });
  const values = await jit(vmap(problem.f))(np.stack([np.array(g.xs), np.array(g.ys)], 1)).data();
  const finite = [...values].filter(Number.isFinite);
  const levels = contourLevels(Math.min(...finite), Math.max(...finite), problem.levels);
  const [xLabel, yLabel] = problem.labels;
  return new Plot({ title, xLabel, yLabel, x: problem.x, y: problem.y })
    .contour({ values, nx: n, ny: n, x: problem.x, y: problem.y }, { levels, lineColor });
}

/** Gradients on a coarse grid, with `vmap(grad(f))`, for the arrow field. */
async function arrowField(problem: Problem, n = 17): Promise<[Vec2[], Vec2[]]> {
  const inset = ([a, b]: Vec2): Vec2 => [a + (b - a) / n / 2, b - (b - a) / n / 2];
  const g = gridPoints({ nx: n, ny: n, x: inset(problem.x), y: inset(problem.y) });
  const grads = await jit(vmap(grad(problem.f)))(np.stack([np.array(g.xs), np.array(g.ys)], 1)).data();
  const pts = globalThis.Array.from(g.xs, (x, i): Vec2 => [x, g.ys[i]]);
  return [pts, pts.map((_, i): Vec2 => [grads[2 * i], grads[2 * i + 1]])];
}

const NAMES = "ABCD";

function nearest(problem: Problem, p: Vec2): string {
  if (problem.minima.length < 2) return "";
  const d = problem.minima.map((m) => Math.hypot(m[0] - p[0], m[1] - p[1]));
  const i = d.indexOf(Math.min(...d));
  return d[i] < 0.05 ? NAMES[i] : "?";
}

/** The contour panel: bands, level curves, gradient arrows, paths, start and end markers, minima. */
async function contourPanel(problem: Problem, runs: Run[]): Promise<Plot> {
  const plot = await contours(problem, problem.title, "#3338");
  const [pts, vecs] = await arrowField(problem);
  plot.arrows(pts, vecs, { gradient: true, length: 11, color: "#0007", width: 1 });
  problem.methods.forEach((m, i) => {
    const r = runs[i];
    const path = r.diverged === null ? r.path : leaving(r.path, problem);
    const dots = path.length <= 150 ? 2.5 : 0;
    plot.line(path.map((p) => p[0]), path.map((p) => p[1]), { color: m.color, width: 2, label: m.name, dots });
  });
  runs.forEach((r, i) => {
    if (r.diverged === null) {
      plot.marker(r.path[r.path.length - 1], { shape: "circle", size: 3.5, color: problem.methods[i].color });
    }
  });
  plot.marker(problem.x0, { shape: "square", size: 4.5, color: "#111", label: "start" });
  problem.minima.forEach((m, i) =>
    plot.marker(m, {
      shape: "star",
      size: 7,
      color: "#ffd21f",
      stroke: "#333",
      label: i === 0 ? (problem.minima.length > 1 ? "minima A-D" : "minimum") : undefined,
      text: problem.minima.length > 1 ? NAMES[i] : undefined,
    })
  );
  return plot;
}

/** A diverging path up to its first point outside the frame (later steps would cross the frame again and again). */
function leaving(path: Vec2[], problem: Problem): Vec2[] {
  const inside = ([x, y]: Vec2) => x >= problem.x[0] && x <= problem.x[1] && y >= problem.y[0] && y <= problem.y[1];
  const out = path.findIndex((p) => !inside(p));
  return out < 0 ? path : path.slice(0, out + 1);
}

/** The ‖∇f‖-per-step panel on a log axis, with ε marked. */
function normPanel(problem: Problem, runs: Run[], eps: number): Plot {
  const done = runs.filter((r) => r.diverged === null);
  const ns = done.flatMap((r) => r.gradNorms).filter((v) => v > 0);
  const top = Math.max(...ns) * 3, bottom = Math.min(eps / 3, Math.min(...ns));
  // Show the full-batch runs that reached ε; slower ones (and minibatch noise) run off the right edge.
  const reached = runs.filter((r, i) => r.steps !== null && !problem.methods[i].batch).map((r) => r.steps!);
  const last = reached.length
    ? Math.ceil(Math.max(...reached) * 1.25)
    : Math.max(...runs.map((r) => r.gradNorms.length));
  const plot = new Plot({
    title: "‖∇f‖ per step",
    xLabel: "step",
    logY: true,
    x: [0, Math.max(10, last)],
    y: [bottom, top],
    legend: "none",
  });
  plot.line([0, last * 2], [eps, eps], { color: "#888", width: 1 });
  plot.text([last * 0.98, eps * 0.8], `ε = ${eps}`, { align: "right", color: "#555" });
  runs.forEach((r, i) => {
    const ys = r.diverged === null ? r.gradNorms : [...r.gradNorms, top * 1e6];
    plot.line(ys.map((_, k) => k), ys, { color: problem.methods[i].color, width: 2 });
  });
  return plot;
}

/**
 * Which minimum each of a 9 × 9 grid of starts reaches under plain GD (the problem's first
 * method): all starts step together, one jitted `vmap` of the update per step.
 */
async function manyStarts(problem: Problem, opts: RunOptions): Promise<{ plot: Plot; counts: number[] }> {
  const opt = problem.methods[0].opt!;
  const step = jit(vmap((x: Array) => {
    const g = grad(problem.f)(x);
    const [u] = opt.update(g, opt.init(x), x);
    return np.concatenate([applyUpdates(x, u), globalNorm(g).reshape([1])]);
  }));
  const shrink = ([a, b]: Vec2): Vec2 => [a * 0.9, b * 0.9];
  const g = gridPoints({ nx: 9, ny: 9, x: shrink(problem.x), y: shrink(problem.y) });
  let x = np.stack([np.array(g.xs), np.array(g.ys)], 1);
  const paths: Vec2[][] = globalThis.Array.from(g.xs, (px, i) => [[px, g.ys[i]]]);
  for (let k = 0; k < opts.maxSteps; k++) {
    const out = step(x);
    const d = await out.data();
    paths.forEach((p, i) => p.push([d[3 * i], d[3 * i + 1]]));
    if (paths.every((_, i) => d[3 * i + 2] < opts.eps)) break;
    x = np.sliceAxis(out, 1, 0, 2);
  }
  const plot = await contours(problem, `${problem.title.split(" ")[0]}: GD from 81 starts`, "#3335");
  const counts = problem.minima.map(() => 0);
  const colors = ["#d7263d", "#1b63c6", "#1e9e4a", "#8e3fb5"];
  for (const p of paths) {
    const which = NAMES.indexOf(nearest(problem, p[p.length - 1]));
    const color = colors[which] ?? "#555";
    if (which >= 0) counts[which]++;
    plot.line(p.map((q) => q[0]), p.map((q) => q[1]), { color, width: 1.2 });
    plot.marker(p[0], { size: 3.5, color, stroke: "#fff" });
  }
  problem.minima.forEach((m, i) =>
    plot.marker(m, { shape: "star", size: 8, color: colors[i], stroke: "#fff", text: NAMES[i] })
  );
  return { plot, counts };
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(1);
}

/** The table of a problem's runs, as lines of text. */
export function table(problem: Problem, runs: Run[], opts: RunOptions): string[] {
  const rows = runs.map((r) => {
    const end = r.path[r.path.length - 1];
    const reached = r.steps !== null
      ? String(r.steps)
      : r.diverged !== null
      ? `diverged (step ${r.diverged})`
      : `not in ${opts.maxSteps}`;
    const where = r.diverged !== null
      ? "left the frame"
      : `(${end.map((c) => c.toFixed(3)).join(", ")}) ${nearest(problem, end)}`;
    const fEnd = r.diverged !== null ? "-" : fmt(r.values[r.values.length - 1]);
    const count = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
    return [r.method, reached, fEnd, count(r.fEvals), count(r.gEvals), where];
  });
  const head = ["method", "steps to ε", "final f", "f evals", "∇f evals", "end"];
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r.map((c, j) => (j === 0 || j === 5 ? c.padEnd(w[j]) : c.padStart(w[j]))).join("  ").trimEnd();
  return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)];
}

/** Runs every method on a problem, prints its table and writes its picture; returns the runs. */
export async function solve(problem: Problem, opts: RunOptions & { out: string; quiet?: boolean }): Promise<Run[]> {
  const runs: Run[] = [];
  for (const m of problem.methods) runs.push(await runMethod(problem, m, opts));
  const panels = [await contourPanel(problem, runs), normPanel(problem, runs, opts.eps)];
  const picture = renderPanels(panels, { width: [560, 400], height: 500 });
  await savePng(`${opts.out}/${problem.name}.png`, picture, { colors: 256 });
  if (!opts.quiet) {
    console.log(`\n${problem.title}: start (${problem.x0.join(", ")}), ε = ${opts.eps}`);
    for (const l of table(problem, runs, opts)) console.log(`  ${l}`);
  }
  if (problem.minima.length > 1) {
    const { plot, counts } = await manyStarts(problem, opts);
    await savePng(`${opts.out}/${problem.name}_starts.png`, plot.toCanvas({ width: 560, height: 500 }), {
      colors: 256,
    });
    const where = problem.minima.map((m, i) =>
      `${counts[i]} to ${NAMES[i]} (${m.map((c) => c.toFixed(2)).join(", ")})`
    );
    if (!opts.quiet) console.log(`  ${problem.methods[0].name} from a 9 × 9 grid of starts: ${where.join(", ")}`);
  }
  return runs;
}

const USAGE = `Usage: deno run -A examples/gradient_descent.ts [options]

  --fn NAME     quadratic | rosenbrock | himmelblau | lstsq | all (default all)
  --cond K      condition number of the quadratic, >= 1 (default 10)
  --eps E       stop once the gradient norm is below E (default 1e-3)
  --steps N     at most N steps per method (default 2000)
  --out DIR     where the pictures go (default out/gradient_descent)
  --help        this text`;

function usage(reason: string): never {
  console.error(`gradient_descent: ${reason}\n\n${USAGE}`);
  Deno.exit(2);
}

if (import.meta.main) {
  let values;
  try {
    values = parseArgs({
      options: {
        fn: { type: "string", default: "all" },
        cond: { type: "string", default: "10" },
        eps: { type: "string", default: "1e-3" },
        steps: { type: "string", default: "2000" },
        out: { type: "string", default: "out/gradient_descent" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const [cond, eps, maxSteps] = [Number(values.cond), Number(values.eps), Number(values.steps)];
  const fns = ["quadratic", "rosenbrock", "himmelblau", "lstsq"];
  if (values.fn !== "all" && !fns.includes(values.fn)) {
    usage(`--fn must be one of ${fns.join(", ")} or all, got "${values.fn}"`);
  }
  if (!(cond >= 1) || !Number.isFinite(cond)) usage(`--cond must be a number >= 1, got "${values.cond}"`);
  if (!(eps > 0)) usage(`--eps must be a positive number, got "${values.eps}"`);
  if (!Number.isInteger(maxSteps) || maxSteps < 1) usage(`--steps must be a positive integer, got "${values.steps}"`);
  await Deno.mkdir(values.out, { recursive: true });
  const t0 = performance.now();
  const make: Record<string, () => Problem | Promise<Problem>> = {
    quadratic: () => quadratic(cond),
    rosenbrock,
    himmelblau,
    lstsq,
  };
  for (const name of values.fn === "all" ? fns : [values.fn]) {
    await solve(await make[name](), { eps, maxSteps, out: values.out });
  }
  console.log(`\nf evals: one per iterate (with its gradient) plus one per line-search trial α₀, α₀β, … up to the
accepted one (wax's line search evaluates all its trials at once, as one vmap batch); minibatch costs
in full-batch units.\nwrote ${values.out}/*.png in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
