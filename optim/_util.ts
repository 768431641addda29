/**
 * Helpers shared by the optimizer files (not part of the public surface).
 * @module
 */
import { type Array, np, tree } from "../mod.ts";

/** An int32 zero step counter. */
export const zeroCount = (): Array => np.zeros([], { dtype: "int32" });

/** `tree.map` typed on its first argument. */
export function mapLike<U extends tree.PyTree>(fn: (...xs: Array[]) => Array, t: U, ...rest: tree.PyTree[]): U {
  return tree.map(fn, t, ...rest) as U;
}

/** Throws unless a transform that needs parameters got them. */
export function needParams<U>(op: string, params: U | undefined): U {
  if (params === undefined) throw new Error(`${op}: update needs the parameters; call update(grads, state, params)`);
  return params;
}
