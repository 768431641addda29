/**
 * Helpers shared by the optimizer files (not part of the public surface).
 * @module
 */
import { type Array, np, tree } from "../mod.ts";

/** An int32 zero step counter. */
export const zeroCount = (): Array => np.zeros([], { dtype: "int32" });

/**
 * `tree.map` of an array function over trees of arrays, typed as its first tree (an update is
 * shaped like the gradient it came from, whether or not its type says its leaves are arrays).
 */
export function mapLike<U extends tree.PyTree>(fn: (...xs: Array[]) => Array, t: U, ...rest: tree.PyTree[]): U {
  const whole: tree.PyTree = t;
  return tree.unflatten<U>(tree.structure(t), tree.leaves(tree.map(fn, whole, ...rest)));
}

/** Throws unless a transform that needs parameters got them. */
export function needParams<U>(op: string, params: U | undefined): U {
  if (params === undefined) throw new Error(`${op}: update needs the parameters; call update(grads, state, params)`);
  return params;
}
