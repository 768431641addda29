/**
 * `wax/optim`: optax-style composable gradient transformations. An optimizer is
 * `{ init(params) -> state, update(grads, state, params?) -> [updates, state] }`; named
 * optimizers are chains of small building blocks; schedules read a step count kept in the
 * state, so a whole training step jits into one program. Plus a backtracking line search and
 * `minimize` for classic gradient descent.
 *
 * @example A jitted Adam training step
 * ```ts
 * import assert from "node:assert";
 * import { grad, jit, np, type Array } from "@wax/wax";
 * import { adam, applyUpdates } from "@wax/wax/optim";
 * type P = { w: Array };
 * const loss = (p: P) => p.w.sub(3).square().sum();
 * const opt = adam(0.1);
 * const step = jit((p: P, s: ReturnType<typeof opt.init>) => {
 *   const [u, s2] = opt.update(grad(loss)(p), s, p);
 *   return [applyUpdates(p, u), s2] as const;
 * });
 * let p: P = { w: np.zeros([2]) };
 * let s = opt.init(p);
 * for (let i = 0; i < 300; i++) [p, s] = step(p, s);
 * assert((await loss(p).item()) < 1e-3);
 * ```
 * @module
 */
export * from "./base.ts";
export * from "./schedules.ts";
export * from "./transforms.ts";
export * from "./alias.ts";
export * from "./linesearch.ts";
