/**
 * Common-subexpression elimination: equations that apply the same primitive to the same
 * inputs with the same parameters are computed once.
 * @module
 */
import { type Eqn, Jaxpr, type Var } from "../ir.ts";

const objIds = new WeakMap<object, number>();
let nextObj = 0;
/**
 * A stable key for parameters (programs and functions by identity).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { paramKey } from "./cse.ts";
 * assert.equal(paramKey({ axes: [0, 1] }), paramKey({ axes: [0, 1] }));
 * ```
 */
export function paramKey(p: unknown): string {
  return JSON.stringify(p, (_k, v) => {
    if (v instanceof Jaxpr || typeof v === "function") {
      if (!objIds.has(v)) objIds.set(v, nextObj++);
      return `#${objIds.get(v)}`;
    }
    return v;
  });
}

/**
 * Merges equations that apply the same primitive to the same inputs with the same parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeJaxpr, np } from "@wax/wax";
 * import { cse } from "./cse.ts";
 * const j = makeJaxpr((x) => np.exp(x).add(np.exp(x)))(np.zeros([2]));
 * assert.equal(cse(j).eqns.length, j.eqns.length - 1);
 * ```
 */
export function cse(j: Jaxpr): Jaxpr {
  const rename = new Map<Var, Var>();
  const seen = new Map<string, Var[]>();
  const r = (v: Var) => rename.get(v) ?? v;
  const eqns: Eqn[] = [];
  for (const e of j.eqns) {
    const inputs = e.inputs.map(r);
    const key = `${e.prim}|${inputs.map((v) => v.id).join(",")}|${paramKey(e.params)}`;
    const prev = seen.get(key);
    if (prev) {
      e.outs.forEach((v, i) => rename.set(v, prev[i]));
      continue;
    }
    seen.set(key, e.outs);
    eqns.push({ ...e, inputs });
  }
  return new Jaxpr(j.inVars, eqns, j.outs.map(r));
}
