/**
 * Dead-code elimination: drops equations none of whose results reach an output.
 * @module
 */
import { type Eqn, Jaxpr, type Var } from "../ir.ts";

/**
 * Removes equations whose results are never used.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeJaxpr, np } from "@wax/wax";
 * import { dce } from "./dce.ts";
 * const j = makeJaxpr((x) => {
 *   np.sin(x); // dead
 *   return np.exp(x);
 * })(np.zeros([2]));
 * assert.equal(dce(j).eqns.length, 1);
 * ```
 */
export function dce(j: Jaxpr): Jaxpr {
  const live = new Set<Var>(j.outs);
  const kept: Eqn[] = [];
  for (let i = j.eqns.length - 1; i >= 0; i--) {
    const e = j.eqns[i];
    if (e.outs.some((v) => live.has(v))) {
      kept.push(e);
      e.inputs.forEach((v) => live.add(v));
    }
  }
  return new Jaxpr(j.inVars, kept.reverse(), j.outs);
}
