/**
 * Gradient descent with a backtracking (Armijo) line search, and `minimize`, a small driver
 * that iterates an optimizer until the gradient norm falls below a tolerance and returns the
 * path it took.
 * @module
 */
import { type Array, jit, jvp, np, type tree, valueAndGrad, vmap } from "../mod.ts";
import { applyUpdates, globalNorm, type GradientTransformation } from "./base.ts";
import { mapLike, needParams } from "./_util.ts";
import { sgd } from "./alias.ts";

/** State of `backtrackingLineSearch`: the step size it accepted last. */
export type LineSearchState = {
  /** The last accepted step size α (float32 scalar). */
  stepSize: Array;
};

/** Options of `backtrackingLineSearch`. */
export interface LineSearchOptions {
  /** The first trial step α₀ (default 1). */
  initialStepSize?: number;
  /** Factor β in (0, 1) shrinking α after each rejected trial (default 0.5). */
  decay?: number;
  /** Armijo's sufficient-decrease constant c in (0, 1) (default 1e-4). */
  c?: number;
  /** Number of trials α₀, α₀β, …, α₀β^(n−1); the last is taken if none passes (default 30). */
  maxTrials?: number;
}

/**
 * Backtracking line search: moves along `d = −updates` by the first step
 * `α ∈ {α₀, α₀β, α₀β², …}` that satisfies Armijo's condition
 * `f(x + αd) ≤ f(x) + c·α·∇f(x)ᵀd`, and returns the update `α·d`. The directional derivative
 * comes from a JVP of `f`, so any descent direction works (raw gradients, or the output of a
 * preconditioner earlier in a chain). All trials are evaluated at once (`vmap` over α), so
 * the transformation is jittable and costs one batched evaluation of `f`. Put it last in a chain; it needs the parameters.
 *
 * @param f The objective of the parameters (a scalar).
 * @param opts `initialStepSize`, `decay`, `c`, `maxTrials`.
 * @returns The transformation.
 *
 * @example A quadratic's exact step
 * ```ts
 * import assert from "node:assert";
 * import { grad, np, type Array } from "@wax/wax";
 * import { backtrackingLineSearch } from "@wax/wax/optim";
 * const f = (x: Array) => x.square().sum();
 * const ls = backtrackingLineSearch(f);
 * const x = np.array([3, -4]);
 * const [u, s] = ls.update(grad(f)(x), ls.init(x), x);
 * assert((await s.stepSize.item()) === 0.5 && (await x.add(u).abs().sum().item()) === 0);
 * ```
 */
export function backtrackingLineSearch<P extends tree.PyTree>(
  f: (params: P) => Array,
  opts: LineSearchOptions = {},
): GradientTransformation<LineSearchState, P> {
  const { initialStepSize = 1, decay = 0.5, c = 1e-4, maxTrials = 30 } = opts;
  if (!(decay > 0 && decay < 1)) throw new RangeError(`backtrackingLineSearch: decay must be in (0, 1), got ${decay}`);
  const trials = globalThis.Array.from({ length: maxTrials }, (_, k) => initialStepSize * decay ** k);
  return {
    init: () => ({ stepSize: np.array(initialStepSize) }),
    update(updates, _state, params) {
      const x = needParams("backtrackingLineSearch", params);
      const d = mapLike((u) => u.neg(), updates);
      const [f0, slope] = jvp(f, [x], [d]);
      const at = (a: Array) => f(mapLike((xi, di) => xi.add(di.mul(a)), x, d));
      const alphas = np.array(trials);
      const ok = np.lessEqual(vmap(at)(alphas), f0.add(slope.mul(alphas).mul(c)));
      // Backtracking accepts the first passing trial: the largest passing α (else the smallest).
      const alpha = np.max(np.where(ok, alphas, trials[trials.length - 1]));
      return [mapLike((u) => u.mul(alpha.neg()), updates), { stepSize: alpha }];
    },
  };
}

/** Options of `minimize`. */
export interface MinimizeOptions {
  /**
   * "gd" (fixed step `learningRate`), "gd-ls" (steepest descent with a backtracking Armijo
   * line search), or any optimizer (default "gd-ls").
   */
  // deno-lint-ignore no-explicit-any
  method?: "gd" | "gd-ls" | GradientTransformation<any>;
  /** Step size of "gd" (default 1e-3). */
  learningRate?: number;
  /** Options of the line search of "gd-ls". */
  lineSearch?: LineSearchOptions;
  /** Stop once ‖∇f‖ < tol (default 1e-6). */
  tol?: number;
  /** Stop after this many updates (default 1000). */
  maxSteps?: number;
}

/** What `minimize` returns. */
export interface MinimizeResult<P> {
  /** The final iterate. */
  x: P;
  /** Every iterate, `x0` first and `x` last. */
  path: P[];
  /** `f` at each iterate of `path`. */
  values: number[];
  /** ‖∇f‖ at each iterate of `path`. */
  gradNorms: number[];
  /** The number of updates applied (`path.length − 1`). */
  steps: number;
  /** Whether ‖∇f‖ fell below `tol`. */
  converged: boolean;
}

/**
 * Minimises `f` from `x0`: repeats one jitted step (value, gradient, optimizer update) until
 * ‖∇f‖ < `tol` or `maxSteps` updates, and returns the path of iterates (for contour plots).
 *
 * @param f The objective (a scalar function of a pytree of arrays).
 * @param x0 The starting point.
 * @param opts `method`, `learningRate`, `lineSearch`, `tol`, `maxSteps`.
 * @returns The final iterate, the path, and `f` and ‖∇f‖ along it.
 *
 * @example Steepest descent with line search on a quadratic bowl
 * ```ts
 * import assert from "node:assert";
 * import { np, type Array } from "@wax/wax";
 * import { minimize } from "@wax/wax/optim";
 * const f = (x: Array) => x.square().mul(np.array([1, 10])).sum();
 * const r = await minimize(f, np.array([1, 1]), { method: "gd-ls", tol: 1e-4 });
 * assert(r.converged && r.values.every((v, i) => i === 0 || v <= r.values[i - 1]));
 * ```
 */
export async function minimize<P extends tree.ArrayTree>(
  f: (x: P) => Array,
  x0: P,
  opts: MinimizeOptions = {},
): Promise<MinimizeResult<P>> {
  const { method = "gd-ls", learningRate = 1e-3, tol = 1e-6, maxSteps = 1000 } = opts;
  // deno-lint-ignore no-explicit-any
  const opt: GradientTransformation<any> = method === "gd"
    ? sgd(learningRate)
    : method === "gd-ls"
    ? backtrackingLineSearch(f, opts.lineSearch)
    : method;
  // deno-lint-ignore no-explicit-any -- the state of whichever optimizer `method` names
  const step = jit((x: P, s: any): [P, any, Array, Array] => {
    const [v, g] = valueAndGrad(f)(x);
    const [u, next] = opt.update(g, s, x);
    return [applyUpdates(x, u), next, v, globalNorm(g)];
  });
  let x = x0;
  let state = opt.init(x0);
  const out: MinimizeResult<P> = { x, path: [x], values: [], gradNorms: [], steps: 0, converged: false };
  for (;;) {
    const [xn, sn, v, n] = step(x, state);
    out.values.push(await v.item());
    out.gradNorms.push(await n.item());
    if (out.gradNorms[out.gradNorms.length - 1] < tol) {
      out.converged = true;
      break;
    }
    if (out.steps >= maxSteps) break;
    [x, state] = [xn, sn];
    out.path.push(x);
    out.steps++;
  }
  out.x = x;
  return out;
}
