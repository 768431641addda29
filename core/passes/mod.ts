/**
 * The simplifications jit applies to a traced program before running it: constant folding,
 * common subexpressions, dead code.
 * @module
 */
import type { ClosedJaxpr } from "../ir.ts";
import { cse } from "./cse.ts";
import { dce } from "./dce.ts";
import { foldConstants } from "./fold.ts";

export { cse, dce, foldConstants };

/**
 * Constant folding, then CSE and DCE (one round each).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeJaxpr, np } from "@wax/wax";
 * import { simplify } from "./mod.ts";
 * const j = makeJaxpr((x) => {
 *   np.sin(x); // dead
 *   return np.exp(x).add(np.exp(x)); // one exp
 * })(np.zeros([2]));
 * assert.equal(simplify({ jaxpr: j, consts: [] }).jaxpr.eqns.length, 2);
 * ```
 */
export function simplify(c: ClosedJaxpr): ClosedJaxpr {
  const folded = foldConstants(c);
  return { jaxpr: dce(cse(folded.jaxpr)), consts: folded.consts };
}
