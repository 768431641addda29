/**
 * The optimizer protocol (optax's `GradientTransformation`), `chain`, `applyUpdates` and
 * small tree helpers shared by the transformations.
 * @module
 */
import { type Array, np, tree } from "../mod.ts";
import { mapLike } from "./_util.ts";

/**
 * A gradient transformation: `init(params)` makes its state, `update(grads, state, params?)`
 * turns gradients into updates and the next state. All state passes in and out, so a whole
 * training step (loss, grad, update) can be one jitted function.
 */
export interface GradientTransformation<S, P extends tree.PyTree = tree.PyTree> {
  /** The initial state for `params`. */
  init(params: P): S;
  /** Updates for `grads` (same structure) and the next state; `params` when a transform needs them. */
  update<U extends P>(grads: U, state: S, params?: U): [U, S];
}

/** The state type of a transformation. */
// deno-lint-ignore no-explicit-any
export type StateOf<T> = T extends GradientTransformation<infer S, any> ? S : never;

/** The state of transformations that count steps (schedules, bias correction). */
export type CountState = {
  /** Steps taken so far, an int32 scalar (an array, so jitted steps never read it back). */
  count: Array;
};

/**
 * The identity transformation (no state).
 *
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { identity } from "@wax/wax/optim";
 * const [u] = identity().update({ w: np.array([1]) }, null);
 * assert((await u.w.item()) === 1);
 * ```
 */
export function identity(): GradientTransformation<null> {
  return { init: () => null, update: (g, s) => [g, s] };
}

/**
 * Applies transformations in sequence; the state is the tuple of their states.
 *
 * @param transforms The transformations, first applied first.
 * @returns The combined transformation.
 *
 * @example Clip, then Adam, then the learning rate
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { chain, clipByGlobalNorm, scaleByAdam, scaleByLearningRate } from "@wax/wax/optim";
 * const opt = chain(clipByGlobalNorm(1), scaleByAdam(), scaleByLearningRate(0.1));
 * const params = { w: np.array([1, 2]) };
 * const state = opt.init(params);
 * const [updates, next] = opt.update({ w: np.array([30, -40]) }, state, params);
 * assert(Math.abs((await updates.w.data())[0] + 0.1) < 1e-5);
 * assert((await next[1].count.item()) === 1);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function chain<T extends GradientTransformation<any, any>[]>(
  ...transforms: T
): GradientTransformation<{ -readonly [K in keyof T]: StateOf<T[K]> }> {
  type S = { -readonly [K in keyof T]: StateOf<T[K]> };
  return {
    init: (params) => transforms.map((t) => t.init(params)) as S,
    update(grads, state, params) {
      let u = grads;
      const next = transforms.map((t, i) => {
        const [v, s] = t.update(u, state[i], params);
        u = v;
        return s;
      });
      return [u, next as S];
    },
  };
}

/**
 * Adds updates to parameters, leaf by leaf (`params + updates`).
 *
 * @param params The parameters.
 * @param updates Updates of the same structure.
 * @returns The new parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { applyUpdates } from "@wax/wax/optim";
 * const p = applyUpdates({ w: np.array([1, 2]) }, { w: np.array([0.5, -1]) });
 * assert(JSON.stringify(await p.w.tolist()) === "[1.5,1]");
 * ```
 */
export function applyUpdates<P extends tree.PyTree>(params: P, updates: P): P {
  return mapLike((p, u) => p.add(u), params, updates);
}

/**
 * The global L2 norm of every leaf of a tree together, `sqrt(Σ leaf²)`.
 *
 * @param t A pytree of arrays.
 * @returns A float32 scalar.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { globalNorm } from "@wax/wax/optim";
 * assert((await globalNorm({ a: np.array([3]), b: [np.array([4])] }).item()) === 5);
 * ```
 */
export function globalNorm(t: tree.PyTree): Array {
  const sq = tree.leaves<Array>(t).map((x) => np.square(x).sum());
  return np.sqrt(sq.reduce((a, b) => a.add(b), np.array(0)));
}
