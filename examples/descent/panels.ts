/**
 * The gradient-descent demo's pictures and table: contour bands and level curves with the
 * gradient field and the iterate paths, ‖∇f‖ per step on a log axis, where many starts end,
 * and the table of steps to ε and evaluations spent.
 * @module
 */
import { type Array, grad, jit, np, vmap } from "../../mod.ts";
import { applyUpdates, globalNorm } from "../../optim/mod.ts";
import { contourLevels, gridPoints, Plot } from "../../models/plot/mod.ts";
import type { Problem, Run, RunOptions, Vec2 } from "./problems.ts";

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

/** Letters naming a problem's minima in the table and the pictures. */
export const NAMES = "ABCD";

function nearest(problem: Problem, p: Vec2): string {
  if (problem.minima.length < 2) return "";
  const d = problem.minima.map((m) => Math.hypot(m[0] - p[0], m[1] - p[1]));
  const i = d.indexOf(Math.min(...d));
  return d[i] < 0.05 ? NAMES[i] : "?";
}

/** The contour panel: bands, level curves, gradient arrows, paths, start and end markers, minima. */
export async function contourPanel(problem: Problem, runs: Run[]): Promise<Plot> {
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
export function normPanel(problem: Problem, runs: Run[], eps: number): Plot {
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
export async function manyStarts(problem: Problem, opts: RunOptions): Promise<{ plot: Plot; counts: number[] }> {
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
