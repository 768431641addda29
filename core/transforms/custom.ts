/**
 * `customVjp`: a function with a hand-written backward pass (for numerical stability or
 * efficiency), and `stopGradient`.
 * @module
 */
import type { Array } from "../array.ts";
import { bind } from "../trace.ts";
import * as tree from "../tree.ts";
import { toArray } from "../backend/backend.ts";
import { stopGradient as stopP } from "../primitives/ops.ts";
import type { FlatBwd, FlatFwd } from "../primitives/types.ts";
import { tracePytree } from "./staging.ts";
import { synchronous } from "./sync.ts";

const leavesOf = (t: unknown): Array[] => tree.leaves(t as tree.PyTree).map((x) => toArray(x as Array | number));

/**
 * Defines `f` with a custom reverse-mode rule: `fwd(...args) -> [out, residuals]` and
 * `bwd(residuals, ct) -> [ct per argument]` (JAX's `custom_vjp`).
 *
 * @example A gradient-clipping identity
 * ```ts
 * import assert from "node:assert";
 * import { customVjp, grad, np, type Array } from "@wax/wax";
 * const clipGrad = customVjp(
 *   (x: Array) => x,
 *   (x: Array) => [x, null],
 *   (_r: null, g: Array) => [np.clip(g, -1, 1)],
 * );
 * const g = grad((x: Array) => clipGrad(x).mul(10).sum())(np.array([1]));
 * assert((await g.item()) === 1);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function customVjp<F extends (...args: any[]) => any>(
  f: F,
  fwd: (...args: Parameters<F>) => [ReturnType<F>, unknown],
  // deno-lint-ignore no-explicit-any
  bwd: (residuals: any, ct: ReturnType<F>) => unknown[],
): F {
  [f, fwd, bwd] = [
    synchronous("customVjp", f),
    synchronous("customVjp (fwd)", fwd),
    synchronous("customVjp (bwd)", bwd),
  ];
  return ((...args: Parameters<F>) => {
    const [flat, inDef] = tree.flatten(args as tree.PyTree);
    const arrays = flat.map((x) => toArray(x as Array | number));
    const { closed, outDef } = tracePytree(f, inDef, arrays.map((a) => a.aval));
    let resDef: tree.TreeDef | null = null;
    const flatFwd: FlatFwd = (...xs) => {
      const [out, res] = fwd(...tree.unflatten<Parameters<F>>(inDef, xs));
      const [rl, rd] = tree.flatten(res as tree.PyTree);
      resDef = rd;
      return [leavesOf(out), rl.map((x) => toArray(x as Array | number))];
    };
    const flatBwd: FlatBwd = (res, cts) => {
      const g = bwd(tree.unflatten(resDef!, res), tree.unflatten(outDef, cts));
      if (!globalThis.Array.isArray(g) || g.length !== args.length) {
        throw new Error(
          `customVjp: bwd must return a list with one cotangent per argument (${args.length}), got ${
            globalThis.Array.isArray(g) ? g.length : typeof g
          }`,
        );
      }
      const out = leavesOf(g);
      if (out.length !== xsCount) {
        throw new Error(`customVjp: bwd returned ${out.length} cotangent leaves for ${xsCount} argument leaves`);
      }
      return out;
    };
    const xsCount = arrays.length;
    const outs = bind("customVjpCall", [...closed.consts, ...arrays], {
      jaxpr: closed.jaxpr,
      numConsts: closed.consts.length,
      fwd: flatFwd,
      bwd: flatBwd,
    });
    return tree.unflatten(outDef, outs);
  }) as F;
}

/**
 * The identity whose derivative is zero (every leaf of a pytree).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { grad, np, stopGradient, type Array } from "@wax/wax";
 * const g = grad((x: Array) => x.mul(stopGradient(x)).sum())(np.array([3]));
 * assert((await g.item()) === 3);
 * ```
 */
export function stopGradient<T extends tree.ArrayTree>(x: T): T;
/** Over any pytree: number leaves come back as arrays. */
export function stopGradient<T extends tree.PyTree>(x: T): tree.ArrayLeaves<T>;
export function stopGradient(x: tree.PyTree): tree.PyTree {
  return tree.map((l: Array | number | boolean) => stopP(toArray(l)), x);
}
