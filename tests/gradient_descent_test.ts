// examples/gradient_descent.ts: its runs checked against float64 reference loops and hand counts.
import assert from "node:assert/strict";
import type { Array } from "../mod.ts";
import { sgd } from "../optim/mod.ts";
import {
  lstsq,
  type Method,
  type Problem,
  quadratic,
  rosenbrock,
  runMethod,
  solve,
  table,
} from "../examples/gradient_descent.ts";
import { readPng } from "../models/plot/mod.ts";

const armijo: Method = { name: "ls", color: "#000", lineSearch: { initialStepSize: 1, decay: 0.5 } };

/** A bowl k·(x² + y²) starting at x0. */
function bowl(k: number, x0: [number, number]): Problem {
  return {
    name: "bowl",
    title: "bowl",
    f: (p: Array) => p.square().sum().mul(k),
    x0,
    x: [-5, 5],
    y: [-5, 5],
    minima: [[0, 0]],
    labels: ["x", "y"],
    levels: {},
    methods: [],
  };
}

Deno.test("gradient descent: evaluation counts match a hand count", async () => {
  // f = x² + y² from (3, 0): ∇f = (6, 0). Trial α = 1 lands on (−3, 0), f = 9 > 9 − 1e-4·36: rejected;
  // α = 0.5 lands on (0, 0), accepted. There ‖∇f‖ = 0 < ε. One step: 2 value-and-gradient
  // evaluations (at both iterates) + 2 trials = 4 f, 2 ∇f.
  const a = await runMethod(bowl(1, [3, 0]), armijo, { eps: 1e-3, maxSteps: 10 });
  assert.deepEqual([a.steps, a.fEvals, a.gEvals, a.stepSizes], [1, 4, 2, [0.5]]);
  // f = ½(x² + y²) from (3, 4): α = 1 lands on the minimum at once: 2 + 1 = 3 f, 2 ∇f.
  const b = await runMethod(bowl(0.5, [3, 4]), armijo, { eps: 1e-3, maxSteps: 10 });
  assert.deepEqual([b.steps, b.fEvals, b.gEvals], [1, 3, 2]);
  // Fixed α = 0.25 on x² + y² from (1, 0) halves x each step; ‖∇f‖ = 2·0.5ᵏ < 0.1 first at k = 5.
  const c = await runMethod(bowl(1, [1, 0]), { name: "gd", color: "#000", opt: sgd(0.25) }, { eps: 0.1, maxSteps: 50 });
  assert.deepEqual([c.steps, c.fEvals, c.gEvals], [5, 6, 6]);
  // Minibatch SGD: 10 updates on batches of 8 of 64 cost 10/8 full gradients (the monitoring is not counted).
  const p = await lstsq();
  const sgdRun = await runMethod(p, p.methods.find((m) => m.batch)!, { eps: 1e-12, maxSteps: 10 });
  assert.deepEqual([sgdRun.steps, sgdRun.path.length, sgdRun.gEvals, sgdRun.fEvals], [null, 11, 1.25, 1.25]);
});

Deno.test("gradient descent: the Armijo condition holds at every accepted step (float64 check)", async () => {
  const f = ([x, y]: number[]) => (1 - x) ** 2 + 100 * (y - x * x) ** 2;
  const g = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];
  const run = await runMethod(rosenbrock(), armijo, { eps: 1e-3, maxSteps: 60 });
  assert.equal(run.stepSizes.length, 60);
  for (let k = 0; k < run.stepSizes.length; k++) {
    const [x, next, a] = [run.path[k], run.path[k + 1], run.stepSizes[k]];
    const d = g(x);
    const g2 = d[0] ** 2 + d[1] ** 2;
    // The step is a steepest-descent step of the reported size ...
    assert.ok(Math.hypot(next[0] - (x[0] - a * d[0]), next[1] - (x[1] - a * d[1])) < 1e-4 * (1 + a * Math.sqrt(g2)));
    // ... with sufficient decrease f(x − α∇f) ≤ f(x) − c·α·‖∇f‖², c = 1e-4 (float32 slack) ...
    const tol = 1e-5 * (1 + f(x));
    assert.ok(f(next) <= f(x) - 1e-4 * a * g2 + tol, `step ${k}: f ${f(next)} > ${f(x)} - ${1e-4 * a * g2}`);
    // ... and it is the first trial that has it: twice the step fails (unless α is the first trial).
    const back = [x[0] - 2 * a * d[0], x[1] - 2 * a * d[1]];
    if (a < 1) assert.ok(f(back) > f(x) - 2e-4 * a * g2 - tol, `step ${k}: α = ${2 * a} was acceptable`);
  }
});

