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
import { renderPanels, savePng } from "../models/plot/mod.ts";
import { contourPanel, manyStarts, NAMES, normPanel, table } from "./descent/panels.ts";
import {
  himmelblau,
  lstsq,
  type Problem,
  quadratic,
  rosenbrock,
  type Run,
  runMethod,
  type RunOptions,
} from "./descent/problems.ts";

export * from "./descent/problems.ts";
export { table } from "./descent/panels.ts";

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
