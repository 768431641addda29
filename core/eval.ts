/**
 * Evaluation of traced programs by binding each equation, so a program runs under whatever
 * transforms are active (eagerly at the top level, traced under jit, differentiated under jvp).
 * @module
 */
import type { Array } from "./array.ts";
import type { Jaxpr, Var } from "./ir.ts";
import { bind } from "./trace.ts";

/**
 * Evaluates a program on `args` (constants first) by binding each equation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeJaxpr, np } from "@wax/wax";
 * import { evalJaxpr } from "./eval.ts";
 * const j = makeJaxpr((x) => np.exp(x))(np.zeros([2]));
 * const [y] = evalJaxpr(j, [np.zeros([2])]);
 * assert.deepEqual(await y.tolist(), [1, 1]);
 * ```
 */
export function evalJaxpr(j: Jaxpr, args: readonly Array[]): Array[] {
  if (args.length !== j.inVars.length) {
    throw new Error(`evalJaxpr: ${args.length} arguments for ${j.inVars.length} inputs`);
  }
  const env = new Map<Var, Array>();
  j.inVars.forEach((v, i) => env.set(v, args[i]));
  const read = (v: Var) => {
    const x = env.get(v);
    if (!x) throw new Error(`evalJaxpr: unbound variable ${v.id}`);
    return x;
  };
  for (const e of j.eqns) {
    const outs = bind(e.prim, e.inputs.map(read), e.params as never);
    e.outs.forEach((v, i) => env.set(v, outs[i]));
  }
  return j.outs.map(read);
}