Deno.test("gradient descent: GD on the quadratic reaches its minimum in the steps a float64 loop takes", async () => {
  const p = quadratic(10);
  const run = await runMethod(p, p.methods[0], { eps: 1e-3, maxSteps: 1000 });
  const end = run.path[run.path.length - 1];
  assert.ok(Math.hypot(end[0] - 1, end[1] - 0.5) < 1e-3, `ended at ${end}, the minimum is (1, 0.5)`);
  // The reference: x ← x − α·A(x − c), A = R diag(1, 10) Rᵀ (R a 30° turn), c = (1, 0.5), α = 0.18.
  const [co, si] = [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)];
  const A = [[co * co + 10 * si * si, -9 * co * si], [-9 * co * si, si * si + 10 * co * co]];
  let x = [-3, 3];
  let k = 0;
  for (;; k++) {
    const u = [x[0] - 1, x[1] - 0.5];
    const gr = [A[0][0] * u[0] + A[0][1] * u[1], A[1][0] * u[0] + A[1][1] * u[1]];
    if (Math.hypot(gr[0], gr[1]) < 1e-3) break;
    x = [x[0] - 0.18 * gr[0], x[1] - 0.18 * gr[1]];
  }
  assert.ok(run.steps !== null && Math.abs(run.steps - k) <= 1, `took ${run.steps} steps, the reference ${k}`);
  assert.ok(run.values[run.values.length - 1] < 1e-6);
});

Deno.test("gradient descent: a too-large step diverges, reported as such with no NaN", async () => {
  const p = quadratic(10);
  const big = p.methods[1];
  const run = await runMethod(p, big, { eps: 1e-3, maxSteps: 1000 });
  assert.ok(run.diverged !== null && run.steps === null);
  assert.ok(run.path.flat().every(Number.isFinite) && run.values.every(Number.isFinite));
  const rows = table({ ...p, methods: [big] }, [run], { eps: 1e-3, maxSteps: 1000 });
  assert.match(rows[2], /diverged \(step \d+\)/);
  assert.doesNotMatch(rows.join("\n"), /NaN|Infinity/);
});

Deno.test("gradient descent: solve writes the picture and the table reaches ε for the convergent methods", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = quadratic(10);
    const runs = await solve(p, { eps: 1e-3, maxSteps: 500, out: dir, quiet: true });
    const png = await readPng(`${dir}/quadratic.png`);
    assert.deepEqual([png.width, png.height], [960, 500]);
    assert.deepEqual(runs.map((r) => r.steps !== null), [true, false, true, true, true, true]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gradient descent: flags: --help exits 0; a bad flag prints usage and a reason and exits 2", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../examples/gradient_descent.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
  };
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(help.text, /Usage: .*--fn NAME/s);
  for (
    const [args, reason] of [[["--bogus"], /Unknown option '--bogus'/], [["--fn", "sphere"], /--fn must be one of/]]
  ) {
    const bad = await run(...(args as string[]));
    assert.equal(bad.code, 2);
    assert.match(bad.text, reason as RegExp);
    assert.match(bad.text, /Usage:/);
    assert.doesNotMatch(bad.text, /\n\s+at /, "no stack trace");
  }
});
